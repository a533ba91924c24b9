"""Working days and the deadline rule of cases.calendar: holidays, make-up days, unknown years,
office hours, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases.calendar import Deadline, WorkCalendar, parse_hhmm
from settings.model import CalendarSettings, SlaSettings

SH = ZoneInfo("Asia/Shanghai")
OFFICE = (time(8, 30), time(17, 30))


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture
def office() -> WorkCalendar:
    return WorkCalendar(office_hours=OFFICE)


# --- which days work ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the Spring Festival
        (date(2026, 2, 14), True),  # Saturday, 调休 make-up day
        (date(2026, 2, 15), False),  # Spring Festival holiday starts (Sunday)
        (date(2026, 2, 16), False),
        (date(2026, 2, 17), False),  # 初一
        (date(2026, 2, 20), False),
        (date(2026, 2, 21), False),
        (date(2026, 2, 23), False),  # last holiday (Monday)
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, make-up day
        (date(2026, 3, 1), False),  # ordinary Sunday
        (date(2026, 9, 20), True),  # Sunday, make-up day for National Day
        (date(2026, 9, 25), False),  # Mid-autumn (Friday)
        (date(2026, 9, 30), True),
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, make-up day
        (date(2026, 10, 11), False),
        (date(2026, 11, 23), True),  # ordinary Monday
    ],
)
def test_working_days_2026(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working
    assert cal.is_known(day)


def test_unknown_year_falls_back_to_weekdays_without_raising(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2027, 1, 1)) is True  # Friday (really a holiday: a guess)
    assert cal.is_working_day(date(2027, 1, 2)) is False  # Saturday
    assert cal.is_working_day(date(2027, 1, 4)) is True
    assert not cal.is_known(date(2027, 1, 1))
    assert not cal.is_known(date(2003, 12, 31))
    assert cal.is_working_day(date(2003, 12, 31)) is True  # Wednesday, before the package's data


def test_overrides_win_over_package_and_fallback() -> None:
    cal = WorkCalendar(
        {date(2027, 1, 1): False, date(2026, 11, 23): False, date(2026, 11, 22): True}
    )
    assert cal.is_working_day(date(2027, 1, 1)) is False
    assert cal.is_known(date(2027, 1, 1))
    assert cal.is_working_day(date(2026, 11, 23)) is False  # a Monday declared off
    assert cal.is_working_day(date(2026, 11, 22)) is True  # a Sunday declared on


def test_from_settings_parses_overrides_timezone_and_office_hours() -> None:
    cal = WorkCalendar.from_settings(
        CalendarSettings(overrides={"2027-01-01": False}),
        SlaSettings(office_hours=("08:30", "17:30")),
    )
    assert cal.overrides == {date(2027, 1, 1): False}
    assert cal.office_hours == OFFICE
    assert str(cal.tz) == "Asia/Shanghai"
    assert WorkCalendar.from_settings(CalendarSettings()).office_hours is None
    assert parse_hhmm("9:05") == time(9, 5)


def test_office_hours_must_open_before_closing() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(office_hours=(time(18), time(8)))


# --- the deadline rule, no office hours --------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (at(2026, 11, 20, 16), 1, at(2026, 11, 23, 16)),  # Friday 16:00 → Monday 16:00
        (at(2026, 11, 21, 10), 1, at(2026, 11, 24)),  # Saturday → the whole Monday
        (at(2026, 11, 20, 0, 0), 1, at(2026, 11, 21)),  # exactly midnight: the whole Friday
        (at(2026, 11, 23, 10), 3, at(2026, 11, 26, 10)),
        (at(2026, 11, 23, 10), 0, at(2026, 11, 23, 10)),
        (at(2026, 11, 21, 10), 0, at(2026, 11, 23)),  # n = 0 rolls to working time
        # Spring Festival 2026
        (at(2026, 2, 13, 16), 1, at(2026, 2, 14, 16)),  # Friday → the make-up Saturday
        (at(2026, 2, 14, 16), 1, at(2026, 2, 24, 16)),  # make-up Saturday → after the holiday
        (at(2026, 2, 14, 16), 2, at(2026, 2, 25, 16)),
        (at(2026, 2, 17, 10), 1, at(2026, 2, 25)),  # on a holiday: all of 02-24
        (at(2026, 2, 27, 10), 1, at(2026, 2, 28, 10)),  # Friday → make-up Saturday
        (at(2026, 2, 27, 10), 2, at(2026, 3, 2, 10)),
        (at(2026, 2, 12, 10), 7, at(2026, 2, 28, 10)),
        # Mid-autumn and National Day 2026
        (at(2026, 9, 19, 10), 1, at(2026, 9, 21)),  # Saturday → the make-up Sunday 09-20
        (at(2026, 9, 24, 15), 1, at(2026, 9, 28, 15)),  # Thursday → over Mid-autumn
        (at(2026, 9, 30, 15), 1, at(2026, 10, 8, 15)),
        (at(2026, 9, 30, 15), 3, at(2026, 10, 10, 15)),  # make-up Saturday 10-10 counts
        (at(2026, 9, 30, 15), 4, at(2026, 10, 12, 15)),  # Sunday 10-11 does not
        (at(2026, 10, 3, 11), 1, at(2026, 10, 9)),  # on the holiday: all of 10-08
    ],
)
def test_add_working_days(cal: WorkCalendar, start: datetime, n: int, due: datetime) -> None:
    result = cal.add_working_days(start, n)
    assert result == Deadline(due, False)
    assert result.at.tzinfo is not None


def test_utc_in_township_time_out(cal: WorkCalendar) -> None:
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Friday 16:00 in Shanghai
    due = cal.add_working_days(start, 1).at
    assert due == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert due.utcoffset() == timedelta(hours=8)
    # 2026-11-20 20:00 UTC is already Saturday 04:00 in Shanghai
    assert cal.add_working_days(datetime(2026, 11, 20, 20, tzinfo=UTC), 1).at == at(2026, 11, 24)


def test_naive_and_negative_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 11, 20, 16), 1)
    with pytest.raises(ValueError):
        cal.add_working_days(at(2026, 11, 20, 16), -1)


# --- into 2027, which chinesecalendar 1.11 does not know ---------------------------------------


def test_deadline_into_unknown_year_is_provisional(cal: WorkCalendar) -> None:
    assert cal.add_working_days(at(2026, 12, 30, 10), 1) == Deadline(at(2026, 12, 31, 10), False)
    assert cal.add_working_days(at(2026, 12, 30, 10), 2) == Deadline(at(2027, 1, 1, 10), True)
    assert cal.add_working_days(at(2026, 12, 31, 10), 1) == Deadline(at(2027, 1, 1, 10), True)
    assert cal.add_working_days(at(2026, 12, 30, 10), 3) == Deadline(at(2027, 1, 4, 10), True)
    assert cal.add_working_days(at(2027, 3, 5, 10), 1) == Deadline(at(2027, 3, 8, 10), True)


def test_unknown_year_overrides_are_honoured() -> None:
    cal = WorkCalendar({date(2027, 1, 1): False})
    # 01-01 is off by config, but 01-02..01-04 are guesses: still provisional.
    assert cal.add_working_days(at(2026, 12, 31, 10), 1) == Deadline(at(2027, 1, 4, 10), True)
    full = WorkCalendar(
        {
            date(2027, 1, 1): False,
            date(2027, 1, 2): False,
            date(2027, 1, 3): False,
            date(2027, 1, 4): True,
        }
    )
    assert full.add_working_days(at(2026, 12, 31, 10), 1) == Deadline(at(2027, 1, 4, 10), False)
    makeup = WorkCalendar({date(2027, 1, 1): False, date(2027, 1, 2): True})
    assert makeup.add_working_days(at(2026, 12, 31, 10), 1) == Deadline(at(2027, 1, 2, 10), False)


def test_calendar_days_ignore_working_days(cal: WorkCalendar) -> None:
    assert cal.add_calendar_days(at(2026, 2, 13, 10), 5) == Deadline(at(2026, 2, 18, 10), False)
    assert cal.add_calendar_days(at(2026, 12, 30, 10), 5) == Deadline(at(2027, 1, 4, 10), False)


# --- office hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (at(2026, 11, 20, 16), 1, at(2026, 11, 23, 16)),  # inside hours: same time Monday
        (at(2026, 11, 20, 18), 1, at(2026, 11, 23, 17, 30)),  # after closing → all of Monday
        (at(2026, 11, 20, 17, 30), 1, at(2026, 11, 23, 17, 30)),  # at closing: rolls too
        (at(2026, 11, 23, 7), 1, at(2026, 11, 23, 17, 30)),  # before opening: that day
        (at(2026, 11, 23, 8, 30), 1, at(2026, 11, 23, 17, 30)),
        (at(2026, 11, 21, 10), 1, at(2026, 11, 23, 17, 30)),  # Saturday
        (at(2026, 11, 21, 10), 2, at(2026, 11, 24, 17, 30)),
        (at(2026, 2, 13, 17), 1, at(2026, 2, 14, 17)),  # make-up Saturday has office hours
        (at(2026, 2, 13, 20), 1, at(2026, 2, 14, 17, 30)),
        (at(2026, 10, 1, 9), 1, at(2026, 10, 8, 17, 30)),
    ],
)
def test_add_working_days_with_office_hours(
    office: WorkCalendar, start: datetime, n: int, due: datetime
) -> None:
    assert office.add_working_days(start, n) == Deadline(due, False)


def test_working_time_helpers(office: WorkCalendar, cal: WorkCalendar) -> None:
    assert office.working_time_between(at(2026, 11, 20, 16), at(2026, 11, 23, 16)) == timedelta(
        hours=9
    )
    assert office.add_working_time(at(2026, 11, 20, 16), timedelta(hours=4, minutes=30)) == at(
        2026, 11, 23, 11, 30
    )
    assert cal.working_time_between(at(2026, 2, 14, 12), at(2026, 2, 24, 6)) == timedelta(hours=18)
    assert office.is_working_time(at(2026, 11, 23, 9))
    assert not office.is_working_time(at(2026, 11, 23, 18))
    assert not cal.is_working_time(at(2026, 10, 2, 12))
    assert office.roll_forward(at(2026, 11, 21, 12)) == at(2026, 11, 23, 8, 30)


# --- counting and walking days -----------------------------------------------------------------


def test_working_days_between(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2026, 11, 23), date(2026, 11, 30)) == 5
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 25)) == 3  # 13, 14, 24
    assert cal.working_days_between(date(2026, 2, 25), date(2026, 2, 13)) == -3
    assert cal.working_days_between(at(2026, 9, 30, 23), at(2026, 10, 11, 1)) == 4  # 30, 8, 9, 10
    assert cal.working_days_between(date(2026, 11, 23), date(2026, 11, 23)) == 0


def test_previous_and_before(cal: WorkCalendar) -> None:
    assert cal.previous_working_day(date(2026, 10, 8)) == date(2026, 9, 30)
    assert cal.previous_working_day(date(2026, 2, 24)) == date(2026, 2, 14)
    assert cal.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert cal.working_day_before(date(2026, 10, 12), 1) == (date(2026, 10, 10), False)
    assert cal.working_day_before(date(2026, 10, 12), 2) == (date(2026, 10, 9), False)
    assert cal.working_day_before(date(2026, 10, 12), 4) == (date(2026, 9, 30), False)
    assert cal.working_day_before(date(2027, 1, 4), 1) == (date(2027, 1, 1), True)
    assert cal.working_day_before(date(2027, 1, 5), 0) == (date(2027, 1, 5), True)
    with pytest.raises(ValueError):
        cal.working_day_before(date(2026, 10, 12), -1)


def test_next_working_morning(cal: WorkCalendar) -> None:
    assert cal.next_working_morning(at(2026, 2, 13, 10)) == at(2026, 2, 14, 9)
    assert cal.next_working_morning(at(2026, 2, 14, 10)) == at(2026, 2, 24, 9)
    assert cal.next_working_morning(at(2026, 11, 20, 8)) == at(2026, 11, 20, 9)
    assert cal.next_working_morning(at(2026, 11, 20, 9)) == at(2026, 11, 20, 9)
    assert cal.next_working_morning(at(2026, 10, 1, 8)) == at(2026, 10, 8, 9)
    assert cal.next_working_morning(at(2026, 11, 21, 8), time(8, 30)) == at(2026, 11, 23, 8, 30)
    # UTC input: 2026-11-20 02:00 UTC is 10:00 in Shanghai, after the morning
    assert cal.next_working_morning(datetime(2026, 11, 20, 2, tzinfo=UTC)) == at(2026, 11, 23, 9)


def test_last_working_morning_before(cal: WorkCalendar) -> None:
    assert cal.last_working_morning_before(at(2026, 11, 23, 16)) == at(2026, 11, 23, 9)
    assert cal.last_working_morning_before(at(2026, 11, 23, 9)) == at(2026, 11, 20, 9)
    assert cal.last_working_morning_before(at(2026, 2, 24, 8)) == at(2026, 2, 14, 9)
    assert cal.last_working_morning_before(at(2026, 2, 24, 8), after=at(2026, 2, 15)) is None
