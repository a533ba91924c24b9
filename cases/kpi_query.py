"""Load the facts of a period's tickets for 考单 (``cases.kpi`` computes; this only reads).

A ticket belongs to the month it was created in (township time). Merged duplicates and tickets
the resident withdrew are not cases. A ticket's grid is its grid-level node (a micro-grid counts
for its grid); its worker is whoever holds it now (after resolution: who resolved it). Overdue
stages come from the sweep's clock marks.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.kpi import CaseFacts
from store.models import Grid, Person, Ticket
from store.roster import grid_by_code, grid_path, subtree_ids
from store.sla import ClockMark

NOT_CASES = ("merged", "withdrawn")
UNPLACED = ("", "未定网格")


def month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """``"2026-11"`` → (first instant of the month, first instant of the next), township time."""
    year, mon = (int(part) for part in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end


def this_month(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"


def _grid_of(grid: Grid | None) -> tuple[str, str]:
    if grid is None:
        return UNPLACED
    for node in reversed(grid_path(grid)):
        if node.level == "grid":
            return node.code, node.name
    return grid.code, grid.name


def load_facts(
    session: Session, start: datetime, end: datetime, grid_code: str | None = None
) -> list[CaseFacts]:
    """The cases created in ``[start, end)``, optionally only in the subtree of ``grid_code``."""
    query = select(Ticket).where(
        Ticket.created_at >= start, Ticket.created_at < end, Ticket.status.not_in(NOT_CASES)
    )
    if grid_code:
        root = grid_by_code(session, grid_code)
        if root is None:
            raise LookupError(grid_code)
        query = query.where(Ticket.grid_id.in_(subtree_ids(session, [root.id])))
    tickets = list(session.scalars(query.order_by(Ticket.id)))
    overdue: dict[int, set[str]] = {}
    if tickets:
        marks = session.execute(
            select(ClockMark.ticket_id, ClockMark.stage).where(
                ClockMark.kind == "overdue", ClockMark.ticket_id.in_([t.id for t in tickets]))
        ).all()
        for ticket_id, stage in marks:
            overdue.setdefault(ticket_id, set()).add(stage)
    facts = []
    for ticket in tickets:
        code, name = _grid_of(ticket.grid)
        worker: Person | None = ticket.assignee
        facts.append(CaseFacts(
            ticket_id=ticket.id, grid_code=code, grid_name=name,
            worker=(worker.name or worker.userid) if worker else "—",
            accepted_at=ticket.accepted_at, accept_due=ticket.accept_due,
            resolved_at=ticket.resolved_at, resolve_due=ticket.resolve_due,
            rating=ticket.rating, resolved_level=ticket.resolved_level,
            overdue_stages=frozenset(overdue.get(ticket.id, ())),
        ))
    return facts
