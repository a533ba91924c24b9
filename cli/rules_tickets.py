"""``rules eval|learn --from-tickets``: the township's own triage (改类) as labelled data.

The corrected tickets (``cases.corrections.labelled_tickets``: each ticket's latest correction,
optionally only tickets created in ``--month``) become ``(text, label)`` rows, their phone and
ID numbers masked first (``nlp.mask_pii``) so no number can become a term of a rules file.
``rules eval --from-tickets`` scores rules on them (by default the township's own rules, those
of config.yaml); ``rules learn --from-tickets`` learns rules from them (each ticket counted
``--weight`` times) together with an optional labelled CSV.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nlp import mask_pii


@dataclass(frozen=True)
class TicketRows:
    """The labelled rows of the corrected tickets, their ticket ids (same order), the rules and
    FAQ of the township's config, and what was read (for titles)."""

    rows: list[tuple[str, str]]
    ticket_ids: list[int]
    rules_path: Path
    faq_path: Path | None
    source: str


def ticket_rows(ns: argparse.Namespace) -> TicketRows:
    """Read the corrected tickets of the database named by ``--config`` (``--month`` only)."""
    from cases.calendar import WorkCalendar
    from cases.corrections import labelled_tickets
    from cases.kpi_query import month_bounds, this_month
    from cli.common import settings_from
    from runtime.database import prepare_database
    from store.db import make_session_factory

    settings = settings_from(ns)
    start = end = None
    source = "corrected tickets"
    if ns.month:
        tz = WorkCalendar.from_settings(settings.calendar).tz
        month = this_month(datetime.now(tz).date()) if ns.month == "this" else ns.month
        try:
            start, end = month_bounds(month, tz)
        except ValueError:
            raise ValueError(f"--month must look like 2026-11, got {ns.month!r}") from None
        source += f" of {month}"
    engine = prepare_database(settings, migrate=False)
    try:
        with make_session_factory(engine)() as session:
            labelled = labelled_tickets(session, start, end)
    finally:
        engine.dispose()
    return TicketRows(
        rows=[(mask_pii(t.text), t.label) for t in labelled],
        ticket_ids=[t.ticket_id for t in labelled],
        rules_path=settings.classifier.rules_path,
        faq_path=settings.classifier.faq_path,
        source=source,
    )


def add_ticket_options(p: argparse.ArgumentParser) -> None:
    """``--from-tickets`` and ``--month`` on ``rules eval`` and ``rules learn``."""
    p.add_argument("--from-tickets", action="store_true",
                   help="the tickets corrected with 改类 in the database of --config")
    p.add_argument("--month", default=None,
                   help="with --from-tickets: only tickets created in this month (YYYY-MM)")
