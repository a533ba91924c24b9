"""The KPIs the console charts, counted by the database: the last months' 办结率, 按时办结率,
满意率 and 化解率 (one grouped query), and a month's values per grid (one grouped query).

The definitions are 考单's (``cases.kpi``), over the same cases (tickets created in the month,
township time; merged duplicates and withdrawn reports left out):

* 办结率 ``resolution_rate``: resolved tickets over tickets;
* 按时办结率 ``on_time_resolution``: resolved by the resolve deadline and never marked overdue
  for resolution, over the tickets whose resolution is decided (resolved, or marked overdue);
* 满意率 ``satisfaction_rate``: 满意 over the rated (满意, 一般, 不满意; 未评价 apart);
* 化解率 ``dispute_resolution_rate``: resolved disputes over disputes (tickets of the dispute
  categories, by default ``dispute`` 矛盾纠纷).

A rate with an empty denominator is None. Only counts come back from the database; the rates are
divisions here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from cases.calendar import DEFAULT_TZ
from cases.grid_nodes import GridNodes
from cases.kpi import RATED
from cases.kpi_query import NOT_CASES, month_bounds
from store.models import Ticket
from store.sla import ClockMark

DISPUTES: tuple[str, ...] = ("dispute",)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class KpiCounts:
    """The counts behind the four rates, for one month or one grid."""

    tickets: int = 0
    resolved: int = 0
    resolve_judged: int = 0
    resolved_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    disputes: int = 0
    disputes_resolved: int = 0

    @property
    def resolution_rate(self) -> float | None:
        """办结率."""
        return _rate(self.resolved, self.tickets)

    @property
    def on_time_resolution(self) -> float | None:
        """按时办结率."""
        return _rate(self.resolved_on_time, self.resolve_judged)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率."""
        return _rate(self.satisfied, self.rated)

    @property
    def dispute_resolution_rate(self) -> float | None:
        """化解率."""
        return _rate(self.disputes_resolved, self.disputes)

    def __add__(self, other: KpiCounts) -> KpiCounts:
        return KpiCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


_COUNTS = tuple(f.name for f in fields(KpiCounts))


@dataclass(frozen=True)
class MonthKpis:
    """One month of the series: ``"2026-11"`` and its counts (rates as properties)."""

    month: str
    counts: KpiCounts


@dataclass(frozen=True)
class GridKpis:
    """One grid's counts in a month (``code`` empty: tickets not placed in a grid)."""

    code: str
    name: str
    counts: KpiCounts


def _counted(dispute_categories: Sequence[str]) -> list[Any]:
    """The aggregate columns, in ``KpiCounts`` order, over tickets left-joined to their
    overdue-resolution marks (``late``)."""
    late = (select(ClockMark.ticket_id.label("ticket_id"))
            .where(ClockMark.kind == "overdue", ClockMark.stage == "resolve")
            .distinct().subquery("late"))
    resolved = Ticket.resolved_at.is_not(None)
    marked = late.c.ticket_id.is_not(None)
    on_time = and_(resolved, late.c.ticket_id.is_(None),
                   or_(Ticket.resolve_due.is_(None), Ticket.resolved_at <= Ticket.resolve_due))
    dispute = Ticket.category.in_(list(dispute_categories) or [""])

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    columns = [
        func.count(Ticket.id),
        count(resolved),
        count(or_(resolved, marked)),
        count(on_time),
        count(Ticket.rating.in_(RATED)),
        count(Ticket.rating == "satisfied"),
        count(dispute),
        count(and_(dispute, resolved)),
    ]
    return [late, *columns]


def _counts(row: Sequence[Any]) -> KpiCounts:
    return KpiCounts(**{name: int(value or 0) for name, value in zip(_COUNTS, row, strict=True)})


def _previous_months(last: str, months: int) -> list[str]:
    year, month = (int(part) for part in last.split("-"))
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def kpi_series(session: Session, last_month: str, tz: tzinfo | None = None, *,
               months: int = 12, dispute_categories: Sequence[str] = DISPUTES
               ) -> list[MonthKpis]:
    """The ``months`` months up to ``last_month`` (``"2026-11"``, township time ``tz``, default
    Asia/Shanghai), oldest first, each with its counts (a month without tickets: zero counts,
    rates None). One query."""
    names = _previous_months(last_month, months)
    bounds = [month_bounds(name, tz or ZoneInfo(DEFAULT_TZ)) for name in names]
    start, end = bounds[0][0], bounds[-1][1]
    bucket = case(*((Ticket.created_at < upper, index)
                    for index, (_, upper) in enumerate(bounds)), else_=len(bounds))
    late, *columns = _counted(dispute_categories)
    inner = (select(bucket.label("bucket"), Ticket.id.label("id"))
             .where(Ticket.created_at >= start, Ticket.created_at < end,
                    Ticket.status.not_in(NOT_CASES))
             .subquery("bucketed"))
    query = (select(inner.c.bucket, *columns)
             .select_from(inner)
             .join(Ticket, Ticket.id == inner.c.id)
             .outerjoin(late, late.c.ticket_id == Ticket.id)
             .group_by(inner.c.bucket))
    found = {int(row[0]): _counts(row[1:]) for row in session.execute(query)}
    return [MonthKpis(name, found.get(index, KpiCounts())) for index, name in enumerate(names)]


def grid_kpis(session: Session, month: str, tz: tzinfo | None = None, *,
              dispute_categories: Sequence[str] = DISPUTES) -> list[GridKpis]:
    """A month's counts per grid (a micro-grid's tickets count for its grid; unplaced tickets
    under 未定网格), by grid name. One grouped query, folded onto the grid-level nodes."""
    start, end = month_bounds(month, tz or ZoneInfo(DEFAULT_TZ))
    late, *columns = _counted(dispute_categories)
    query = (select(Ticket.grid_id, *columns)
             .select_from(Ticket)
             .outerjoin(late, late.c.ticket_id == Ticket.id)
             .where(Ticket.created_at >= start, Ticket.created_at < end,
                    Ticket.status.not_in(NOT_CASES))
             .group_by(Ticket.grid_id))
    nodes = GridNodes(session)
    grids: dict[tuple[str, str], KpiCounts] = {}
    for row in session.execute(query):
        key = nodes.of(row[0])
        grids[key] = grids.get(key, KpiCounts()) + _counts(row[1:])
    return [GridKpis(code, name, counts)
            for (code, name), counts in sorted(grids.items(), key=lambda item: item[0][1])]
