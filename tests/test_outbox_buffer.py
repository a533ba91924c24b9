"""store.outbox.put inside buffered(): rows remembered, written together at the block's end,
idempotent as enqueue; store.db.IdBlocks hands out sequence ids (PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from store.db import IdBlocks
from store.models import OutboxMessage
from store.outbox import buffered, enqueue, put

pytest_plugins = ["tests.fixtures.transport"]


def _text(n: int) -> dict:
    return {"text": {"content": f"第{n}条"}}


def test_buffered_rows_are_written_together_at_the_end(outbox_db):
    inserts: list[bool] = []

    def count(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if statement.startswith("INSERT INTO outbox"):
            inserts.append(executemany)

    with outbox_db.factory() as session, session.begin():
        enqueue(session, key="old", channel="app", target="a", msgtype="text", payload=_text(0))
        event.listen(outbox_db.engine, "before_cursor_execute", count)
        try:
            with buffered(session) as buffer:
                for n in range(1, 4):
                    put(session, key=f"k{n}", channel="app", target=f"u{n}", msgtype="text",
                        payload=_text(n), urgent=n == 2)
                put(session, key="k1", channel="app", target="other", msgtype="text",
                    payload=_text(9))  # the same key again: the first one stays
                put(session, key="old", channel="app", target="other", msgtype="text",
                    payload=_text(9))  # a key already in the table: skipped
                assert len(buffer.rows) == 4
                assert session.scalar(select(OutboxMessage).where(
                    OutboxMessage.idempotency_key == "k1")) is None  # not yet
        finally:
            event.remove(outbox_db.engine, "before_cursor_execute", count)
    assert len(inserts) == 1  # one statement for the block
    rows = {r.idempotency_key: r for r in outbox_db.rows()}
    assert sorted(rows) == ["k1", "k2", "k3", "old"]
    assert rows["k1"].target == "u1" and rows["old"].target == "a"
    assert rows["k2"].urgent and rows["k2"].recipient_key == "app:u2"
    assert {r.status for r in rows.values()} == {"pending"}


def test_a_failed_block_writes_nothing_and_put_outside_writes_at_once(outbox_db):
    with pytest.raises(RuntimeError), outbox_db.factory() as session, session.begin(), \
            buffered(session):
        put(session, key="lost", channel="app", target="a", msgtype="text", payload=_text(1))
        raise RuntimeError("the batch failed")
    assert outbox_db.rows() == []
    with outbox_db.factory() as session, session.begin():
        put(session, key="now", channel="webhook", target="robot", msgtype="text",
            payload=_text(2))
        assert session.scalar(select(OutboxMessage.target)) == "robot"  # written at once
        with buffered(session), pytest.raises(RuntimeError), buffered(session):
            pass


def test_id_blocks_come_from_the_sequence(outbox_db):
    if outbox_db.name != "postgresql":
        pytest.skip("sequences: PostgreSQL only (SQLite flushes each row)")
    with outbox_db.factory() as session, session.begin():
        ids = IdBlocks(session, "outbox", block=3)
        taken = [ids() for _ in range(7)]
        assert taken == sorted(set(taken)) and len(taken) == 7
        row_id = enqueue(session, key="after", channel="app", target="a", msgtype="text",
                         payload=_text(1))
        assert row_id > max(taken)  # the table's own inserts go on after the blocks
