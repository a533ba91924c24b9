"""考单: one case, one assessment, and the KPIs the township is judged on. Pure computation.

Each ticket of the period becomes a :class:`CaseFacts` (the query in ``cases.kpi_query`` fills
them); :func:`kpi_rows` groups them per grid and per worker (plus a total) and computes:

* **tickets**: reports of the period (duplicates merged into another ticket and tickets the
  resident withdrew are not cases and are left out by the query);
* **on-time acceptance rate** 按时接单率: accepted by the accept deadline and never escalated for
  an overdue acceptance, over the tickets whose acceptance is decided (accepted, or overdue);
* **on-time resolution rate** 按时办结率: the same for resolution (办结) against the resolve
  deadline;
* **resolution rate** 办结率: tickets resolved (resolved or closed after resolution) over tickets;
* **satisfaction rate** 满意率: 满意 over the rated tickets (满意 + 一般 + 不满意); 未评价 is
  counted apart (``unrated``) and is never in the rate;
* **share resolved at each level**: resolved tickets by ``resolved_level`` over resolved tickets.

The counts come per (grid, worker) group as :class:`GroupCounts` — summed by the database over a
month's tickets (``cases.kpi_query.load_counts``: one GROUP BY, a few thousand rows for a
county's 100,000 cases) — and :func:`kpi_report` adds the groups up per grid, per worker and in
total. :func:`kpi_rows` does the same from per-case facts (:func:`count_cases`), the reference
the query is checked against.

A rate with an empty denominator is ``None`` (shown "—"). Rows with fewer than ``min_cases``
tickets get no rank; the others are ranked by resolution rate, then on-time resolution rate, then
satisfaction rate (higher first; ties share a rank).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from cases.ladder import LADDER

RATED = ("satisfied", "average", "unsatisfied")


@dataclass(frozen=True)
class CaseFacts:
    """What the assessment needs to know about one ticket."""

    ticket_id: int
    grid_code: str
    grid_name: str
    worker: str
    accepted_at: datetime | None = None
    accept_due: datetime | None = None
    resolved_at: datetime | None = None
    resolve_due: datetime | None = None
    rating: str | None = None
    resolved_level: str | None = None
    overdue_stages: frozenset[str] = frozenset()
    source: str | None = None  # an outside system's order (12345 …); None: a resident's report

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def accept_judged(self) -> bool:
        return self.accepted_at is not None or "accept" in self.overdue_stages

    @property
    def accepted_on_time(self) -> bool:
        return (
            self.accepted_at is not None
            and "accept" not in self.overdue_stages
            and (self.accept_due is None or self.accepted_at <= self.accept_due)
        )

    @property
    def resolve_judged(self) -> bool:
        return self.resolved or "resolve" in self.overdue_stages

    @property
    def resolved_on_time(self) -> bool:
        return (
            self.resolved_at is not None
            and "resolve" not in self.overdue_stages
            and (self.resolve_due is None or self.resolved_at <= self.resolve_due)
        )


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class KpiRow:
    """The KPIs of one grid, one worker, or the total."""

    scope: str  # grid|worker|source|total
    key: str
    name: str
    tickets: int = 0
    accept_judged: int = 0
    accepted_on_time: int = 0
    resolve_judged: int = 0
    resolved_on_time: int = 0
    resolved: int = 0
    ratings: dict[str, int] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    rank: int | None = None

    @property
    def on_time_acceptance(self) -> float | None:
        return _rate(self.accepted_on_time, self.accept_judged)

    @property
    def on_time_resolution(self) -> float | None:
        return _rate(self.resolved_on_time, self.resolve_judged)

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.resolved, self.tickets)

    @property
    def rated(self) -> int:
        return sum(self.ratings.get(r, 0) for r in RATED)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.ratings.get("satisfied", 0), self.rated)

    @property
    def unrated(self) -> int:
        return self.ratings.get("unrated", 0)

    def level_share(self, level: str) -> float | None:
        return _rate(self.levels.get(level, 0), self.resolved)


@dataclass(frozen=True)
class GroupCounts:
    """The counts of the cases of one grid (its grid-level node) held by one worker, from one
    source ("" for residents' reports) and, where the database counts them, of one category."""

    grid_code: str
    grid_name: str
    worker: str
    source: str = ""
    category: str = ""  # "" when counted from facts (which do not carry it)
    tickets: int = 0
    accept_judged: int = 0
    accepted_on_time: int = 0
    resolve_judged: int = 0
    resolved_on_time: int = 0
    resolved: int = 0
    ratings: dict[str, int] = field(default_factory=dict)  # only ratings that occur
    levels: dict[str, int] = field(default_factory=dict)  # resolved at each level, if any


class _Tally:
    """The counts of one group, added case by case or group by group."""

    __slots__ = ("tickets", "accept_judged", "accepted_on_time", "resolve_judged",
                 "resolved_on_time", "resolved", "ratings", "levels")

    def __init__(self) -> None:
        self.tickets = self.accept_judged = self.accepted_on_time = 0
        self.resolve_judged = self.resolved_on_time = self.resolved = 0
        self.ratings: dict[str, int] = {}
        self.levels: dict[str, int] = {}

    def add(self, case: CaseFacts, judged: tuple[bool, bool, bool, bool]) -> None:
        self.tickets += 1
        self.accept_judged += judged[0]
        self.accepted_on_time += judged[1]
        self.resolve_judged += judged[2]
        self.resolved_on_time += judged[3]
        if case.rating:
            self.ratings[case.rating] = self.ratings.get(case.rating, 0) + 1
        if case.resolved:
            self.resolved += 1
            if case.resolved_level:
                self.levels[case.resolved_level] = self.levels.get(case.resolved_level, 0) + 1

    def merge(self, group: GroupCounts) -> None:
        self.tickets += group.tickets
        self.accept_judged += group.accept_judged
        self.accepted_on_time += group.accepted_on_time
        self.resolve_judged += group.resolve_judged
        self.resolved_on_time += group.resolved_on_time
        self.resolved += group.resolved
        for rating, count in group.ratings.items():
            self.ratings[rating] = self.ratings.get(rating, 0) + count
        for level, count in group.levels.items():
            self.levels[level] = self.levels.get(level, 0) + count

    def group(self, grid_code: str, grid_name: str, worker: str, source: str = "",
              category: str = "") -> GroupCounts:
        return GroupCounts(
            grid_code=grid_code, grid_name=grid_name, worker=worker, source=source,
            category=category, tickets=self.tickets,
            accept_judged=self.accept_judged, accepted_on_time=self.accepted_on_time,
            resolve_judged=self.resolve_judged, resolved_on_time=self.resolved_on_time,
            resolved=self.resolved, ratings=self.ratings, levels=self.levels,
        )

    def row(self, scope: str, key: str, name: str) -> KpiRow:
        return KpiRow(
            scope=scope, key=key, name=name, tickets=self.tickets,
            accept_judged=self.accept_judged, accepted_on_time=self.accepted_on_time,
            resolve_judged=self.resolve_judged, resolved_on_time=self.resolved_on_time,
            resolved=self.resolved, ratings=self.ratings, levels=self.levels,
        )


def _judged(case: CaseFacts) -> tuple[bool, bool, bool, bool]:
    return (case.accept_judged, case.accepted_on_time, case.resolve_judged,
            case.resolved_on_time)


def summarise(scope: str, key: str, name: str, cases: Iterable[CaseFacts]) -> KpiRow:
    """The KPIs of a group of cases."""
    tally = _Tally()
    for case in cases:
        tally.add(case, _judged(case))
    return tally.row(scope, key, name)


def _score(row: KpiRow) -> tuple[float, float, float]:
    return (row.resolution_rate or 0.0, row.on_time_resolution or 0.0,
            row.satisfaction_rate or 0.0)


def rank(rows: Sequence[KpiRow], min_cases: int) -> list[KpiRow]:
    """Ranked rows first (best first, ties share a rank), then the unranked ones by name."""
    eligible = sorted((r for r in rows if r.tickets >= min_cases),
                      key=lambda r: (tuple(-x for x in _score(r)), r.name))
    out: list[KpiRow] = []
    previous: tuple[float, float, float] | None = None
    position = 0
    for index, row in enumerate(eligible, start=1):
        score = _score(row)
        if score != previous:
            position, previous = index, score
        out.append(replace(row, rank=position))
    out.extend(sorted((r for r in rows if r.tickets < min_cases), key=lambda r: r.name))
    return out


@dataclass(frozen=True)
class KpiReport:
    """Per grid, per worker (both ranked), and the total."""

    grids: list[KpiRow]
    workers: list[KpiRow]
    total: KpiRow
    min_cases: int
    # per source (not ranked): key "" for residents' chat reports, else the system (12345)
    sources: list[KpiRow] = field(default_factory=list)


def count_cases(cases: Iterable[CaseFacts]) -> list[GroupCounts]:
    """Per-case facts counted per (grid, worker, source) group, as the database counts them."""
    tallies: dict[tuple[str, str, str, str], _Tally] = {}
    for case in cases:
        key = (case.grid_code, case.grid_name, case.worker, case.source or "")
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally()
        tally.add(case, _judged(case))
    return [tally.group(*key) for key, tally in tallies.items()]


def kpi_report(groups: Iterable[GroupCounts], min_cases: int = 5) -> KpiReport:
    """The 考单 report from per-(grid, worker) counts: per grid, per worker (ranked), total."""
    grids: dict[tuple[str, str], _Tally] = {}
    workers: dict[str, _Tally] = {}
    total = _Tally()
    sources: dict[str, _Tally] = {}
    for group in groups:
        source = sources.get(group.source)
        if source is None:
            source = sources[group.source] = _Tally()
        source.merge(group)
        grid = grids.get((group.grid_code, group.grid_name))
        if grid is None:
            grid = grids[(group.grid_code, group.grid_name)] = _Tally()
        worker = workers.get(group.worker)
        if worker is None:
            worker = workers[group.worker] = _Tally()
        grid.merge(group)
        worker.merge(group)
        total.merge(group)
    return KpiReport(
        grids=rank([t.row("grid", k, name) for (k, name), t in grids.items()], min_cases),
        workers=rank([t.row("worker", k, k) for k, t in workers.items()], min_cases),
        total=total.row("total", "", "合计"),
        min_cases=min_cases,
        sources=[t.row("source", k, k) for k, t in sorted(sources.items())],
    )


def summarise_groups(scope: str, key: str, name: str, groups: Iterable[GroupCounts]) -> KpiRow:
    """The KPIs of the cases counted in ``groups``."""
    tally = _Tally()
    for group in groups:
        tally.merge(group)
    return tally.row(scope, key, name)


def kpi_rows(cases: Sequence[CaseFacts], min_cases: int = 5) -> KpiReport:
    """The 考单 report of per-case facts (the reference for :func:`kpi_report`'s counts)."""
    return kpi_report(count_cases(cases), min_cases)


LEVELS: tuple[str, ...] = tuple(str(level) for level in LADDER)
