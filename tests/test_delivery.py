"""The outbox worker: once per row, within WeCom's limits, through outages, kills and rivals."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from schedules.delivery import DeliveryPolicy, OutboxWorker, revive_dead
from settings.model import WeComSettings
from store.clock import utcnow
from store.db import make_engine, make_session_factory
from store.models import OutboxMessage
from tests.fixtures.rows import add_rows
from wecom.sender import Sender

pytest_plugins = ["tests.fixtures.transport"]


def worker(db, settings: WeComSettings, name: str = "w1", **kw) -> OutboxWorker:
    factory = kw.pop("factory", None) or db.factory
    return OutboxWorker(factory, Sender(settings), settings, name, rng=random.Random(7), **kw)


def statuses(db) -> Counter[str]:
    return Counter(row.status for row in db.rows())


def drain(db, workers: list[OutboxWorker], clock=None, step: float = 0.0, rounds: int = 200):
    """Run rounds (shifting the clock ``step`` s between them) until nothing is pending."""
    for _ in range(rounds):
        for w in workers:
            w.run_once(100)
        if statuses(db)["pending"] == 0:
            return
        if clock is not None:
            clock.shift(step)
    raise AssertionError(f"still pending: {statuses(db)}")


def test_delivers_each_row_once(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 10, target=lambda i: f"user{i}")
    w = worker(outbox_db, wecom_settings)
    assert w.run_once(50) == 10
    assert w.run_once(50) == 0
    rows = outbox_db.rows()
    assert {r.status for r in rows} == {"sent"} and all(r.sent_at and r.attempts == 1 for r in rows)
    assert all(r.locked_by is None and r.recipient_key == f"app:{r.target}" for r in rows)
    assert [len(state.messages_for(f"user{i}")) for i in range(10)] == [1] * 10


def test_invaliduser_is_recorded_as_failed(outbox_db, sim, wecom_settings):
    state, _ = sim
    state.known_users = {"zhangsan"}
    add_rows(outbox_db.factory, 1, target="ghost")
    add_rows(outbox_db.factory, 1, target="zhangsan")
    worker(outbox_db, wecom_settings).run_once(10)
    ghost, ok = outbox_db.rows()
    assert ghost.status == "failed" and "invaliduser" in (ghost.last_error or "")
    assert ok.status == "sent"


def test_rate_limit_answer_backs_off(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 1)
    state.fail_next(1, 45009, path="message/send")
    with time_machine.travel(time.time(), tick=True) as clock:
        w = worker(outbox_db, wecom_settings)
        assert w.run_once(10) == 0
        (row,) = outbox_db.rows()
        assert row.status == "pending" and row.attempts == 1 and "45009" in row.last_error
        assert row.next_attempt_at >= utcnow() + timedelta(seconds=55)
        assert w.run_once(10) == 0  # not due yet
        clock.shift(61)
        assert w.run_once(10) == 1
    assert len(state.messages_for("zhangsan")) == 1


def test_outage_then_recovery_delivers_everything_once(outbox_db, sim, wecom_settings):
    state, _ = sim
    state.robot_keys = {"robot-1"}
    add_rows(outbox_db.factory, 20, target=lambda i: f"user{i}")
    add_rows(outbox_db.factory, 5, channel="webhook", target="robot-1", prefix="r")
    with time_machine.travel(time.time(), tick=True) as clock:
        state.outage(seconds=3600)  # WeCom down for an hour
        w = worker(outbox_db, wecom_settings)
        for _ in range(12):  # the worker keeps trying through the hour …
            assert w.run_once(100) == 0
            clock.shift(300)
        assert statuses(outbox_db) == {"pending": 25}  # … nothing lost, nothing dead
        drain(outbox_db, [w], clock, step=120)
    assert statuses(outbox_db) == {"sent": 25}
    assert [len(state.messages_for(f"user{i}")) for i in range(20)] == [1] * 20
    assert len(state.messages_for_robot("robot-1")) == 5
    assert state.dropped == []


def _killed_worker(url: str, api_base: str, corp: str, secret: str) -> None:
    """A worker process that gets killed while its first HTTP call hangs."""
    settings = WeComSettings(corp, 1000002, secret, "t", "a" * 43, api_base, timeout_seconds=30)
    factory = make_session_factory(make_engine(url))
    OutboxWorker(factory, Sender(settings), settings, "doomed").run_once(100)


def test_worker_killed_mid_batch_then_rest_delivered_once(outbox_db, sim, wecom_settings):
    if outbox_db.name == "postgresql":
        pytest.skip("the killed process needs the per-test schema; covered by the lease test")
    state, base = sim
    add_rows(outbox_db.factory, 12, target=lambda i: f"user{i}")
    state.hang_seconds = 20
    state.outage(seconds=60, mode="hang")
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=_killed_worker, args=(outbox_db.url, base, state.corp_id, state.secret)
    )
    proc.start()
    deadline = time.time() + 30
    while time.time() < deadline and not any(r.locked_by for r in outbox_db.rows()):
        time.sleep(0.1)
    time.sleep(0.5)  # the first send is now hanging inside WeCom
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    state.recover()
    rows = outbox_db.rows()
    assert all(r.locked_by == "doomed" and r.status == "pending" for r in rows)
    with time_machine.travel(time.time(), tick=True) as clock:
        rescuer = worker(outbox_db, wecom_settings, "rescuer")
        assert rescuer.run_once(100) == 0  # the dead worker's lease still holds
        clock.shift(6 * 30 + 31)
        assert rescuer.run_once(100) == 12
    assert [len(state.messages_for(f"user{i}")) for i in range(12)] == [1] * 12


def test_claimed_rows_of_a_dead_worker_return_after_the_lease(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 10, target=lambda i: f"user{i}")
    with time_machine.travel(time.time(), tick=True) as clock:
        doomed = worker(outbox_db, wecom_settings, "doomed")
        claimed = doomed._claim(4)  # claimed, then the process died before sending
        assert len(claimed) == 4
        rescuer = worker(outbox_db, wecom_settings, "rescuer")
        assert rescuer.run_once(100) == 6
        assert rescuer.run_once(100) == 0
        clock.shift(rescuer.lease.total_seconds() + 1)
        assert rescuer.run_once(100) == 4
    assert statuses(outbox_db) == {"sent": 10}
    assert [len(state.messages_for(f"user{i}")) for i in range(10)] == [1] * 10


def test_parallel_workers_never_deliver_a_row_twice(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 160, target=lambda i: f"user{i}")
    workers = [
        worker(outbox_db, wecom_settings, f"w{n}", factory=outbox_db.new_factory())
        for n in range(4)
    ]
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(w: OutboxWorker) -> None:
        start.wait()
        try:
            while w.run_once(10) or w.last_claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert statuses(outbox_db) == {"sent": 160}
    assert Counter(d.target for d in state.delivered) == {f"user{i}": 1 for i in range(160)}
    assert len(state.calls_to("message/send")) == 160


def test_member_and_robot_limits_are_never_exceeded(outbox_db, sim, wecom_settings):
    state, _ = sim
    state.robot_keys = {"robot-1"}
    add_rows(outbox_db.factory, 70, target="zhangsan")
    add_rows(outbox_db.factory, 5, target="zhangsan|lisi", prefix="broadcast")
    add_rows(outbox_db.factory, 45, channel="webhook", target="robot-1", prefix="robot")
    with time_machine.travel(time.time(), tick=True) as clock:
        workers = [
            worker(outbox_db, wecom_settings, f"w{n}", factory=outbox_db.new_factory())
            for n in range(2)
        ]
        drain(outbox_db, workers, clock, step=15)
    assert state.dropped == []
    assert not [c for c in state.calls if c.errcode == 45009]
    assert len(state.messages_for("zhangsan")) == 75
    assert len(state.messages_for("lisi")) == 5
    assert len(state.messages_for_robot("robot-1")) == 45
    times = sorted(d.at for d in state.messages_for("zhangsan"))
    assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= 30


def test_hourly_member_limit_defers_to_the_next_window(outbox_db, sim, wecom_settings):
    state, _ = sim
    state.member_per_hour = 40
    settings = replace(wecom_settings, member_per_hour=40)
    add_rows(outbox_db.factory, 50, target="zhangsan")
    with time_machine.travel(time.time(), tick=True) as clock:
        w = worker(outbox_db, settings)
        for _ in range(8):
            w.run_once(100)
            clock.shift(61)
        assert statuses(outbox_db) == {"sent": 40, "pending": 10}
        waiting = [r for r in outbox_db.rows() if r.status == "pending"]
        assert all(r.next_attempt_at > utcnow() + timedelta(minutes=50) for r in waiting)
        clock.shift(3600)
        drain(outbox_db, [w], clock, step=61)
    assert state.dropped == [] and len(state.messages_for("zhangsan")) == 50


def test_dead_letter_after_max_attempts_alerts_admins(outbox_db, sim, wecom_settings):
    state, _ = sim
    (row_id,) = add_rows(outbox_db.factory, 1)
    policy = DeliveryPolicy(max_attempts=3, backoff_base=10, backoff_cap=20)
    with time_machine.travel(time.time(), tick=True) as clock:
        state.outage(seconds=600, mode="busy")
        w = worker(outbox_db, wecom_settings, admin_userids=["admin1", "admin2"], policy=policy)
        for _ in range(3):
            w.run_once(10)
            clock.shift(30)
        with outbox_db.factory() as session:
            dead = session.get(OutboxMessage, row_id)
            alert = session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.idempotency_key == f"outbox-dead:{row_id}"
                )
            )
        assert dead.status == "dead" and dead.attempts == 3 and "-1" in dead.last_error
        assert alert is not None and alert.urgent and alert.target == "admin1|admin2"
        state.recover()
        assert w.run_once(10) == 1  # the alert; the dead row stays dead
        assert "outbox #" in state.messages_for("admin1")[0].content
        assert state.messages_for("zhangsan") == []
        assert revive_dead(outbox_db.factory, [row_id]) == 1
        assert w.run_once(10) == 1
    assert len(state.messages_for("zhangsan")) == 1


def test_urgent_rows_go_first(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 3, prefix="normal")
    add_rows(outbox_db.factory, 1, prefix="urgent", urgent=True)
    worker(outbox_db, wecom_settings).run_once(1)
    assert state.messages_for("zhangsan")[0].content == "urgent message 0"


def test_token_expiry_mid_run_one_refresh(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 5, target=lambda i: f"user{i}")
    w = worker(outbox_db, wecom_settings)
    assert w.run_once(2) == 2
    state.expire_tokens()
    assert w.run_once(10) == 3
    assert state.token_fetches == 2 and statuses(outbox_db) == {"sent": 5}


def test_run_forever_wakes_on_demand(outbox_db, sim, wecom_settings):
    state, _ = sim
    w = worker(outbox_db, wecom_settings)
    stop, wake = threading.Event(), threading.Event()
    thread = threading.Thread(target=w.run_forever, args=(stop, wake, 60.0))
    thread.start()
    try:
        time.sleep(0.3)  # now idle for a minute unless woken
        add_rows(outbox_db.factory, 1)
        wake.set()
        deadline = time.time() + 5
        while time.time() < deadline and not state.messages_for("zhangsan"):
            time.sleep(0.05)
        assert len(state.messages_for("zhangsan")) == 1
    finally:
        stop.set()
        wake.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_claim_counts_a_busy_recipients_hour_instead_of_reading_it(outbox_db, sim,
                                                                     wecom_settings):
    """A grid worker far below the caps with 600 attempts in the hour: the claim counts them in
    SQL (a row per recipient), it does not read 600 times; the cards still go, and a recipient
    at its minute cap still waits."""
    from sqlalchemy import update

    state, _ = sim
    settings = replace(wecom_settings, member_per_minute=30, member_per_hour=1000)
    old = add_rows(outbox_db.factory, 600, target="zhangsan", prefix="earlier")
    add_rows(outbox_db.factory, 29, target="lisi", prefix="lisi-earlier")
    now = utcnow()
    with outbox_db.factory() as session, session.begin():
        for n, row_id in enumerate(old):  # spread over the last 50 minutes, none in the minute
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                status="sent", last_attempt_at=now - timedelta(seconds=70 + 4 * n)))
        session.execute(update(OutboxMessage).where(OutboxMessage.target == "lisi").values(
            status="sent", last_attempt_at=now - timedelta(seconds=20)))  # 29 in the minute
    add_rows(outbox_db.factory, 5, target="zhangsan", prefix="new")
    add_rows(outbox_db.factory, 3, target="lisi", prefix="lisi-new")
    w = worker(outbox_db, settings)
    with outbox_db.factory() as session:
        candidates = list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.status == "pending").order_by(OutboxMessage.id)))
        windows = w._load_windows(session, candidates, utcnow())
    assert windows.inside("app:zhangsan", windows.hour, utcnow()) == 600
    assert windows.times.get("app:zhangsan", []) == []  # counted, not read
    assert len(windows.times["app:lisi"]) == 29  # near its minute cap: its times were read
    assert windows.wait_until(windows.limits(candidates[-1]), utcnow()) is None  # 30th fits
    w.run_once(20)
    assert len(state.messages_for("zhangsan")) == 5
    assert len(state.messages_for("lisi")) == 1  # the 30th of the minute; two wait
    waiting = [r for r in outbox_db.rows() if r.target == "lisi" and r.status == "pending"]
    assert len(waiting) == 2 and all(r.next_attempt_at > utcnow() for r in waiting)
