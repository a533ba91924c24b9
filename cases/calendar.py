"""Chinese working days, office hours, and deadlines counted in working days.

Which days are working days
---------------------------
1. A per-date override from config (``calendar.overrides``: ``True`` = working, ``False`` = off)
   always wins.
2. Otherwise, for a year the ``chinesecalendar`` package knows: weekends and public holidays are
   off, the 调休 make-up Saturdays/Sundays are working days.
3. Otherwise (a year the package does not know yet, e.g. 2027 with chinesecalendar 1.11):
   Monday–Friday are working days. Such a day is *not known* (``is_known`` is False) and any
   deadline whose computation looked at it is marked ``provisional``; it never raises.

Working time
------------
Without office hours a working day is working time from 00:00 to 24:00 (local time of the
township, ``Asia/Shanghai`` by default). With office hours ``(open, close)``, only
``[open, close)`` of a working day is working time. Non-working days have none.

The deadline rule: "within N working days of T" (``add_working_days``)
-----------------------------------------------------------------------
* First T is *rolled forward* to working time: a T inside working time stays; a T before the
  opening of a working day moves to that opening; a T on a non-working day, or after closing,
  moves to the opening (00:00 without office hours) of the next working day. Call it S, on day D.
* If S is later than the opening of D (the usual case), the deadline is the **same wall-clock
  time on the N-th working day after D**. Example: created Friday 16:00, the weekend off → due
  Monday 16:00; with office hours 08:30–17:30, created Friday 16:00 → Monday 16:00 too, and
  created Friday 18:00 → rolled to Monday 08:30 (see next point).
* If S is exactly the opening of D (T was outside working time, or exactly at opening), the ticket
  has all of D: the deadline is the **close of the N-th working day counting D as the first**.
  Example: created on Saturday (or on a holiday) → counts from the start of the next working day,
  Monday, and is due at the end of Monday (Tuesday 00:00 without office hours; Monday 17:30 with
  office hours 08:30–17:30).
* Equivalently: the deadline is the earliest instant by which N full working days of working
  time have elapsed since T.
* ``N = 0`` gives S itself.

``add_calendar_days`` is plain calendar arithmetic (same wall-clock time N days later), ignoring
working days and office hours; it is never provisional.

All functions take timezone-aware datetimes in any zone and return aware datetimes in the
township's zone (compare them freely with UTC values from the store). Naive datetimes are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import chinese_calendar

if TYPE_CHECKING:
    from settings.model import CalendarSettings, SlaSettings

DEFAULT_TZ = "Asia/Shanghai"
# No real calendar has a year without working days; this bounds every walk over the days.
_MAX_WALK_DAYS = 400
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """A due time (aware, township zone) and whether it rests on a guessed (unknown-year) day."""

    at: datetime
    provisional: bool = False


def parse_hhmm(text: str) -> time:
    """``"08:30"`` → ``time(8, 30)``."""
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


class _Tracker:
    """Remembers whether a walk over the days looked at a day whose status is a guess."""

    __slots__ = ("uncertain",)

    def __init__(self) -> None:
        self.uncertain = False


@dataclass(frozen=True, init=False)
class WorkCalendar:
    """The township's working days and (optional) office hours; see the module docstring."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    tz: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    office_hours: tuple[time, time] | None = None
    _days: dict[date, tuple[bool, bool]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        tz: str | tzinfo = DEFAULT_TZ,
        office_hours: tuple[time, time] | None = None,
    ) -> None:
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        if office_hours is not None:
            opening, closing = office_hours
            if not opening < closing:
                raise ValueError(f"office hours must open before they close: {office_hours!r}")
        object.__setattr__(self, "overrides", MappingProxyType(dict(overrides or {})))
        object.__setattr__(self, "tz", zone)
        object.__setattr__(self, "office_hours", office_hours)
        # day → (working, certain): chinesecalendar's look-up is slow, and a sweep asks the same
        # few weeks of days for every ticket (a day's status never changes for one instance)
        object.__setattr__(self, "_days", {})

    @classmethod
    def from_settings(
        cls, calendar: CalendarSettings, sla: SlaSettings | None = None
    ) -> WorkCalendar:
        """Build from config: ``"2027-01-01": false`` overrides and ``("08:30", "17:30")`` hours."""
        overrides = {date.fromisoformat(k): bool(v) for k, v in calendar.overrides.items()}
        hours = None
        if sla is not None and sla.office_hours:
            hours = (parse_hhmm(sla.office_hours[0]), parse_hhmm(sla.office_hours[1]))
        return cls(overrides, calendar.timezone, hours)

    # -- days ---------------------------------------------------------------------------------

    def _status(self, d: date) -> tuple[bool, bool]:
        """(is a working day, is certain)."""
        known = self._days.get(d)
        if known is None:
            known = self._days[d] = self._look_up(d)
        return known

    def _look_up(self, d: date) -> tuple[bool, bool]:
        if d in self.overrides:
            return self.overrides[d], True
        try:
            return bool(chinese_calendar.is_workday(d)), True
        except NotImplementedError:
            return d.weekday() < 5, False

    def is_working_day(self, d: date, _track: _Tracker | None = None) -> bool:
        """Whether ``d`` is a working day (overrides, then chinesecalendar, then Mon–Fri)."""
        working, certain = self._status(d)
        if _track is not None and not certain:
            _track.uncertain = True
        return working

    def is_known(self, d: date) -> bool:
        """Whether ``d``'s status is certain: overridden in config or known to chinesecalendar."""
        return self._status(d)[1]

    def _next_working_day(self, d: date, track: _Tracker) -> date:
        """The first working day strictly after ``d``."""
        for _ in range(_MAX_WALK_DAYS):
            d += _ONE_DAY
            if self.is_working_day(d, track):
                return d
        raise ValueError(f"no working day within {_MAX_WALK_DAYS} days after {d}")

    def _previous_working_day(self, d: date, track: _Tracker) -> date:
        """The last working day strictly before ``d``."""
        for _ in range(_MAX_WALK_DAYS):
            d -= _ONE_DAY
            if self.is_working_day(d, track):
                return d
        raise ValueError(f"no working day within {_MAX_WALK_DAYS} days before {d}")

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self._next_working_day(d, _Tracker())

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self._previous_working_day(d, _Tracker())

    def working_day_before(self, d: date, n: int) -> tuple[date, bool]:
        """The n-th working day strictly before ``d`` (``n = 0``: ``d`` itself), provisional flag.

        For "T−n working days" reminders: ``working_day_before(due_date, 1)`` is the last
        working day before the due date. The flag is True when a day looked at is a guess.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        track = _Tracker()
        for _ in range(n):
            d = self._previous_working_day(d, track)
        if n == 0:
            self.is_working_day(d, track)
        return d, track.uncertain

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days in the half-open range ``[a, b)`` of local dates; negative if b < a.

        Datetimes are first converted to the township's local date. Monday → next Monday in an
        ordinary week is 5.
        """
        da, db = self._as_date(a), self._as_date(b)
        sign = 1
        if db < da:
            da, db, sign = db, da, -1
        count = 0
        d = da
        while d < db:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return sign * count

    # -- working time -------------------------------------------------------------------------

    def local(self, dt: datetime) -> datetime:
        """``dt`` in the township's zone; naive datetimes are refused."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"naive datetime: {dt!r} (pass an aware datetime)")
        return dt.astimezone(self.tz)

    def _as_date(self, value: date | datetime) -> date:
        if isinstance(value, datetime):
            return self.local(value).date()
        return value

    def opening(self, d: date) -> datetime:
        """When working time starts on day ``d`` (00:00 without office hours)."""
        start = self.office_hours[0] if self.office_hours else time(0)
        return datetime.combine(d, start, tzinfo=self.tz)

    def closing(self, d: date) -> datetime:
        """When working time ends on day ``d`` (24:00, i.e. next day 00:00, without office hours)."""
        if self.office_hours:
            return datetime.combine(d, self.office_hours[1], tzinfo=self.tz)
        return datetime.combine(d + _ONE_DAY, time(0), tzinfo=self.tz)

    def is_working_time(self, dt: datetime) -> bool:
        """Whether ``dt`` falls on a working day, inside office hours if there are any."""
        local = self.local(dt)
        d = local.date()
        return self.is_working_day(d) and self.opening(d) <= local < self.closing(d)

    def _roll_forward(self, dt: datetime, track: _Tracker) -> datetime:
        local = self.local(dt)
        d = local.date()
        if self.is_working_day(d, track):
            if local < self.opening(d):
                return self.opening(d)
            if local < self.closing(d):
                return local
        return self.opening(self._next_working_day(d, track))

    def roll_forward(self, dt: datetime) -> datetime:
        """``dt`` if it is working time, else the next opening of a working day."""
        return self._roll_forward(dt, _Tracker())

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """The deadline "within ``n`` working days of ``start``" (rule in the module docstring)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        track = _Tracker()
        rolled = self._roll_forward(start, track)
        if n == 0:
            return Deadline(rolled, track.uncertain)
        d = rolled.date()
        offset = rolled - self.opening(d)
        if offset == timedelta(0):
            for _ in range(n - 1):
                d = self._next_working_day(d, track)
            return Deadline(self.closing(d), track.uncertain)
        for _ in range(n):
            d = self._next_working_day(d, track)
        return Deadline(self.opening(d) + offset, track.uncertain)

    def add_calendar_days(self, start: datetime, n: int) -> Deadline:
        """The same local wall-clock time ``n`` calendar days later (never provisional)."""
        return Deadline(self.local(start) + timedelta(days=n), False)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """How much working time lies in ``[a, b)`` (zero if b <= a)."""
        a, b = self.local(a), self.local(b)
        total = timedelta(0)
        d = a.date()
        while d <= b.date():
            if self.is_working_day(d):
                lo, hi = max(a, self.opening(d)), min(b, self.closing(d))
                if hi > lo:
                    total += hi - lo
            d += _ONE_DAY
        return total

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when ``amount`` of working time has elapsed since ``start``."""
        track = _Tracker()
        at = self._roll_forward(start, track)
        remaining = amount
        for _ in range(_MAX_WALK_DAYS * 2):
            close = self.closing(at.date())
            if at + remaining <= close:
                return at + remaining
            remaining -= close - at
            at = self.opening(self._next_working_day(at.date(), track))
        raise ValueError("working time walk did not end")

    # -- mornings -------------------------------------------------------------------------------

    def next_working_morning(self, dt: datetime, at: time = time(9)) -> datetime:
        """The earliest instant >= ``dt`` that is ``at`` o'clock on a working day."""
        local = self.local(dt)
        d = local.date()
        if self.is_working_day(d) and local <= datetime.combine(d, at, tzinfo=self.tz):
            return datetime.combine(d, at, tzinfo=self.tz)
        return datetime.combine(self.next_working_day(d), at, tzinfo=self.tz)

    def last_working_morning_before(
        self, due: datetime, at: time = time(9), after: datetime | None = None
    ) -> datetime | None:
        """The latest instant < ``due`` that is ``at`` o'clock on a working day, or None.

        With ``after``, only instants strictly after it count (None if there is none).
        """
        local_due = self.local(due)
        d = local_due.date()
        for _ in range(_MAX_WALK_DAYS):
            morning = datetime.combine(d, at, tzinfo=self.tz)
            if after is not None and morning <= after:
                return None
            if morning < local_due and self.is_working_day(d):
                return morning
            d -= _ONE_DAY
        return None
