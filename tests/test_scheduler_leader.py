"""The scheduler: one leader among several instances on one database, jobs persisted in the
SQLAlchemy job store across restarts, and a live scheduler firing a notice on a faked clock."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, text

from schedules.context import JobContext
from schedules.jobs import JOBS, JobSpec
from schedules.scheduler import start_scheduler
from store.db import transaction
from store.models import OutboxMessage
from store.notice_models import NoticeRun
from store.outbox import enqueue

SH = ZoneInfo("Asia/Shanghai")
PROBE = JobSpec("test.probe", {"trigger": "interval", "seconds": 0.05},
                "tests.test_scheduler_leader:probe", misfire_grace_time=5)
POLL = 0.05  # how often a waiting scheduler tries the leader lock
# A quiet spell (no job run twice, none by a stopped leader) lasts this long: several probe
# intervals and lock polls, so a second leader or a run after stopping would show.
QUIET = 6 * max(PROBE.trigger["seconds"], POLL)


def probe(ctx: JobContext) -> None:
    """A job that leaves a trace naming the scheduler that ran it."""
    with transaction(ctx.session_factory) as session:
        enqueue(session, key=f"probe:{ctx.holder}:{uuid.uuid4().hex}", channel="app",
                target="nobody", msgtype="text", payload={"text": {"content": "probe"}})


def _runtime(settings, engine):  # type: ignore[no-untyped-def]
    from runtime import build_runtime

    return build_runtime(settings, engine=engine)


def _holders(session_factory) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        keys = session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key.like("probe:%"))).all()
    counts: dict[str, int] = {}
    for key in keys:
        holder = key.split(":", 1)[1].rsplit(":", 1)[0]
        counts[holder] = counts.get(holder, 0) + 1
    return counts


def _wait(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_two_schedulers_on_one_database_run_each_job_once(settings, engine, session_factory) -> None:  # type: ignore[no-untyped-def]
    first = _runtime(settings, engine)
    second = _runtime(settings, engine)  # its own sessions and services: another "process"
    stop_first = start_scheduler(first, wait_for_lock=True, specs=[PROBE], poll_seconds=POLL)
    stop_second = start_scheduler(second, wait_for_lock=False, specs=[PROBE], poll_seconds=POLL)
    try:
        assert _wait(lambda: sum(_holders(session_factory).values()) >= 8)
        time.sleep(QUIET)
        holders = _holders(session_factory)
        assert len(holders) == 1, f"jobs ran in two schedulers at once: {holders}"
        leader = next(iter(holders))
        # the leader stops: the waiting one takes over and runs the jobs from then on
        stop_first()
        stop_first = lambda: None  # noqa: E731
        assert _wait(lambda: len(_holders(session_factory)) == 2)
        before = _holders(session_factory)[leader]
        time.sleep(QUIET)
        assert _holders(session_factory)[leader] == before  # the old leader ran nothing more
    finally:
        stop_second()
        stop_first()


def test_restart_keeps_the_jobs_without_duplicates(settings, engine, session_factory) -> None:  # type: ignore[no-untyped-def]
    runtime = _runtime(settings, engine)
    slow = dataclasses.replace(PROBE, trigger={"trigger": "interval", "hours": 1})
    specs = [*JOBS, slow]
    stop = start_scheduler(runtime, wait_for_lock=True, specs=specs, poll_seconds=0.2)
    time.sleep(0.5)
    stop()
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).all())
    assert set(stored) == {s.id for s in specs}
    stop = start_scheduler(runtime, wait_for_lock=True, specs=specs, poll_seconds=0.2)
    time.sleep(0.5)
    stop()
    with engine.connect() as connection:
        again = dict(connection.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).all())
    assert set(again) == set(stored)
    # an unchanged job keeps its next run time across the restart (not pushed back, not rerun)
    assert again[slow.id] == stored[slow.id]
    # a job no longer listed is removed at the next start
    stop = start_scheduler(runtime, wait_for_lock=True, specs=list(JOBS), poll_seconds=0.2)
    stop()
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(text("SELECT id FROM apscheduler_jobs"))}
    assert ids == {s.id for s in JOBS}


@pytest.mark.parametrize("restart", [False, True])
def test_live_scheduler_fires_a_weekly_notice_on_time_once(settings, engine, session_factory, restart) -> None:  # type: ignore[no-untyped-def]
    """The real scheduler, on a clock set to just before Monday 09:00 (time-machine)."""
    from notify.notice_service import NoticeDraft, create_notice
    from services.container import build_services

    services = build_services(settings)
    every = 0.1  # the notices job runs this often: fires once, then finds nothing more due
    fast = [dataclasses.replace(s, trigger={"trigger": "interval", "seconds": every})
            if s.id == "notices.fire" else s for s in JOBS if s.id != "outbox.deliver"]
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=SH), tick=False), \
            transaction(session_factory) as session:
        create_notice(session, services, NoticeDraft(
            title="周一例会", body="9点例会", audience={"grids": ["640323001"]}, kind="cron",
            cron="0 9 * * mon"), author="zhaolei", source="chat")
    with time_machine.travel(datetime(2026, 12, 7, 8, 59, 58, tzinfo=SH), tick=True):
        stop = start_scheduler(_runtime(settings, engine), wait_for_lock=True, specs=fast,
                               poll_seconds=0.2)
        try:
            assert not _count_runs(session_factory)
            assert _wait(lambda: _count_runs(session_factory) == 1, timeout=20)
            if restart:
                stop()
                stop = start_scheduler(_runtime(settings, engine), wait_for_lock=True,
                                       specs=fast, poll_seconds=0.2)
            time.sleep(5 * every)
            assert _count_runs(session_factory) == 1
        finally:
            stop()
    with session_factory() as session:
        run = session.scalar(select(NoticeRun))
        assert run.run_key == "send:20261207T0100Z"
        assert run.fired_at.astimezone(SH) >= datetime(2026, 12, 7, 9, 0, tzinfo=SH)


def _count_runs(session_factory) -> int:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(NoticeRun)) or 0
