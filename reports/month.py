"""The month's 考单 as one object: the KPI report (per grid, per worker, total), the same KPIs
per category, and every ticket of the month as a line for the ticket sheet.

:func:`load_month_report` counts the KPIs in the database (``cases.kpi_query.load_counts``:
one GROUP BY per grid, worker, source and category, a few thousand rows for a county's month),
and only when the ticket sheet is asked for reads the month's tickets one by one (every ticket
created in the month, merged duplicates and withdrawn reports included, so the sheet lists them
all with their status, each with its facts for 按时办结). The ticket text is cut and its phone and ID numbers masked (``nlp.mask_pii``):
the file travels by e-mail and chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.grid_nodes import GridNodes
from cases.kpi import (
    CaseFacts,
    GroupCounts,
    KpiReport,
    KpiRow,
    kpi_report,
    summarise,
    summarise_groups,
)
from cases.kpi_query import load_counts, load_facts, month_bounds
from nlp.pii import mask_pii
from store.models import Person, Ticket
from store.roster import grid_by_code, subtree_ids

#: Characters of a ticket's text kept in the ticket sheet.
TEXT_CHARS = 60


@dataclass(frozen=True)
class TicketLine:
    """One ticket of the month as the ticket sheet shows it (times aware, UTC)."""

    id: int
    created_at: datetime
    category: str
    grid: str
    worker: str
    status: str
    resolve_due: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    on_time: bool | None  # resolved on time; None: not decided (or not a case)
    rating: str | None
    text: str  # cut to TEXT_CHARS, phones and IDs masked


@dataclass(frozen=True)
class MonthReport:
    """Everything the month's files show."""

    title: str
    month: str
    tz: tzinfo
    kpis: KpiReport
    categories: list[KpiRow]  # scope "category", key the code, name the Chinese name
    tickets: list[TicketLine]
    category_names: Mapping[str, str]

    def category_name(self, code: str) -> str:
        return self.category_names.get(code, code)


def trimmed(text: str, limit: int = TEXT_CHARS) -> str:
    """The text on one line, masked, cut to ``limit`` characters (… when cut)."""
    flat = " ".join(mask_pii(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _ticket_lines(session: Session, start: datetime, end: datetime, grid_code: str | None,
                  facts: Mapping[int, CaseFacts]) -> list[TicketLine]:
    conditions = [Ticket.created_at >= start, Ticket.created_at < end]
    if grid_code:
        root = grid_by_code(session, grid_code)
        if root is None:
            raise LookupError(grid_code)
        conditions.append(Ticket.grid_id.in_(subtree_ids(session, [root.id])))
    nodes = GridNodes(session)
    rows = session.connection().execute(
        select(Ticket.id, Ticket.created_at, Ticket.category, Ticket.grid_id, Ticket.status,
               Ticket.resolve_due, Ticket.resolved_at, Ticket.closed_at, Ticket.rating,
               Ticket.text, Person.name, Person.userid)
        .outerjoin(Person, Person.id == Ticket.assignee_id)
        .where(*conditions).order_by(Ticket.id))
    lines = []
    for row in rows:
        case = facts.get(row.id)
        lines.append(TicketLine(
            id=row.id, created_at=row.created_at, category=row.category,
            grid=nodes.of(row.grid_id)[1], worker=(row.name or row.userid) if row.userid else "",
            status=row.status, resolve_due=row.resolve_due, resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            on_time=case.resolved_on_time if case is not None and case.resolve_judged else None,
            rating=row.rating, text=trimmed(row.text),
        ))
    return lines


def by_category(facts: list[CaseFacts], category_of: Mapping[int, str],
                names: Mapping[str, str]) -> list[KpiRow]:
    """The KPIs per category, the most tickets first."""
    groups: dict[str, list[CaseFacts]] = {}
    for case in facts:
        groups.setdefault(category_of.get(case.ticket_id, ""), []).append(case)
    rows = [summarise("category", code, names.get(code, code), cases)
            for code, cases in groups.items()]
    return sorted(rows, key=lambda row: (-row.tickets, row.name))


def by_category_counts(counts: list[GroupCounts], names: Mapping[str, str]) -> list[KpiRow]:
    """The KPIs per category from the database's counts, the most tickets first."""
    groups: dict[str, list[GroupCounts]] = {}
    for group in counts:
        groups.setdefault(group.category, []).append(group)
    rows = [summarise_groups("category", code, names.get(code, code), members)
            for code, members in groups.items()]
    return sorted(rows, key=lambda row: (-row.tickets, row.name))


CHAT_SOURCE = "居民上报"


def name_sources(report: KpiReport, names: Mapping[str, str]) -> KpiReport:
    """The 按来源 rows named as staff know them (``sla.sources``: 12345热线; 居民上报 for the
    residents' chat reports)."""
    return replace(report, sources=[
        replace(row, name=names.get(row.key, row.key) if row.key else CHAT_SOURCE)
        for row in report.sources])


def load_month_report(
    session: Session,
    month: str,
    tz: tzinfo,
    *,
    grid_code: str | None = None,
    min_cases: int = 5,
    category_names: Mapping[str, str] | None = None,
    township: str = "",
    source_names: Mapping[str, str] | None = None,
    tickets: bool = True,
) -> MonthReport:
    """The month's report (``month`` like ``"2026-11"``, township time ``tz``), optionally only
    the subtree of ``grid_code``; without ``tickets``, no ticket sheet (``tickets`` empty).
    ``ValueError`` for a malformed month, ``LookupError`` for an unknown grid code."""
    start, end = month_bounds(month, tz)
    counts = load_counts(session, start, end, grid_code)
    lines: list[TicketLine] = []
    if tickets:
        facts = {case.ticket_id: case for case in load_facts(session, start, end, grid_code)}
        lines = _ticket_lines(session, start, end, grid_code, facts)
    names = dict(category_names or {})
    title = f"{township} {month} 考单".strip() + (f"（网格 {grid_code}）" if grid_code else "")
    return MonthReport(
        title=title, month=month, tz=tz,
        kpis=name_sources(kpi_report(counts, min_cases), source_names or {}),
        categories=by_category_counts(counts, names),
        tickets=lines, category_names=names,
    )
