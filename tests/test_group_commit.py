"""Group commit of the callbacks' inbox rows: concurrent callers share batches, each gets its own
answer only once its row is written, a bad row fails only its caller, and duplicates — stored
before or repeated within one batch — insert nothing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from handlers.intake import MessageIntake
from store import inbox
from store.group_commit import GroupCommit
from store.models import InboundMessage
from store.write_turn import write_turn_for
from wecom.inbound import Incoming


class Recorder:
    """A write_batch that records its batches, checks no two run at once, and takes a while."""

    def __init__(self, seconds: float = 0.005, fail_on: object = None) -> None:
        self.seconds = seconds
        self.fail_on = fail_on
        self.batches: list[list[int]] = []
        self.written: list[int] = []
        self.running = 0
        self.overlapped = False
        self._lock = threading.Lock()

    def __call__(self, items):  # type: ignore[no-untyped-def]
        with self._lock:
            self.running += 1
            self.overlapped |= self.running > 1
            self.batches.append(list(items))
        try:
            time.sleep(self.seconds)
            if self.fail_on in items:
                raise ValueError(f"cannot write {self.fail_on}")
            with self._lock:
                self.written.extend(items)
            return [item * 10 for item in items]
        finally:
            with self._lock:
                self.running -= 1


def submit_all(writer: GroupCommit, items: list[int], threads: int = 16) -> list[object]:
    start = threading.Barrier(threads)

    def one(item: int) -> object:
        if item < threads:
            start.wait()
        try:
            return writer.submit(item)
        except ValueError as error:
            return error

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, items))


def test_concurrent_callers_share_batches_and_each_gets_its_own_result():
    recorder = Recorder()
    writer = GroupCommit(recorder)
    results = submit_all(writer, list(range(64)))
    assert results == [i * 10 for i in range(64)]
    assert sorted(recorder.written) == list(range(64))  # each item written once
    assert not recorder.overlapped  # one batch at a time
    assert len(recorder.batches) < 64  # callers met in shared batches
    assert max(len(b) for b in recorder.batches) > 1
    assert (writer.batches, writer.items) == (len(recorder.batches), 64)


def test_a_caller_alone_writes_its_own_batch_at_once():
    recorder = Recorder(seconds=0)
    writer = GroupCommit(recorder)
    assert [writer.submit(i) for i in range(3)] == [0, 10, 20]
    assert recorder.batches == [[0], [1], [2]]


def test_batches_are_capped():
    recorder = Recorder()
    writer = GroupCommit(recorder, max_batch=4)
    assert submit_all(writer, list(range(40))) == [i * 10 for i in range(40)]
    assert max(len(b) for b in recorder.batches) <= 4


def test_a_bad_item_fails_only_its_caller():
    recorder = Recorder(fail_on=13)
    writer = GroupCommit(recorder)
    results = submit_all(writer, list(range(32)))
    assert isinstance(results[13], ValueError)
    assert [r for i, r in enumerate(results) if i != 13] == [i * 10 for i in range(32) if i != 13]
    assert sorted(recorder.written) == [i for i in range(32) if i != 13]
    # and the writer is free again afterwards
    assert writer.submit(100) == 1000


def test_write_turn_is_held_while_writing():
    turn = threading.Lock()
    seen: list[bool] = []

    def write(items):  # type: ignore[no-untyped-def]
        seen.append(turn.locked())
        return list(items)

    writer = GroupCommit(write, turn=turn)
    assert writer.submit(7) == 7
    assert seen == [True] and not turn.locked()


# -- the inbox rows, on the real database -----------------------------------------------------


def row(key: str) -> dict[str, object]:
    return {"dedup_key": key, "channel": "app", "sender": "zhangsan", "chat_id": None,
            "kind": "text", "text": "路灯坏了", "payload": {"text": "路灯坏了"},
            "status": "received", "attempts": 0}


def test_record_many_skips_stored_keys_and_repeats_within_the_batch(engine):
    [first] = inbox.record_many(engine, [row("app:1")])
    assert first is not None
    ids = inbox.record_many(engine, [row("app:2"), row("app:1"), row("app:3"), row("app:2")])
    assert ids[0] is not None and ids[2] is not None and ids[0] != ids[2]
    assert ids[1] is None and ids[3] is None
    with engine.connect() as connection:
        keys = connection.scalars(select(InboundMessage.dedup_key).order_by(InboundMessage.id))
        assert list(keys) == ["app:1", "app:2", "app:3"]


def test_concurrent_copies_through_the_intake_record_one_row(engine):
    woken: list[int] = []
    intake = MessageIntake(engine, on_record=lambda: woken.append(1),
                           write_turn=write_turn_for(engine))
    copies = [Incoming(channel="app", dedup_key=f"app:{i // 20}", sender="zhangsan",
                       kind="text", text="楼道灯坏了") for i in range(60)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(intake, copies))
    assert outcomes.count("queued") == 3 and outcomes.count("duplicate") == 57
    assert len(woken) == 3
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(InboundMessage)) == 3


def test_many_messages_at_once_are_all_recorded(engine):
    intake = MessageIntake(engine, write_turn=write_turn_for(engine))
    messages = [Incoming(channel="app", dedup_key=f"app:m{i}", sender="zhangsan", kind="text",
                         text=f"第{i}条") for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(intake, messages)) == {"queued"}
    assert intake.writer.items == 200
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(InboundMessage)) == 200


def test_the_callbacks_engine_commits_each_statement(engine):
    from store.db import autocommit_engine

    fast = autocommit_engine(engine)
    try:
        if engine.dialect.name == "sqlite":
            assert fast is engine  # SQLite: explicit COMMIT, a local call
        else:
            with fast.connect() as connection:
                assert connection.connection.driver_connection.autocommit is True
        [new_id] = inbox.record_many(fast, [row("app:fast")])
        with engine.connect() as other:  # committed: another connection sees it at once
            assert other.scalar(select(InboundMessage.id).where(
                InboundMessage.dedup_key == "app:fast")) == new_id
    finally:
        if fast is not engine:
            fast.dispose()
