"""Orders from other systems (the 12345 hotline platform, a civic app): placed, opened once.

An order arrives with its system's name (``source``) and its own id there (``external_id``);
(source, external id) is unique, so a repeat — a retry, ten concurrent retries — finds the
ticket the first one opened (:func:`receive`). It is opened by the same intake as a resident's
chat report (``cases.intake.open_ticket``): classified, dispatched down the same ladder, its
deadlines from ``sla`` — the resolve deadline from ``sla.sources[source]`` (12345: 7 working
days). Its reporter is the system itself (a person enrolled as ``system``, whom no chat
reaches: the system hears by webhook). Placed by grid code, else by the address text matched
against the grid names (:func:`match_grid`), else at the centre's triage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.calendar import WorkCalendar
from cases.intake import Opened, Origin, Request, open_ticket
from settings.model import Settings
from store.models import Grid, Person, Ticket
from store.roster import GridInfo, RosterIndex
from store.serialise import serialise_on
from vocab import Enrolment, Role

#: The generic ends of grid names (东顺苑第一网格 → 东顺苑第一, 湖畔花园联防组 → 湖畔花园);
#: an address names the place, rarely the grid.
_SUFFIXES = ("联防组", "微网格", "网格", "社区", "居委会", "村委会", "村", "街道", "镇", "乡", "县")
_LEVEL_DEPTH = {"county": 0, "township": 1, "village": 2, "grid": 3, "micro": 4}


def _names(name: str) -> set[str]:
    """The ways an address may name a grid node: its name, and its name without the suffix
    (东顺苑第一网格 → 东顺苑第一; 东顺苑 alone names the community, 东顺苑社区)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return {name, name[: -len(suffix)]}
    return {name}


def match_grid(address: str, grids: Iterable[GridInfo]) -> GridInfo | None:
    """The grid node an address names: the longest grid name (or name without its generic end)
    found in the text, the deeper node on a tie; None when no name of two or more characters
    is in it. ``东顺苑第一网格3号楼`` → 东顺苑第一网格; ``湖畔花园5栋`` → 湖畔花园联防组;
    ``西湖社区菜场旁`` → 西湖社区."""
    text = re.sub(r"\s+", "", address or "")
    if not text:
        return None
    best: tuple[int, int, int] | None = None
    chosen: GridInfo | None = None
    for info in grids:
        for name in _names(info.name):
            if len(name) >= 2 and name in text:
                rank = (len(name), _LEVEL_DEPTH.get(info.level, 0), -info.id)
                if best is None or rank > best:
                    best, chosen = rank, info
    return chosen


def system_reporter(session: Session, source: str, name: str, now: datetime) -> Person:
    """The person standing for ``source``'s callers (``sys:<source>``), made on first use."""
    userid = f"sys:{source}"
    person = session.scalar(select(Person).where(Person.userid == userid))
    if person is not None:
        if person.name != name:
            person.name = name
        return person
    try:
        with session.begin_nested():
            person = Person(userid=userid, name=name, role=Role.RESIDENT, active=True,
                            enrolled_via=Enrolment.SYSTEM, first_seen_at=now)
            session.add(person)
    except IntegrityError:  # another request made it first
        person = session.scalar(select(Person).where(Person.userid == userid))
        assert person is not None
    return person


def find_order(session: Session, source: str, external_id: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.source == source,
                                               Ticket.external_id == external_id))


@dataclass(frozen=True)
class Received:
    """The ticket of an order, and whether this request opened it (False: a repeat)."""

    ticket: Ticket
    created: bool
    opened: Opened | None = None


def source_name(settings: Settings, source: str) -> str:
    """What staff see as the source: ``sla.sources[source].name`` (12345热线), else its code."""
    rule = settings.sla.sources.get(source)
    return rule.name if rule is not None else source


def receive(
    session: Session, *, settings: Settings, calendar: WorkCalendar, roster: RosterIndex,
    source: str, external_id: str, request: Request, grid: Grid | None,
    contact: dict[str, Any], now: datetime,
) -> Received:
    """Open the order's ticket, or find the one a previous delivery of it opened.

    Deliveries of one order are serialised (an advisory lock on PostgreSQL, the write lock on
    SQLite) before the look-up, and the unique (source, external id) stands behind that.
    """
    serialise_on(session, f"order:{source}:{external_id}")
    found = find_order(session, source, external_id)
    if found is not None:
        return Received(found, False)
    reporter = system_reporter(session, source, source_name(settings, source), now)
    try:
        with session.begin_nested():
            opened = open_ticket(
                session, settings=settings, calendar=calendar, roster=roster, reporter=reporter,
                group=None, request=request, channel="app", reply_to={}, source_message_id=None,
                now=now, grid=grid, origin=Origin(source, external_id, contact),
            )
    except IntegrityError:
        found = find_order(session, source, external_id)
        if found is None:
            raise
        return Received(found, False)
    return Received(opened.ticket, True, opened)
