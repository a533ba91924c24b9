"""The tickets a person may see, as SQL: filtered, sorted by the running deadline, a page at a
time; and the counts and monthly figures of the centre's dashboard.

What a person may see is ``cases.permissions.reach`` — the same rules chat checks ticket by
ticket — turned into one WHERE clause (:func:`reach_clause`); every query here takes it.
Monthly figures follow ``cases.kpi``'s definitions (办结率, 按时办结率, 满意率 over rated tickets)
but are counted by the database, a month per group, so twelve months of a county cost one scan;
化解率 is the 办结率 of the disputes (矛盾纠纷).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, selectinload

from cases.kpi_query import NOT_CASES, month_bounds
from cases.permissions import Reach
from store.models import Ticket
from store.roster import RosterIndex
from store.sla import ClockMark
from vocab import OPEN_STATUSES, Status

PAGE_SIZE = 20
UNPLACED_GRID = "-"  # the grid filter's value for tickets not placed in a grid yet
DISPUTE = "dispute"
_WAITING = (Status.CREATED.value, Status.RETURNED.value)
OPEN = tuple(s.value for s in OPEN_STATUSES)
RUNNING = (*_WAITING, Status.DISPATCHED.value, Status.ACCEPTED.value)  # a stage's clock runs


def reach_clause(index: RosterIndex, area: Reach) -> ColumnElement[bool] | None:
    """``area`` as a condition on tickets (None: no condition, everything)."""
    if area.everything:
        return None
    parts: list[ColumnElement[bool]] = []
    if area.person_id is not None and area.reporter:
        parts.append(Ticket.reporter_id == area.person_id)
    if area.person_id is not None and area.assigned:
        parts.append(Ticket.assignee_id == area.person_id)
    roots = [index.by_code[code].id for code in area.grid_codes if code in index.by_code]
    if roots:
        ids: set[int] = set()
        for root in roots:
            ids |= index.subtree(root)
        parts.append(Ticket.grid_id.in_(sorted(ids)))
    if area.department is not None:
        parts.append(Ticket.department == area.department)
    if area.unplaced:
        parts.append(Ticket.grid_id.is_(None))
    return or_(*parts) if parts else false()


def running_due() -> ColumnElement[datetime]:
    """The due time of the ticket's running stage (派单, 接单 or 办结), else NULL."""
    return case(
        (Ticket.status.in_(_WAITING), Ticket.dispatch_due),
        (Ticket.status == Status.DISPATCHED.value, Ticket.accept_due),
        (Ticket.status == Status.ACCEPTED.value, Ticket.resolve_due),
        else_=None,
    )


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Open with its running stage past due."""
    return or_(
        and_(Ticket.status.in_(_WAITING), Ticket.dispatch_due < now),
        and_(Ticket.status == Status.DISPATCHED.value, Ticket.accept_due < now),
        and_(Ticket.status == Status.ACCEPTED.value, Ticket.resolve_due < now),
    )


# ---------------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFilter:
    """What the list is narrowed to: ``status`` a status code, ``open`` or ``""`` (all);
    ``grid`` a grid code (its subtree) or ``-`` (not placed yet); dates in township time, both ends included."""

    status: str = ""
    grid: str = ""
    category: str = ""
    overdue: bool = False
    urgent: bool = False
    mine: bool = False  # held by the viewer (``Reach.person_id``)
    since: date | None = None
    until: date | None = None
    text: str = ""
    page: int = 1


@dataclass
class TicketPage:
    tickets: list[Ticket]
    total: int
    page: int
    pages: int
    due: dict[int, datetime | None] = field(default_factory=dict)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_conditions(index: RosterIndex, area: Reach, wanted: TicketFilter, *, now: datetime,
                      tz: tzinfo) -> list[ColumnElement[bool]]:
    """The WHERE of the list: the person's reach and the filters."""
    conditions: list[ColumnElement[bool]] = []
    scope = reach_clause(index, area)
    if scope is not None:
        conditions.append(scope)
    if wanted.status == "open":
        conditions.append(Ticket.status.in_(OPEN))
    elif wanted.status:
        conditions.append(Ticket.status == wanted.status)
    if wanted.grid == UNPLACED_GRID:
        conditions.append(Ticket.grid_id.is_(None))
    elif wanted.grid:
        node = index.by_code.get(wanted.grid)
        conditions.append(Ticket.grid_id.in_(sorted(index.subtree(node.id))) if node else false())
    if wanted.category:
        conditions.append(Ticket.category == wanted.category)
    if wanted.overdue:
        conditions.append(overdue_clause(now))
    if wanted.urgent:
        conditions.append(Ticket.urgent.is_(True))
    if wanted.mine:
        conditions.append(Ticket.assignee_id == area.person_id if area.person_id is not None
                          else false())
    if wanted.since is not None:
        conditions.append(Ticket.created_at >= datetime.combine(wanted.since, time(), tz))
    if wanted.until is not None:
        end = datetime.combine(wanted.until + timedelta(days=1), time(), tz)
        conditions.append(Ticket.created_at < end)
    text = wanted.text.strip()
    if text:
        number = text.lstrip("#＃")
        matches = Ticket.text.like(_like(text), escape="\\")
        if number.isdigit() and len(number) < 10:
            matches = or_(matches, Ticket.id == int(number))
        conditions.append(matches)
    return conditions


def search(session: Session, index: RosterIndex, area: Reach, wanted: TicketFilter, *,
           now: datetime, tz: tzinfo, page_size: int = PAGE_SIZE) -> TicketPage:
    """One page of the tickets ``area`` covers that match ``wanted``, the earliest running
    deadline first, then those without one (finished, mostly), the newest first.

    Read as two runs rather than one sort of every match: the tickets with a running deadline
    (few: the open ones, by the status index) sorted by it, then the others in id order (the
    primary key, read backwards until the page is full)."""
    conditions = filter_conditions(index, area, wanted, now=now, tz=tz)
    total = session.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, wanted.page), pages)
    due = running_due().label("due")
    running = and_(Ticket.status.in_(RUNNING), due.is_not(None))
    offset = (page - 1) * page_size
    loads = (selectinload(Ticket.grid), selectinload(Ticket.assignee))
    rows: list[tuple[Ticket, datetime | None]] = [(r[0], r[1]) for r in session.execute(
        select(Ticket, due).where(*conditions, running)
        .order_by(due, Ticket.id.desc()).offset(offset).limit(page_size).options(*loads))]
    if len(rows) < page_size:
        # where the running ones end: right here, or (a page past them) counted
        timed = offset + len(rows) if rows else (session.scalar(
            select(func.count()).select_from(Ticket).where(*conditions, running)) or 0)
        rows += [(ticket, None) for ticket in session.scalars(
            select(Ticket).where(*conditions, ~running).order_by(Ticket.id.desc())
            .offset(max(0, offset - timed)).limit(page_size - len(rows)).options(*loads))]
    return TicketPage([r[0] for r in rows], total, page, pages, {r[0].id: r[1] for r in rows})


# ---------------------------------------------------------------------------------------------
# The dashboard
# ---------------------------------------------------------------------------------------------


@dataclass
class GridCounts:
    """Open tickets of one grid (its grid-level node; micro-grids count for their grid)."""

    code: str
    name: str
    open: int = 0
    overdue: int = 0
    urgent: int = 0


@dataclass
class TodayCounts:
    open: int
    overdue: int
    urgent: int
    unplaced: int
    grids: list[GridCounts]


def today_counts(session: Session, index: RosterIndex, area: Reach, now: datetime) -> TodayCounts:
    """Open, overdue, urgent and unplaced tickets, by grid: one grouped query over the open
    tickets (the status index), the grid tree from the roster index."""
    conditions = [Ticket.status.in_(OPEN)]
    scope = reach_clause(index, area)
    if scope is not None:
        conditions.append(scope)
    # grouped by ``grid_id + 0``, not the column: grouping by the indexed column makes SQLite
    # walk the whole table in grid order instead of reading the open tickets by status
    grid = (Ticket.grid_id + 0).label("grid")
    rows = session.execute(
        select(grid, func.count(),
               func.sum(case((overdue_clause(now), 1), else_=0)),
               func.sum(case((Ticket.urgent.is_(True), 1), else_=0)))
        .where(*conditions).group_by(grid)
    ).all()
    grids: dict[str, GridCounts] = {}
    total = overdue = urgent = unplaced = 0
    for grid_id, count, late, hot in rows:
        total, overdue, urgent = total + count, overdue + (late or 0), urgent + (hot or 0)
        if grid_id is None or grid_id not in index.grids:
            unplaced += count
            continue
        node = index.grids[index.enclosing(grid_id, "grid")]
        counts = grids.setdefault(node.code, GridCounts(node.code, node.name))
        counts.open += count
        counts.overdue += late or 0
        counts.urgent += hot or 0
    ordered = sorted(grids.values(), key=lambda g: (-g.open, g.code))
    return TodayCounts(total, overdue, urgent, unplaced, ordered)


@dataclass(frozen=True)
class MonthFigures:
    """One month's cases (created in it), counted as 考单 counts them."""

    month: str
    tickets: int = 0
    resolved: int = 0
    judged: int = 0  # resolution decided: resolved, or overdue for it
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    disputes: int = 0
    disputes_resolved: int = 0

    @staticmethod
    def _rate(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    @property
    def resolution_rate(self) -> float | None:  # 办结率
        return self._rate(self.resolved, self.tickets)

    @property
    def on_time_rate(self) -> float | None:  # 按时办结率
        return self._rate(self.on_time, self.judged)

    @property
    def satisfaction_rate(self) -> float | None:  # 满意率
        return self._rate(self.satisfied, self.rated)

    @property
    def mediation_rate(self) -> float | None:  # 化解率
        return self._rate(self.disputes_resolved, self.disputes)


def months_back(today: date, count: int) -> list[str]:
    """``count`` months ending with ``today``'s, oldest first: ``["2025-12", …, "2026-11"]``."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def monthly_figures(session: Session, index: RosterIndex, area: Reach, months: Sequence[str],
                    tz: tzinfo) -> list[MonthFigures]:
    """The figures of consecutive ``months`` (oldest first): one grouped pass over the months'
    tickets, and one over the few of them marked overdue for resolution (a join, not a
    subquery per ticket)."""
    bounds = [month_bounds(m, tz) for m in months]
    bucket = case(*((Ticket.created_at < end, n) for n, (_, end) in enumerate(bounds)),
                  else_=len(bounds)).label("bucket")
    resolved = Ticket.resolved_at.is_not(None)
    in_time = and_(resolved, or_(Ticket.resolve_due.is_(None),
                                 Ticket.resolved_at <= Ticket.resolve_due))
    rated = Ticket.rating.in_(("satisfied", "average", "unsatisfied"))
    dispute = Ticket.category == DISPUTE

    def count(condition: ColumnElement[bool]):  # type: ignore[no-untyped-def]
        return func.sum(case((condition, 1), else_=0))

    conditions = [Ticket.created_at >= bounds[0][0], Ticket.created_at < bounds[-1][1],
                  Ticket.status.not_in(NOT_CASES)]
    scope = reach_clause(index, area)
    if scope is not None:
        conditions.append(scope)
    rows = session.execute(
        select(bucket, func.count(), count(resolved), count(in_time), count(rated),
               count(Ticket.rating == "satisfied"), count(dispute), count(and_(dispute, resolved)))
        .where(*conditions).group_by(bucket)
    ).all()
    late = (select(ClockMark.ticket_id).where(ClockMark.kind == "overdue",
                                              ClockMark.stage == "resolve")
            .distinct().subquery())
    marked = {int(row[0]): row for row in session.execute(
        select(bucket, count(~resolved), count(in_time))
        .join(late, late.c.ticket_id == Ticket.id).where(*conditions).group_by(bucket)
    ).all()}
    found = {int(row[0]): row for row in rows}
    out = []
    for n, month in enumerate(months):
        row = found.get(n)
        if row is None:
            out.append(MonthFigures(month))
            continue
        tickets, done, timely, rated_n, happy, disputes, settled = (int(v or 0) for v in row[1:])
        late_open, late_timely = (int(v or 0) for v in marked[n][1:]) if n in marked else (0, 0)
        out.append(MonthFigures(month, tickets=tickets, resolved=done, judged=done + late_open,
                                on_time=timely - late_timely, rated=rated_n, satisfied=happy,
                                disputes=disputes, disputes_resolved=settled))
    return out
