"""The 六单 clocks: when each stage is due, when to remind, and recomputing provisional deadlines.

Stages and their clocks (``SlaSettings`` defaults):

=========  =====================  ===================================================
stage      starts at              due
=========  =====================  ===================================================
dispatch   ``created_at``         ``dispatch_days`` (1) working days
accept     ``dispatched_at``      ``accept_days`` (1) working days
resolve    ``accepted_at`` (or    ``resolve_days[tier]`` (easy 5, general 7, hard 30),
           ``dispatched_at``)     in ``resolve_unit[tier]``: ``working`` or ``calendar`` days
rating     ``resolved_at``        ``rating_days`` (3) working days, then 未评价
=========  =====================  ===================================================

Working days are counted by ``WorkCalendar.add_working_days`` (its docstring has the exact
rule); a deadline that looked at a day of a year chinesecalendar does not know (and that config
does not override) is *provisional*. ``recompute`` tells, for the same start time, whether such a
deadline is final now (the package or config learned the year) and whether it moved.

Reminders (``reminder_times``): at each fraction (default ½) of the *working time* between start
and due, and at the working morning (09:00) of the last working day that starts before the due
time. A fraction point outside day time (09:00–18:00 local by default) moves to the next working
morning, so nobody is reminded at 04:00. Deduplicated, sorted, strictly between start and due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from cases.calendar import Deadline, WorkCalendar
from vocab import Stage, Tier

if TYPE_CHECKING:
    from settings.model import CalendarSettings, SlaSettings


class Unit(StrEnum):
    """How a tier's days are counted."""

    WORKING = "working"
    CALENDAR = "calendar"


DEFAULT_MORNING = time(9)
DEFAULT_DAYTIME: tuple[time, time] = (time(9), time(18))


def reminder_times(
    calendar: WorkCalendar,
    start: datetime,
    due: datetime,
    fractions: Iterable[float] = (0.5,),
    last_working_day: bool = True,
    morning: time = DEFAULT_MORNING,
    daytime: tuple[time, time] | None = DEFAULT_DAYTIME,
) -> list[datetime]:
    """When to remind the handler of a stage running from ``start`` to ``due``.

    * each fraction ``f`` of the working time between them (``f`` of the wall time if there is no
      working time at all in between); a point outside ``daytime`` moves to the next working day
      at ``morning`` (pass ``daytime=None`` to keep the exact points);
    * with ``last_working_day``: ``morning`` o'clock of the last working day that begins before
      ``due`` (the due day itself when due is later than that morning);
    * only points strictly after ``start`` and strictly before ``due``; sorted; no duplicates.
    """
    start_l, due_l = calendar.local(start), calendar.local(due)
    points: set[datetime] = set()
    span = calendar.working_time_between(start_l, due_l)
    for fraction in fractions:
        if not 0 < fraction < 1:
            continue
        if span.total_seconds() > 0:
            point = calendar.add_working_time(start_l, span * fraction)
        else:
            point = start_l + (due_l - start_l) * fraction
        if daytime is not None and not daytime[0] <= point.time() < daytime[1]:
            point = calendar.next_working_morning(point, morning)
        points.add(point)
    if last_working_day:
        last = calendar.last_working_morning_before(due_l, morning, after=start_l)
        if last is not None:
            points.add(last)
    return sorted(p for p in points if start_l < p < due_l)


@dataclass(frozen=True)
class Recomputed:
    """A provisional deadline computed again from the same start."""

    stage: Stage
    old_at: datetime
    new: Deadline

    @property
    def changed(self) -> bool:
        """Whether the due time moved."""
        return self.new.at != self.old_at

    @property
    def final(self) -> bool:
        """Whether the new deadline no longer rests on a guessed day."""
        return not self.new.provisional


@dataclass(frozen=True)
class TicketRecompute:
    """All of a ticket's clocked stages, recomputed."""

    stages: tuple[Recomputed, ...]

    @property
    def provisional(self) -> bool:
        """Whether any deadline is still provisional (the ticket's ``deadlines_provisional``)."""
        return any(not r.final for r in self.stages)

    @property
    def changed(self) -> bool:
        """Whether any due time moved (tell the handler)."""
        return any(r.changed for r in self.stages)

    def new_times(self) -> dict[Stage, datetime]:
        """Stage → new due time, for the caller to store."""
        return {r.stage: r.new.at for r in self.stages}


@dataclass(frozen=True)
class SlaClock:
    """Deadlines and reminders from the SLA settings and the township's calendar."""

    sla: SlaSettings
    calendar: WorkCalendar

    @classmethod
    def from_settings(cls, sla: SlaSettings, calendar: CalendarSettings) -> SlaClock:
        """Build from config (office hours come from ``sla.office_hours``)."""
        return cls(sla, WorkCalendar.from_settings(calendar, sla))

    def _working(self, start: datetime, days: int) -> Deadline:
        return self.calendar.add_working_days(start, days)

    def dispatch_due(self, created_at: datetime) -> Deadline:
        """派单 within ``dispatch_days`` working days of creation."""
        return self._working(created_at, self.sla.dispatch_days)

    def accept_due(self, dispatched_at: datetime) -> Deadline:
        """接单 within ``accept_days`` working days of dispatch."""
        return self._working(dispatched_at, self.sla.accept_days)

    def tier_rule(self, tier: str | Tier, source: str | None = None) -> tuple[int, Unit]:
        """(days, unit) for a tier; an unknown tier counts as ``general``. An order from an
        outside system whose ``source`` is in ``sla.sources`` has that source's rule instead
        (12345 orders: 7 working days)."""
        rule = self.sla.sources.get(source) if source else None
        if rule is not None:
            return rule.resolve_days, Unit(rule.resolve_unit)
        key = str(tier)
        if key not in self.sla.resolve_days:
            key = Tier.GENERAL.value
        days = self.sla.resolve_days.get(key, 7)
        unit = Unit(self.sla.resolve_unit.get(key, Unit.WORKING.value))
        return days, unit

    def resolve_due(self, accepted_or_dispatched_at: datetime, tier: str | Tier,
                    source: str | None = None) -> Deadline:
        """办结 within the tier's (or the source's) days, working or calendar, of acceptance
        (or dispatch)."""
        days, unit = self.tier_rule(tier, source)
        if unit is Unit.CALENDAR:
            return self.calendar.add_calendar_days(accepted_or_dispatched_at, days)
        return self._working(accepted_or_dispatched_at, days)

    def rating_due(self, resolved_at: datetime) -> Deadline:
        """The resident has ``rating_days`` working days to rate, then the ticket closes 未评价."""
        return self._working(resolved_at, self.sla.rating_days)

    def due(self, stage: Stage | str, start: datetime, tier: str | Tier = Tier.GENERAL,
            source: str | None = None) -> Deadline:
        """The deadline of ``stage`` started at ``start`` (``source``: an outside system's
        order, see :meth:`tier_rule`)."""
        stage = Stage(stage)
        if stage is Stage.DISPATCH:
            return self.dispatch_due(start)
        if stage is Stage.ACCEPT:
            return self.accept_due(start)
        if stage is Stage.RESOLVE:
            return self.resolve_due(start, tier, source)
        return self.rating_due(start)

    def reminder_times(
        self,
        start: datetime,
        due: datetime,
        fractions: Iterable[float] | None = None,
        last_working_day: bool | None = None,
        morning: time = DEFAULT_MORNING,
    ) -> list[datetime]:
        """``reminder_times`` with the SLA's defaults (``remind_at_fractions``,
        ``remind_last_working_day``)."""
        return reminder_times(
            self.calendar,
            start,
            due,
            self.sla.remind_at_fractions if fractions is None else fractions,
            self.sla.remind_last_working_day if last_working_day is None else last_working_day,
            morning,
        )

    def recompute(
        self, stage: Stage | str, start: datetime, old_at: datetime, tier: str | Tier = Tier.GENERAL,
        source: str | None = None,
    ) -> Recomputed:
        """Compute a (provisional) deadline again from its original start."""
        return Recomputed(Stage(stage), old_at, self.due(stage, start, tier, source))

    def recompute_ticket(
        self,
        starts: Mapping[Stage, datetime | None],
        old: Mapping[Stage, datetime | None],
        tier: str | Tier = Tier.GENERAL,
    ) -> TicketRecompute:
        """Recompute every stage that has both a start and an old due time."""
        results = []
        for stage in Stage:
            start, old_at = starts.get(stage), old.get(stage)
            if start is not None and old_at is not None:
                results.append(self.recompute(stage, start, old_at, tier))
        return TicketRecompute(tuple(results))
