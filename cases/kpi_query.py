"""Load the facts of a period's tickets for 考单 (``cases.kpi`` computes; this only reads).

A ticket belongs to the month it was created in (township time). Merged duplicates and tickets
the resident withdrew are not cases. A ticket's grid is its grid-level node (a micro-grid counts
for its grid); its worker is whoever holds it now (after resolution: who resolved it). Overdue
stages come from the sweep's clock marks.

:func:`load_counts` is what the report reads: the database counts the month's cases per (grid,
worker) in one GROUP BY over the month's tickets (``ix_tickets_created``), the overdue marks
joined as one aggregate — a few thousand rows for a county's month instead of a Python object
per ticket. :func:`load_facts` reads the same cases one by one, for inspection and as the
reference the counts are checked against (``tests/test_kpi_report.py``).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from cases.grid_nodes import GridNodes
from cases.kpi import CaseFacts, GroupCounts
from store.models import Person, Ticket
from store.roster import grid_by_code, subtree_ids
from store.sla import ClockMark
from vocab import LADDER, Rating

NOT_CASES = ("merged", "withdrawn")
_NONE: frozenset[str] = frozenset()


def month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """``"2026-11"`` → (first instant of the month, first instant of the next), township time."""
    year, mon = (int(part) for part in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end


def this_month(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"


def _cases(
    session: Session, start: datetime, end: datetime, grid_code: str | None
) -> list[ColumnElement[bool]]:
    """The conditions that make a ticket one of the period's cases (raises LookupError)."""
    cases = [Ticket.created_at >= start, Ticket.created_at < end,
             Ticket.status.not_in(NOT_CASES)]
    if grid_code:
        root = grid_by_code(session, grid_code)
        if root is None:
            raise LookupError(grid_code)
        cases.append(Ticket.grid_id.in_(subtree_ids(session, [root.id])))
    return cases


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def load_counts(
    session: Session, start: datetime, end: datetime, grid_code: str | None = None
) -> list[GroupCounts]:
    """The cases created in ``[start, end)`` counted per (grid-level node, worker, source,
    category), optionally only in the subtree of ``grid_code``: one aggregate query and the
    grid tree."""
    cases = _cases(session, start, end, grid_code)
    # a stage's deadline comes after the ticket was created: the marks of the period's tickets
    # are all due after its start (read without a second pass over the tickets)
    marks = (
        select(ClockMark.ticket_id,
               func.max(case((ClockMark.stage == "accept", 1), else_=0)).label("accept"),
               func.max(case((ClockMark.stage == "resolve", 1), else_=0)).label("resolve"))
        .where(ClockMark.kind == "overdue", ClockMark.due_at >= start)
        .group_by(ClockMark.ticket_id)
        .subquery()
    )
    accepted = Ticket.accepted_at.is_not(None)
    resolved = Ticket.resolved_at.is_not(None)
    accept_over = func.coalesce(marks.c.accept, 0) == 1
    resolve_over = func.coalesce(marks.c.resolve, 0) == 1
    ratings = [str(r) for r in Rating]
    levels = [str(level) for level in LADDER]
    query = (
        select(
            Ticket.grid_id, Person.userid, Person.name, Ticket.source, Ticket.category,
            func.count().label("tickets"),
            _count(or_(accepted, accept_over)),
            _count(and_(accepted, ~accept_over, or_(Ticket.accept_due.is_(None),
                                                    Ticket.accepted_at <= Ticket.accept_due))),
            _count(or_(resolved, resolve_over)),
            _count(and_(resolved, ~resolve_over, or_(Ticket.resolve_due.is_(None),
                                                     Ticket.resolved_at <= Ticket.resolve_due))),
            _count(resolved),
            *(_count(Ticket.rating == rating) for rating in ratings),
            *(_count(and_(resolved, Ticket.resolved_level == level)) for level in levels),
        )
        .outerjoin(marks, marks.c.ticket_id == Ticket.id)
        .outerjoin(Person, Person.id == Ticket.assignee_id)
        .where(*cases)
        .group_by(Ticket.grid_id, Person.userid, Person.name, Ticket.source, Ticket.category)
    )
    grids = GridNodes(session)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # a report, not a request: room to aggregate in memory rather than sort on disk, and no
        # JIT compilation (a quarter of a second spent before a query of about a second)
        connection.execute(text("SET LOCAL work_mem = '64MB'"))
        connection.execute(text("SET LOCAL jit = off"))
    groups = []
    for row in connection.execute(query):
        grid_id, userid, name, source, category, *counts = row
        counts = [int(c or 0) for c in counts]
        code, grid_name = grids.of(grid_id)
        by_rating = counts[6:6 + len(ratings)]
        by_level = counts[6 + len(ratings):]
        groups.append(GroupCounts(
            grid_code=code, grid_name=grid_name, worker=(name or userid) if userid else "—",
            source=source or "", category=category,
            tickets=counts[0], accept_judged=counts[1], accepted_on_time=counts[2],
            resolve_judged=counts[3], resolved_on_time=counts[4], resolved=counts[5],
            ratings={r: n for r, n in zip(ratings, by_rating, strict=True) if n},
            levels={lv: n for lv, n in zip(levels, by_level, strict=True) if n},
        ))
    return groups


def load_facts(
    session: Session, start: datetime, end: datetime, grid_code: str | None = None
) -> list[CaseFacts]:
    """The cases created in ``[start, end)``, optionally only in the subtree of ``grid_code``.

    Three reads whatever the size: the grid tree, the period's tickets with their holder's
    name (a join, not a look-up per ticket) and the overdue marks of those tickets (a join on
    the same conditions, not a list of ticket ids).
    """
    cases = _cases(session, start, end, grid_code)
    connection = session.connection()  # plain rows: no ORM bookkeeping for 100,000 of them
    stages: dict[int, set[str]] = {}
    for ticket_id, stage in connection.execute(
        select(ClockMark.ticket_id, ClockMark.stage)
        .join(Ticket, Ticket.id == ClockMark.ticket_id)
        .where(ClockMark.kind == "overdue", *cases)
    ).all():
        stages.setdefault(ticket_id, set()).add(stage)
    overdue = {ticket_id: frozenset(found) for ticket_id, found in stages.items()}
    grids = GridNodes(session)
    rows = connection.execute(
        select(Ticket.id, Ticket.grid_id, Ticket.accepted_at, Ticket.accept_due,
               Ticket.resolved_at, Ticket.resolve_due, Ticket.rating, Ticket.resolved_level,
               Person.name, Person.userid, Ticket.source)
        .outerjoin(Person, Person.id == Ticket.assignee_id)
        .where(*cases).order_by(Ticket.id)
    ).all()
    facts = []
    for row in rows:
        code, name = grids.of(row.grid_id)
        facts.append(CaseFacts(
            ticket_id=row.id, grid_code=code, grid_name=name,
            worker=(row.name or row.userid) if row.userid else "—",
            accepted_at=row.accepted_at, accept_due=row.accept_due,
            resolved_at=row.resolved_at, resolve_due=row.resolve_due,
            rating=row.rating, resolved_level=row.resolved_level,
            overdue_stages=overdue.get(row.id, _NONE), source=row.source,
        ))
    return facts
