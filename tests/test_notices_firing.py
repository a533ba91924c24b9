"""When notices fire: recurring slots with the clock advanced, T−n working-day reminders through
holidays and 调休 make-up days, quiet hours and holiday deferral, and idempotent re-runs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from notify.notice_service import NoticeDraft, create_notice, fire_due
from store.clock import utcnow
from store.db import transaction
from store.models import OutboxMessage
from store.notice_models import NoticeRun

SH = ZoneInfo("Asia/Shanghai")
STREET = {"grids": ["640323001"]}


@pytest.fixture
def services(settings):  # type: ignore[no-untyped-def]
    from services.container import build_services

    return build_services(settings)


def _create(session_factory, services, draft: NoticeDraft, at: datetime) -> int:  # type: ignore[no-untyped-def]
    with time_machine.travel(at, tick=False), transaction(session_factory) as session:
        notice, _ = create_notice(session, services, draft, author="zhaolei", source="chat",
                                  now=utcnow())
        return notice.id


def _runs(session_factory) -> list[NoticeRun]:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        return list(session.scalars(select(NoticeRun).order_by(NoticeRun.id)))


def _tick(session_factory, services, at: datetime, kinds=("send", "remind")) -> int:  # type: ignore[no-untyped-def]
    with time_machine.travel(at, tick=False):
        return fire_due(session_factory, services, kinds=kinds)


def test_weekly_notice_fires_each_monday_once_with_the_clock_advanced(session_factory, services) -> None:  # type: ignore[no-untyped-def]
    _create(session_factory, services, NoticeDraft(
        title="安全巡查", body="请巡查楼道", audience=STREET, kind="cron", cron="0 9 * * mon",
        schedule_text="每周一 09:00"), datetime(2026, 12, 1, 10, 0, tzinfo=SH))
    fired_at: list[datetime] = []
    # every 30 s over two weeks would be slow: tick every 10 minutes, and every 30 s from 08:50
    # to 09:10 every day. A run fired early, late or twice shows at the next tick wherever it
    # falls; around 09:00 a slot fired 30 s off shows too.
    t = datetime(2026, 12, 1, 10, 5, tzinfo=SH)
    end = datetime(2026, 12, 15, 12, 0, tzinfo=SH)
    while t < end:
        if _tick(session_factory, services, t):
            fired_at.append(t)
        near_nine = time(8, 50) <= t.time() < time(9, 10)
        t += timedelta(seconds=30) if near_nine else timedelta(minutes=10)
    assert [f.strftime("%Y-%m-%d %H:%M") for f in fired_at] == ["2026-12-07 09:00",
                                                                "2026-12-14 09:00"]
    runs = _runs(session_factory)
    assert [r.run_key for r in runs] == ["send:20261207T0100Z", "send:20261214T0100Z"]
    assert all(r.deliver_at == r.scheduled_for for r in runs)  # Monday 09:00 is working time


def test_recurring_slot_in_quiet_hours_or_on_a_holiday_is_deferred_unless_urgent(session_factory, services) -> None:  # type: ignore[no-untyped-def]
    _create(session_factory, services, NoticeDraft(
        title="夜间提醒", body="关好门窗", audience=STREET, kind="cron", cron="30 22 * * *"),
        datetime(2026, 9, 30, 10, 0, tzinfo=SH))
    _create(session_factory, services, NoticeDraft(
        title="防汛", body="紧急转移", audience=STREET, kind="cron", cron="30 22 * * *",
        urgent=True), datetime(2026, 9, 30, 10, 0, tzinfo=SH))
    # Wednesday 2026-09-30 22:30: quiet hours, and the National Day holiday follows (10-01..07)
    assert _tick(session_factory, services, datetime(2026, 9, 30, 22, 30, 20, tzinfo=SH)) == 2
    normal, urgent = _runs(session_factory)
    assert normal.deliver_at.astimezone(SH) == datetime(2026, 10, 8, 9, 0, tzinfo=SH)
    assert urgent.deliver_at.astimezone(SH) == datetime(2026, 9, 30, 22, 30, 20, tzinfo=SH)
    with session_factory() as session:
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"notice:{normal.notice_id}:%"))).all()
        assert rows and {r.next_attempt_at for r in rows} == {normal.deliver_at}


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        # National Day + Mid-Autumn 2026: 09-25 and 10-01..07 off, Sunday 09-20 a make-up day
        (date(2026, 10, 9), ["2026-09-22", "2026-09-29", "2026-10-08"]),
        # Spring Festival 2026: 02-15..23 off, Saturday 02-14 a make-up working day
        (date(2026, 2, 24), ["2026-02-06", "2026-02-12", "2026-02-14"]),
    ],
)
def test_deadline_reminders_land_on_working_days(session_factory, services, deadline, expected) -> None:  # type: ignore[no-untyped-def]
    created = datetime.combine(deadline - timedelta(days=40), datetime.min.time(), tzinfo=SH)
    _create(session_factory, services, NoticeDraft(
        title="医保缴费", audience=STREET, kind="none", deadline=deadline, reminders=(7, 3, 1)),
        created.replace(hour=10))
    fired: list[str] = []
    day = created.date() + timedelta(days=1)
    while day <= deadline + timedelta(days=2):
        for hour, minute in ((8, 59), (9, 0), (9, 1), (15, 0)):
            at = datetime(day.year, day.month, day.day, hour, minute, 30, tzinfo=SH)
            if _tick(session_factory, services, at, kinds=("remind",)):
                fired.append(f"{day.isoformat()} {hour:02d}:{minute:02d}")
        day += timedelta(days=1)
    assert [f.split()[0] for f in fired] == expected
    assert all(f.endswith("09:00") for f in fired)
    assert all(services.calendar.is_working_day(date.fromisoformat(d)) for d in expected)
    assert [r.run_key for r in _runs(session_factory)] == ["remind:T-7", "remind:T-3",
                                                           "remind:T-1"]


def test_downtime_fires_the_missed_slot_once_and_never_repeats(session_factory, services) -> None:  # type: ignore[no-untyped-def]
    _create(session_factory, services, NoticeDraft(
        title="周报", body="请上报", audience=STREET, kind="cron", cron="0 9 * * mon"),
        datetime(2026, 12, 1, 10, 0, tzinfo=SH))
    # the scheduler is down from Sunday to Monday 11:00 (inside the catch-up grace)
    assert _tick(session_factory, services, datetime(2026, 12, 6, 12, 0, tzinfo=SH)) == 0
    assert _tick(session_factory, services, datetime(2026, 12, 7, 11, 0, tzinfo=SH)) == 1
    for minutes in (1, 30, 300):
        later = datetime(2026, 12, 7, 11, 0, tzinfo=SH) + timedelta(minutes=minutes)
        assert _tick(session_factory, services, later) == 0
    # down for a whole day: the stale Monday slot is skipped, not sent on Tuesday afternoon
    assert _tick(session_factory, services, datetime(2026, 12, 15, 16, 0, tzinfo=SH)) == 0
    assert [r.run_key for r in _runs(session_factory)] == ["send:20261207T0100Z"]


def test_once_notice_missed_during_downtime_is_sent_late_exactly_once(session_factory, services) -> None:  # type: ignore[no-untyped-def]
    notice_id = _create(session_factory, services, NoticeDraft(
        title="讲座", body="周三下午讲座", audience=STREET, kind="once",
        run_at=datetime(2026, 12, 2, 9, 0, tzinfo=SH)), datetime(2026, 12, 1, 10, 0, tzinfo=SH))
    assert _tick(session_factory, services, datetime(2026, 12, 2, 8, 59, tzinfo=SH)) == 0
    assert _tick(session_factory, services, datetime(2026, 12, 2, 13, 0, tzinfo=SH)) == 1
    assert _tick(session_factory, services, datetime(2026, 12, 2, 13, 1, tzinfo=SH)) == 0
    with session_factory() as session:
        keys = session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key.like(f"notice:{notice_id}:%"))).all()
    assert sorted(keys) == sorted(
        [f"notice:{notice_id}:run:send:once:chat:{i}" for i in range(1, 5)]
        + [f"notice:{notice_id}:run:send:once:app:0"])
