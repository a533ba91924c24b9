"""Stage deadlines, reminder times and recomputing provisional deadlines (cases.deadlines)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from cases.calendar import Deadline, WorkCalendar
from cases.deadlines import SlaClock, Stage, reminder_times
from settings.model import CalendarSettings, SlaSettings

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def clock() -> SlaClock:
    return SlaClock.from_settings(SlaSettings(), CalendarSettings())


def test_dispatch_accept_rating_due(clock: SlaClock) -> None:
    assert clock.dispatch_due(at(2026, 11, 20, 16)) == Deadline(at(2026, 11, 23, 16))
    assert clock.accept_due(at(2026, 9, 30, 15)) == Deadline(at(2026, 10, 8, 15))
    assert clock.rating_due(at(2026, 11, 20, 16)) == Deadline(at(2026, 11, 25, 16))
    assert clock.rating_due(at(2026, 2, 13, 9)) == Deadline(at(2026, 2, 25, 9))  # 14, 24, 25


@pytest.mark.parametrize(
    ("tier", "due"),
    [
        ("easy", at(2026, 11, 9, 10)),
        ("general", at(2026, 11, 11, 10)),
        ("hard", at(2026, 12, 14, 10)),
        ("unknown-tier", at(2026, 11, 11, 10)),  # counts as general
    ],
)
def test_resolve_due_by_tier(clock: SlaClock, tier: str, due: datetime) -> None:
    assert clock.resolve_due(at(2026, 11, 2, 10), tier) == Deadline(due, False)


def test_resolve_due_calendar_unit() -> None:
    sla = SlaSettings(resolve_unit={"easy": "calendar", "general": "calendar", "hard": "working"})
    clock = SlaClock(sla, WorkCalendar())
    assert clock.resolve_due(at(2026, 11, 2, 10), "easy") == Deadline(at(2026, 11, 7, 10), False)
    assert clock.resolve_due(at(2026, 2, 13, 10), "general") == Deadline(at(2026, 2, 20, 10))
    # hard stays in working days: 02-14, 24..28, March's 22, April 1 and 2
    assert clock.resolve_due(at(2026, 2, 13, 10), "hard").at == at(2026, 4, 2, 10)


def test_resolve_across_spring_festival(clock: SlaClock) -> None:
    # 7 working days from Thursday 02-12: 13, 14 (make-up), 24, 25, 26, 27, 28 (make-up)
    assert clock.resolve_due(at(2026, 2, 12, 10), "general") == Deadline(at(2026, 2, 28, 10))


def test_resolve_into_2027_is_provisional(clock: SlaClock) -> None:
    # 12-28..31, then 2027-01-01 (a guessed weekday), 01-04, 01-05
    due = clock.resolve_due(datetime(2026, 12, 25, 2, tzinfo=UTC), "general")
    assert due == Deadline(at(2027, 1, 5, 10), True)


def test_due_by_stage(clock: SlaClock) -> None:
    start = at(2026, 11, 20, 16)
    assert clock.due(Stage.DISPATCH, start) == clock.dispatch_due(start)
    assert clock.due("accept", start) == clock.accept_due(start)
    assert clock.due(Stage.RESOLVE, start, "hard") == clock.resolve_due(start, "hard")
    assert clock.due(Stage.RATING, start) == clock.rating_due(start)


def test_office_hours_from_settings() -> None:
    clock = SlaClock.from_settings(SlaSettings(office_hours=("08:30", "17:30")), CalendarSettings())
    assert clock.dispatch_due(at(2026, 11, 20, 18)) == Deadline(at(2026, 11, 23, 17, 30))


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_friday_to_monday(clock: SlaClock) -> None:
    start, due = at(2026, 11, 20, 16), at(2026, 11, 23, 16)
    # half of 24 working hours is Monday 04:00 → moved to Monday 09:00 = the last-day morning
    assert clock.reminder_times(start, due) == [at(2026, 11, 23, 9)]
    cal = clock.calendar
    assert reminder_times(cal, start, due, daytime=None) == [
        at(2026, 11, 23, 4),
        at(2026, 11, 23, 9),
    ]
    assert reminder_times(cal, start, due, last_working_day=False) == [at(2026, 11, 23, 9)]
    assert reminder_times(cal, start, due, fractions=(), last_working_day=False) == []


def test_reminders_with_office_hours() -> None:
    cal = WorkCalendar(office_hours=(time(8, 30), time(17, 30)))
    start, due = at(2026, 11, 20, 16), at(2026, 11, 23, 16)
    # 9 working hours: half is Monday 11:30
    assert reminder_times(cal, start, due) == [at(2026, 11, 23, 9), at(2026, 11, 23, 11, 30)]
    assert reminder_times(cal, start, due, fractions=(0.5, 0.5), last_working_day=False) == [
        at(2026, 11, 23, 11, 30)
    ]


def test_reminders_general_resolve(clock: SlaClock) -> None:
    start = at(2026, 11, 2, 10)
    due = clock.resolve_due(start, "general").at
    assert due == at(2026, 11, 11, 10)
    # half of 7 working days is Thursday 11-05 22:00 → next working morning
    assert clock.reminder_times(start, due) == [at(2026, 11, 6, 9), at(2026, 11, 11, 9)]
    # a quarter (42 working hours) is Wednesday 04:00 → Wednesday 09:00
    assert clock.reminder_times(start, due, fractions=(0.25, 0.5)) == [
        at(2026, 11, 4, 9),
        at(2026, 11, 6, 9),
        at(2026, 11, 11, 9),
    ]


def test_reminders_due_at_midnight_and_holidays(clock: SlaClock) -> None:
    # created Saturday: due at the end of Monday; half is Monday 12:00
    start, due = at(2026, 11, 21, 10), at(2026, 11, 24)
    assert clock.reminder_times(start, due) == [at(2026, 11, 23, 9), at(2026, 11, 23, 12)]
    # Friday before the Spring Festival to the make-up Saturday
    assert clock.reminder_times(at(2026, 2, 13, 10), at(2026, 2, 14, 10)) == [at(2026, 2, 14, 9)]
    # no working time at all inside (calendar days over the holiday): nothing fits before due
    assert clock.reminder_times(at(2026, 2, 15, 10), at(2026, 2, 20, 10)) == []


def test_reminders_only_after_start() -> None:
    cal = WorkCalendar()
    # started after the morning of the due day: the half-time point is Monday 22:00 → Tuesday 09:00
    assert reminder_times(cal, at(2026, 11, 23, 10), at(2026, 11, 24, 10)) == [at(2026, 11, 24, 9)]
    assert reminder_times(cal, at(2026, 11, 24, 9, 30), at(2026, 11, 24, 10), fractions=()) == []


# --- recompute ---------------------------------------------------------------------------------


def test_recompute_provisional_when_config_learns_2027(clock: SlaClock) -> None:
    start = at(2026, 12, 31, 10)
    old = clock.accept_due(start)
    assert old == Deadline(at(2027, 1, 1, 10), True)

    still_guess = SlaClock(SlaSettings(), WorkCalendar({date(2027, 1, 1): False}))
    r = still_guess.recompute(Stage.ACCEPT, start, old.at)
    assert (r.new.at, r.changed, r.final) == (at(2027, 1, 4, 10), True, False)

    known = {date(2027, 1, 1): False, date(2027, 1, 2): False, date(2027, 1, 3): False}
    known[date(2027, 1, 4)] = True
    learned = SlaClock(SlaSettings(), WorkCalendar(known))
    r = learned.recompute("accept", start, old.at)
    assert (r.new.at, r.changed, r.final) == (at(2027, 1, 4, 10), True, True)

    same = SlaClock(SlaSettings(), WorkCalendar({date(2027, 1, 1): True}))
    r = same.recompute(Stage.ACCEPT, start, old.at)
    assert (r.changed, r.final) == (False, True)


def test_recompute_ticket(clock: SlaClock) -> None:
    starts = {Stage.DISPATCH: at(2026, 12, 30, 10), Stage.ACCEPT: at(2026, 12, 31, 10)}
    old = {
        Stage.DISPATCH: clock.dispatch_due(starts[Stage.DISPATCH]).at,
        Stage.ACCEPT: clock.accept_due(starts[Stage.ACCEPT]).at,
        Stage.RESOLVE: None,
    }
    assert clock.recompute_ticket(starts, old).provisional
    known = {date(2027, 1, d): d == 4 for d in (1, 2, 3, 4)}
    learned = SlaClock(SlaSettings(), WorkCalendar(known))
    result = learned.recompute_ticket(starts, old)
    assert [r.stage for r in result.stages] == [Stage.DISPATCH, Stage.ACCEPT]
    assert not result.provisional
    assert result.changed
    assert result.new_times() == {
        Stage.DISPATCH: at(2026, 12, 31, 10),
        Stage.ACCEPT: at(2027, 1, 4, 10),
    }
