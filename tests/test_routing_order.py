"""Routing in parallel keeps each sender's messages in order: a claim takes only the oldest
waiting message of each sender, none of a sender with a message in flight, and a message
waiting for a retry steps aside. On PostgreSQL two processors route a backlog at once."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import update

from handlers.base import FunctionHandler, Router
from handlers.intake import InboxProcessor
from store import inbox
from store.clock import utcnow
from store.models import InboundMessage
from wecom.inbound import Incoming

LEASE = timedelta(seconds=60)


def record(engine, messages: list[tuple[str, str]], batch: str = "order") -> list[int]:
    """Record (sender, text) app messages as the callbacks do; their inbox ids."""
    rows = []
    for n, (sender, text) in enumerate(messages):
        message = Incoming(channel="app", dedup_key=f"app:{batch}:{n}", sender=sender,
                           kind="text", text=text)
        rows.append({"dedup_key": message.dedup_key, "channel": "app", "sender": sender,
                     "chat_id": None, "kind": "text", "text": text,
                     "payload": message.to_json(), "status": "received", "attempts": 0,
                     "outcome": None, "processed_at": None})
    return inbox.record_many(engine, rows)


def finish(session_factory, ids: list[int]) -> None:
    with session_factory() as session, session.begin():
        session.execute(update(InboundMessage).where(InboundMessage.id.in_(ids))
                        .values(status="done", locked_by=None, locked_until=None))


def test_a_claim_takes_each_senders_oldest_message_only(engine, session_factory):
    a1, b1, a2, a3, b2, c1 = record(engine, [("ann", "1"), ("bob", "1"), ("ann", "2"),
                                             ("ann", "3"), ("bob", "2"), ("cat", "1")])
    assert inbox.claim(session_factory, "w1", 50, LEASE) == [a1, b1, c1]
    # a second processor finds every sender busy
    assert inbox.claim(session_factory, "w2", 50, LEASE) == []
    finish(session_factory, [a1])
    assert inbox.claim(session_factory, "w2", 50, LEASE) == [a2]
    finish(session_factory, [a2, b1])
    assert inbox.claim(session_factory, "w1", 50, LEASE) == [a3, b2]


def test_a_message_waiting_for_its_retry_steps_aside(engine, session_factory):
    a1, a2, b1 = record(engine, [("ann", "1"), ("ann", "2"), ("bob", "1")])
    assert inbox.claim(session_factory, "w1", 50, LEASE) == [a1, b1]
    with session_factory() as session, session.begin():
        inbox.postpone(session.get(InboundMessage, a1), utcnow() + timedelta(seconds=10),
                       "retry:RuntimeError")
    assert inbox.claim(session_factory, "w1", 50, LEASE) == [a2]  # ann's next goes on
    # when a1 is due again it waits while ann's a2 is in flight, then goes
    later = utcnow() + timedelta(seconds=11)
    import time_machine

    with time_machine.travel(later, tick=False):
        assert inbox.claim(session_factory, "w2", 50, LEASE) == []
        finish(session_factory, [a2])
        assert inbox.claim(session_factory, "w2", 50, LEASE) == [a1]


def test_a_dead_processors_lease_runs_out_in_order(engine, session_factory):
    a1, a2 = record(engine, [("ann", "1"), ("ann", "2")])
    assert inbox.claim(session_factory, "dead", 50, LEASE) == [a1]
    import time_machine

    with time_machine.travel(utcnow() + LEASE + timedelta(seconds=1), tick=False):
        assert inbox.claim(session_factory, "alive", 50, LEASE) == [a1]


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="PostgreSQL: set DATABASE_URL")
def test_two_processors_route_a_backlog_in_parallel_each_sender_in_order(
        engine, session_factory, settings):
    from services.container import build_services

    senders, per_sender = 40, 6
    messages = [(f"resident{s:03d}", str(n)) for n in range(per_sender) for s in range(senders)]
    record(engine, messages)
    handled: list[tuple[str, int, str]] = []
    overlap = defaultdict(int)
    busy: set[str] = set()
    lock = threading.Lock()

    def make(worker: str) -> InboxProcessor:
        def handle(ctx, _match):  # type: ignore[no-untyped-def]
            sender = ctx.message.sender
            with lock:
                if sender in busy:
                    overlap[sender] += 1
                busy.add(sender)
            time.sleep(0.002)  # long enough for the two processors to interleave
            with lock:
                handled.append((sender, int(ctx.message.text), worker))
                busy.discard(sender)
            return "recorded"

        router = Router([FunctionHandler(lambda ctx: True, handle)])
        return InboxProcessor(session_factory, services, router, worker_id=worker,
                              batch_size=5)

    services = build_services(settings)
    processors = [make("p1"), make("p2")]
    stop = threading.Event()
    threads = [threading.Thread(target=p.run_forever, args=(stop,), kwargs={"idle": 0.05})
               for p in processors]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(handled) < len(messages) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)

    assert len(handled) == len(messages)  # every message once: none lost, none twice
    assert len({(s, n) for s, n, _ in handled}) == len(messages)
    by_sender: dict[str, list[int]] = defaultdict(list)
    for sender, n, _ in handled:
        by_sender[sender].append(n)
    assert all(order == list(range(per_sender)) for order in by_sender.values())
    assert not overlap  # never two messages of one sender at the same time
    workers = {w for _, _, w in handled}
    assert workers == {"p1", "p2"}  # both routed
    with session_factory() as session:
        assert inbox.pending_count(session) == 0


def claim_capturing_sql(engine, session_factory) -> tuple[list[int], list[tuple[str, object]]]:
    """A claim of 50, and the (statement, parameters) it sent, in order."""
    from sqlalchemy import event

    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        return inbox.claim(session_factory, "w1", 50, LEASE), statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def test_a_claim_probes_each_candidates_sender_through_the_per_sender_index(engine,
                                                                          session_factory):
    """With thousands waiting, a claim reads a few rows per candidate: on SQLite the check for
    an older message of the sender goes through the partial (sender, id) index of received
    rows, not the status index (which would read every received row once per candidate)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner (PostgreSQL plans from its statistics)")
    record(engine, [(f"res{n % 300}", str(n)) for n in range(1200)])
    claimed, statements = claim_capturing_sql(engine, session_factory)
    assert len(claimed) == 50 and claimed == sorted(claimed)
    (statement, parameters), = [(s, p) for s, p in statements
                                if s.startswith("UPDATE inbound_messages")]
    with engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters)]
    correlated = plan[plan.index(next(p for p in plan if "CORRELATED" in p)) + 1:]
    assert any("ix_inbound_received_sender" in step for step in correlated), plan
    assert not any("ix_inbound_status_id" in step for step in correlated), plan


def test_a_claim_walks_the_waiting_rows_oldest_first_however_stale_the_statistics(
        engine, session_factory):
    """PostgreSQL: analysed while a few rows waited, then flooded (as in a storm, faster than
    autovacuum analyses), the planner still walks the (status, id) index in order and stops at
    the limit, instead of reading every waiting row and sorting them (56–72 ms a claim with
    12,000 waiting in bench/end_to_end.py)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner (SQLite's has its own test above)")
    import json

    finish(session_factory, record(engine, [(f"early{n}", str(n)) for n in range(4000)], "early"))
    with engine.begin() as connection:  # analysed when nearly nothing waited
        connection.exec_driver_sql("ANALYZE inbound_messages")
    record(engine, [(f"res{n % 500}", f"flood {n}") for n in range(4000)])  # no ANALYZE since
    claimed, statements = claim_capturing_sql(engine, session_factory)
    assert len(claimed) == 50 and claimed == sorted(claimed)
    texts = [statement for statement, _ in statements]
    at_update = next(i for i, t in enumerate(texts) if t.startswith("UPDATE inbound_messages"))
    settings = [t for t in texts[:at_update] if "set_config" in t]
    assert settings, "the claim plans with the defaults that read every waiting row"
    update_statement, parameters = statements[at_update]
    with engine.connect() as connection, connection.begin():  # as the claim's transaction
        for statement in settings:
            connection.exec_driver_sql(statement)
        [[explained]] = connection.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) {update_statement}", parameters).all()
        connection.rollback()
    walked = json.dumps(explained)
    assert '"Node Type": "Index Scan"' in walked, walked  # in id order: stops at the limit
    assert '"Sort"' not in walked and "Bitmap" not in walked, walked
