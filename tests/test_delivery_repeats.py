"""Fewer repeats after a crash: outcomes recorded through a database blip, and WeCom's duplicate
check (faithful in the simulator) dropping an app message re-sent after a lost lease."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import requests
import time_machine
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from schedules.delivery import DeliveryPolicy, OutboxWorker
from settings.model import WeComSettings
from tests.fixtures.rows import add_rows
from wecom.sender import Sender
from wecom.simulator import SimulatorState

pytest_plugins = ["tests.fixtures.transport"]


def worker(factory, settings: WeComSettings, name: str, **kw) -> OutboxWorker:
    w = OutboxWorker(factory, Sender(settings), settings, name, rng=random.Random(7), **kw)
    w.sleep = lambda seconds: None  # back-off waits are counted, not slept
    return w


@contextmanager
def failing_outcomes(db, engine: Engine, times: int | None) -> Iterator[list[str]]:
    """The connection fails for real when ``engine`` records a sent row: for the next ``times``
    such writes (all of them while the block lasts if None). PostgreSQL: the server terminates
    the backend; SQLite: the connection is closed under the session. Yields one entry per fault."""
    faults: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if not (statement.startswith("UPDATE outbox") and "sent_at" in statement):
            return
        if times is not None and len(faults) >= times:
            return
        raw = conn.connection.dbapi_connection
        if db.name == "postgresql":
            with db.engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"),
                              {"pid": raw.info.backend_pid})
            faults.append("backend terminated")
        else:
            raw.close()
            faults.append("connection closed")

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield faults
    finally:
        event.remove(engine, "before_cursor_execute", before)


# -- (a) the outcome survives a database blip --------------------------------------------------


def test_sent_is_recorded_through_a_database_blip(outbox_db, sim, wecom_settings, caplog):
    state, _ = sim
    add_rows(outbox_db.factory, 1, target="zhangsan")
    engine = outbox_db.make_engine()
    from store.db import make_session_factory

    w = worker(make_session_factory(engine), wecom_settings, "w1")
    waits: list[float] = []
    w.sleep = waits.append
    with caplog.at_level(logging.WARNING, "schedules.delivery"), \
            failing_outcomes(outbox_db, engine, times=2) as faults:
        assert w.run_once(10) == 1
    assert len(faults) == 2
    assert waits == [0.2, 0.4]  # back-off between the tries
    assert sum("recording the outcome failed" in r.getMessage() for r in caplog.records) == 2
    (row,) = outbox_db.rows()
    assert row.status == "sent" and row.attempts == 1 and row.locked_by is None
    assert len(state.messages_for("zhangsan")) == 1
    assert w.run_once(10) == 0  # nothing left to send again


def test_a_longer_outage_gives_up_bounded_and_the_lease_plus_wecom_keep_one_delivery(
        outbox_db, sim, wecom_settings, caplog):
    state, _ = sim
    add_rows(outbox_db.factory, 3, target=lambda i: f"user{i}")
    engine = outbox_db.make_engine()
    from store.db import make_session_factory

    policy = DeliveryPolicy(record_retry_first=0.5, record_retry_cap=2.0, record_retry_total=5.0)
    doomed = worker(make_session_factory(engine), wecom_settings, "doomed", policy=policy)
    waits: list[float] = []
    doomed.sleep = waits.append
    with time_machine.travel(time.time(), tick=True) as clock:
        with caplog.at_level(logging.ERROR, "schedules.delivery"), \
                failing_outcomes(outbox_db, engine, times=None) as faults, \
                pytest.raises(DBAPIError):
            doomed.run_once(10)
        assert waits == [0.5, 1.0, 2.0] and len(faults) == 4  # bounded: 3.5 s of back-off
        assert any("could not record sent" in r.getMessage() for r in caplog.records)
        # app messages WeCom drops repeats of: sent, their outcomes kept for one record; that
        # record failed, the round ended there
        assert [len(state.messages_for(f"user{i}")) for i in range(3)] == [1, 1, 1]
        assert all(r.status == "pending" and r.locked_by == "doomed" for r in outbox_db.rows())
        rescuer = worker(outbox_db.factory, wecom_settings, "rescuer")
        assert rescuer.run_once(10) == 0  # the lease still holds
        clock.shift(rescuer.lease.total_seconds() + 1)
        assert rescuer.run_once(10) == 3
    assert {r.status for r in outbox_db.rows()} == {"sent"}
    assert [len(state.messages_for(f"user{i}")) for i in range(3)] == [1, 1, 1]
    assert [r.body["touser"] for r in state.repeated] == ["user0", "user1", "user2"]


def test_a_robot_message_in_an_outage_is_the_only_one_sent_before_the_round_ends(
        outbox_db, sim, wecom_settings):
    """At-least-once channels are recorded one by one: the round ends at the first record that
    cannot be written, before another robot message goes out."""
    state, _ = sim
    add_rows(outbox_db.factory, 3, channel="webhook", target=lambda i: f"robot-{i}")
    engine = outbox_db.make_engine()
    from store.db import make_session_factory

    policy = DeliveryPolicy(record_retry_first=0.5, record_retry_cap=2.0, record_retry_total=1.0)
    doomed = worker(make_session_factory(engine), wecom_settings, "doomed", policy=policy)
    with time_machine.travel(time.time(), tick=True), \
            failing_outcomes(outbox_db, engine, times=None), pytest.raises(DBAPIError):
        doomed.run_once(10)
    assert [len(state.messages_for_robot(f"robot-{i}")) for i in range(3)] == [1, 0, 0]


def _commits_and_sends(db, engine: Engine, w: OutboxWorker) -> list[str]:
    """The order of ``w``'s sends and of the commits of the rows' outcomes in one round."""
    order: list[str] = []
    deliver = w.sender.deliver

    def send(row):  # noqa: ANN001
        order.append(f"send {row.channel}")
        return deliver(row)

    def before(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if statement.startswith("UPDATE outbox") and "sent_at" in statement:
            order.append("record")

    def commit(conn):  # noqa: ANN001
        if order and order[-1] == "record":
            order.append("commit")

    w.sender.deliver = send
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)
    try:
        w.run_once(10)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", commit)
    return order


def test_app_outcomes_are_recorded_together_and_a_robot_message_at_once(
        outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 2, target=lambda i: f"user{i}")
    add_rows(outbox_db.factory, 1, channel="webhook", target="robot-1")
    add_rows(outbox_db.factory, 2, target=lambda i: f"user{i + 2}", prefix="later")
    engine = outbox_db.make_engine()
    from store.db import make_session_factory

    w = worker(make_session_factory(engine), wecom_settings, "w1")
    order = _commits_and_sends(outbox_db, engine, w)
    # the app rows wait for one record; the robot's row is recorded (with them: one UPDATE for
    # the rows sent) before anything else is sent; the last two app rows are recorded together
    # at the round's end
    assert order == ["send app", "send app", "send webhook", "record", "commit",
                     "send app", "send app", "record", "commit"]
    assert {r.status for r in outbox_db.rows()} == {"sent"}
    assert [len(state.messages_for(f"user{i}")) for i in range(4)] == [1, 1, 1, 1]


def test_a_group_of_app_outcomes_is_recorded_after_its_size_or_its_wait(
        outbox_db, sim, wecom_settings, monkeypatch):
    from schedules import delivery

    add_rows(outbox_db.factory, 5, target=lambda i: f"user{i}")
    engine = outbox_db.make_engine()
    from store.db import make_session_factory

    monkeypatch.setattr(delivery, "RECORD_GROUP", 2)
    w = worker(make_session_factory(engine), wecom_settings, "w1")
    order = _commits_and_sends(outbox_db, engine, w)
    assert [step for step in order if step != "record"] == [
        "send app", "send app", "commit", "send app", "send app", "commit", "send app", "commit"]

    add_rows(outbox_db.factory, 3, target=lambda i: f"user{i + 5}", prefix="slow")
    monkeypatch.setattr(delivery, "RECORD_GROUP", 20)
    monkeypatch.setattr(delivery, "RECORD_WAIT", 0.0)  # each is already as old as allowed
    order = _commits_and_sends(outbox_db, engine, w)
    assert [step for step in order if step != "record"] == ["send app", "commit"] * 3
    assert {r.status for r in outbox_db.rows()} == {"sent"}


# -- (b) a send whose outcome was lost: WeCom drops the repeat ----------------------------------


def _killed_after_sending(db, settings: WeComSettings, count: int = 1) -> None:
    """A worker claims and sends, then dies before recording anything."""
    doomed = worker(db.factory, settings, "doomed")
    for row in doomed._claim(count):
        assert doomed.sender.deliver(row).ok


def test_app_message_resent_after_a_lost_lease_is_shown_once(outbox_db, sim, wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 2, target=lambda i: f"user{i}")
    with time_machine.travel(time.time(), tick=True) as clock:
        _killed_after_sending(outbox_db, wecom_settings, count=2)
        clock.shift(wecom_settings.timeout_seconds * 6 + 31)  # the lease runs out
        rescuer = worker(outbox_db.factory, wecom_settings, "rescuer")
        assert rescuer.run_once(10) == 2
    assert len(state.calls_to("message/send")) == 4  # sent twice each …
    assert [len(state.messages_for(f"user{i}")) for i in range(2)] == [1, 1]  # … shown once
    assert len(state.repeated) == 2
    assert {r.status for r in outbox_db.rows()} == {"sent"}
    for row in outbox_db.rows():
        assert row.payload["enable_duplicate_check"] == 1
        assert row.payload["duplicate_check_interval"] == 1800


def test_robot_message_resent_after_a_lost_lease_arrives_twice(outbox_db, sim, wecom_settings):
    """What stays at-least-once (docs/deploy.md): a group robot has no duplicate check."""
    state, _ = sim
    add_rows(outbox_db.factory, 1, channel="webhook", target="robot-1")
    with time_machine.travel(time.time(), tick=True) as clock:
        _killed_after_sending(outbox_db, wecom_settings)
        clock.shift(wecom_settings.timeout_seconds * 6 + 31)
        assert worker(outbox_db.factory, wecom_settings, "rescuer").run_once(10) == 1
    assert len(state.messages_for_robot("robot-1")) == 2
    assert "enable_duplicate_check" not in outbox_db.rows()[0].payload


def test_the_same_text_meant_twice_is_not_swallowed(outbox_db, sim, wecom_settings):
    state, _ = sim
    ids = []
    for _ in range(2):  # e.g. the same help text asked for twice within the hour
        ids += add_rows(outbox_db.factory, 1, target="zhangsan", prefix="same")
    # add_rows numbers its texts from 0: both rows say "same message 0"
    w = worker(outbox_db.factory, wecom_settings, "w1")
    assert w.run_once(1) == 1
    assert w.run_once(1) == 1
    first, second = outbox_db.rows()
    assert first.payload["text"] == second.payload["text"]
    assert first.payload["enable_duplicate_check"] == 1
    assert second.payload["enable_duplicate_check"] == 0  # a twin went lately: no check
    assert [m.content for m in state.messages_for("zhangsan")] == ["same message 0"] * 2
    assert state.repeated == []
    with time_machine.travel(time.time() + 1801, tick=True):  # long after: checked again
        add_rows(outbox_db.factory, 1, target="zhangsan", prefix="same")
        assert w.run_once(1) == 1
    assert outbox_db.rows()[2].payload["enable_duplicate_check"] == 1
    assert len(state.messages_for("zhangsan")) == 3


def test_no_duplicate_check_when_turned_off(outbox_db, sim, wecom_settings):
    state, _ = sim
    settings = replace(wecom_settings, duplicate_check_seconds=0)
    add_rows(outbox_db.factory, 1)
    with time_machine.travel(time.time(), tick=True) as clock:
        _killed_after_sending(outbox_db, settings)
        clock.shift(settings.timeout_seconds * 6 + 31)
        assert worker(outbox_db.factory, settings, "rescuer").run_once(10) == 1
    assert "enable_duplicate_check" not in outbox_db.rows()[0].payload
    assert len(state.messages_for("zhangsan")) == 2  # the old window, for comparison


# -- the simulator's duplicate check ----------------------------------------------------------


def _token(base: str, state: SimulatorState) -> str:
    return requests.get(f"{base}/cgi-bin/gettoken", params={
        "corpid": state.corp_id, "corpsecret": state.secret}, timeout=5).json()["access_token"]


def _send(base: str, token: str, body: dict) -> dict:
    return requests.post(f"{base}/cgi-bin/message/send", params={"access_token": token},
                         json={"agentid": 1000002, "msgtype": "text", **body}, timeout=5).json()


def test_simulator_drops_the_same_request_within_its_interval(sim):
    state, base = sim
    token = _token(base, state)
    checked = {"touser": "zhangsan", "text": {"content": "工单 #1 请尽快处理"},
               "enable_duplicate_check": 1, "duplicate_check_interval": 600}
    with time_machine.travel(time.time(), tick=True) as clock:
        first = _send(base, token, checked)
        again = _send(base, token, dict(reversed(list(checked.items()))))  # same JSON, any order
        assert first["errcode"] == again["errcode"] == 0 and again["errmsg"] == "ok"
        assert again["msgid"] == first["msgid"]
        assert len(state.messages_for("zhangsan")) == 1 and len(state.repeated) == 1
        # other recipients, other content, or no check asked for: delivered
        assert _send(base, token, {**checked, "touser": "lisi"})["errcode"] == 0
        assert _send(base, token, {**checked, "text": {"content": "别的"}})["errcode"] == 0
        plain = {"touser": "wangwu", "text": {"content": "你好"}}
        _send(base, token, plain)
        _send(base, token, plain)
        assert len(state.messages_for("wangwu")) == 2
        clock.shift(601)  # the interval is over
        assert _send(base, token, checked)["msgid"] != first["msgid"]
    assert len(state.messages_for("zhangsan")) == 3  # the first, "别的", after the interval
    assert len(state.repeated) == 1


def test_simulator_duplicate_check_defaults_to_half_an_hour_and_caps_at_four_hours(sim):
    state, base = sim
    token = _token(base, state)
    default = {"touser": "a", "text": {"content": "x"}, "enable_duplicate_check": 1}
    capped = {"touser": "b", "text": {"content": "x"}, "enable_duplicate_check": 1,
              "duplicate_check_interval": 86400}
    with time_machine.travel(time.time(), tick=True) as clock:
        _send(base, token, default)
        _send(base, token, capped)
        clock.shift(1790)
        _send(base, token, default)
        clock.shift(20)
        _send(base, token, default)
        clock.shift(4 * 3600 - 1810 - 10)
        token = _token(base, state)  # the first one expired after two hours
        assert _send(base, token, capped)["errcode"] == 0
        clock.shift(20)
        _send(base, token, capped)
    assert len(state.messages_for("a")) == 2 and len(state.messages_for("b")) == 2
    assert len(state.repeated) == 2


def test_a_stopping_worker_stops_between_rows_and_gives_the_rest_back(outbox_db, sim,
                                                                       wecom_settings):
    state, _ = sim
    add_rows(outbox_db.factory, 5, target=lambda i: f"user{i}")
    w = worker(outbox_db.factory, wecom_settings, "w1")
    deliver = w.sender.deliver

    def deliver_then_sigterm(row):  # noqa: ANN001
        result = deliver(row)
        if len(state.calls_to("message/send")) == 2:
            w.stopping.set()  # SIGTERM arrives while the second row is being sent
        return result

    w.sender.deliver = deliver_then_sigterm
    assert w.run_once(10) == 2
    rows = outbox_db.rows()
    assert [r.status for r in rows] == ["sent"] * 2 + ["pending"] * 3
    assert all(r.locked_by is None for r in rows[2:])  # given back: due for the next worker
    assert worker(outbox_db.factory, wecom_settings, "w2").run_once(10) == 3
    assert [len(state.messages_for(f"user{i}")) for i in range(5)] == [1] * 5


def test_a_send_that_timed_out_after_wecom_delivered_is_not_shown_twice(outbox_db, sim,
                                                                         wecom_settings):
    state, _ = sim
    settings = replace(wecom_settings, timeout_seconds=0.5)
    add_rows(outbox_db.factory, 1)
    with time_machine.travel(time.time(), tick=True) as clock:
        w = worker(outbox_db.factory, settings, "w1")
        assert w.sender.client.access_token  # the token first, while answers are quick
        state.answer_delay = 1.5  # WeCom delivers, its answer is lost on the way back
        assert w.run_once(10) == 0
        (row,) = outbox_db.rows()
        assert row.status == "pending" and "timeout" in (row.last_error or "")
        state.answer_delay = 0
        clock.shift(w.backoff(1, None) * 1.3)  # past the jittered back-off
        assert w.run_once(10) == 1
    assert len(state.calls_to("message/send")) == 2
    assert len(state.messages_for("zhangsan")) == 1 and len(state.repeated) == 1


def test_a_record_whose_commit_answer_was_lost_is_not_taken_for_a_lost_lease(
        outbox_db, sim, wecom_settings, caplog):
    state, _ = sim
    add_rows(outbox_db.factory, 1)
    engine = outbox_db.make_engine()
    from sqlalchemy.exc import OperationalError

    from store.db import make_session_factory

    factory = make_session_factory(engine)
    marked: list[bool] = []

    def before(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if statement.startswith("UPDATE outbox") and "sent_at" in statement:
            marked.append(True)

    def after_commit(session):  # noqa: ANN001
        if len(marked) == 1:  # the first mark committed; its answer "never came back"
            marked.append(False)
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection reset"))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(factory, "after_commit", after_commit)
    w = worker(factory, wecom_settings, "w1")
    with caplog.at_level(logging.INFO, "schedules.delivery"):
        assert w.run_once(10) == 1  # counted as sent, not as a lost lease
    assert any("the try that failed had recorded it" in r.getMessage() for r in caplog.records)
    assert not any("lease lost" in r.getMessage() for r in caplog.records)
    (row,) = outbox_db.rows()
    assert row.status == "sent" and row.attempts == 1
    assert len(state.messages_for("zhangsan")) == 1


def test_a_revived_row_is_sent_again_without_the_check(outbox_db, sim, wecom_settings):
    from schedules.delivery import revive_dead

    state, _ = sim
    state.known_users = {"zhangsan"}
    (row_id,) = add_rows(outbox_db.factory, 1, target="lisi")  # not in the corp yet
    w = worker(outbox_db.factory, wecom_settings, "w1")
    w.run_once(10)
    (row,) = outbox_db.rows()
    assert row.status == "failed" and row.payload["enable_duplicate_check"] == 1
    state.add_users(["lisi"])  # the admin fixed the app's visible range
    assert revive_dead(outbox_db.factory, [row_id]) == 1
    (row,) = outbox_db.rows()
    assert row.payload["enable_duplicate_check"] == 0
    assert "duplicate_check_interval" not in row.payload
    assert row.payload["text"] == {"content": "m message 0"}
    assert w.run_once(10) == 1
    assert len(state.messages_for("lisi")) == 1
