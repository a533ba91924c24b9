"""The inbox table's mechanics: record a message once, claim received ones, mark them finished.

``record_many`` is the callbacks' only write: an INSERT that skips rows whose unique
de-duplication key is taken, so WeCom's retries and concurrent copies of a message find it
already there. ``claim`` hands received rows
to one processor under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a single atomic UPDATE
under SQLite's write lock), so several processors never take the same row, and a processor that
dies leaves its rows to another once the lease runs out; it takes one message of a sender at a
time, the oldest, so each sender's messages are routed in order. ``postpone`` sets a row aside
for its retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from store.clock import utcnow
from store.db import insert_skipping_taken
from store.models import InboundMessage


def record_many(engine: Engine, rows: Sequence[dict[str, Any]]) -> list[int | None]:
    """Insert inbound rows in one transaction; per row its new id, or None for a duplicate key.

    Core, not the ORM: this is the whole of the callback's database work, on the hot path
    (``store.group_commit`` gathers the rows of concurrent callbacks). A key already stored, or
    repeated earlier in ``rows``, is a duplicate: WeCom's retries and concurrent copies of one
    message insert nothing.

    The rows go in one multi-row INSERT statement (``store.group_commit`` batches stay under
    SQLAlchemy's 1,000 rows a statement), atomic by itself, and are committed before this
    returns: on an autocommit engine (``store.db.autocommit_engine``) by the statement itself,
    in one round trip; on any other by an explicit COMMIT.
    """
    now = utcnow()
    with engine.connect() as connection:
        inserted = connection.execute(
            insert_skipping_taken(InboundMessage, InboundMessage.dedup_key,
                                  connection.dialect.name, InboundMessage.id,
                                  InboundMessage.dedup_key),
            [{**row, "received_at": now} for row in rows]
        ).all()
        connection.commit()
    ids = {key: new_id for new_id, key in inserted}
    results: list[int | None] = []
    for row in rows:  # a key repeated within the batch: its first row was the one inserted
        results.append(ids.pop(row["dedup_key"], None))
    return results


#: For the claim's transaction on PostgreSQL: walk the (status, id) index oldest first and stop
#: at the limit. In a flood the statistics go stale (the table grows faster than autovacuum
#: analyses it): estimating a few dozen waiting rows, the planner read every waiting row through
#: a bitmap, checked each one's sender and sorted them all — 56–72 ms a claim with 12,000
#: waiting; walked in order, 1–2 ms.
_ORDERED_SCAN = text("SELECT set_config('enable_sort', 'off', true), "
                     "set_config('enable_bitmapscan', 'off', true)")


def claim(
    session_factory: sessionmaker[Session], worker: str, limit: int, lease: timedelta
) -> list[int]:
    """Lease up to ``limit`` received rows (oldest first) to ``worker``; their ids, in order.

    A row is claimable when it is due (no back-off running), its lease is free, it is the oldest
    due message of its sender and no other message of its sender is in flight. So each sender's
    messages are routed one at a time and in order, by however many processors: a processor
    that reads a sender's oldest row as taken (``SKIP LOCKED``) finds the next one still behind
    it, since the oldest stays ``received`` until it is done. A message waiting for a retry
    steps aside: the sender's later messages go on without it.

    One statement: ``UPDATE … WHERE id IN (the claimable, oldest first) RETURNING id`` (on
    PostgreSQL after one that sets how its transaction plans it, ``_ORDERED_SCAN``).
    """
    now = utcnow()
    me, other = InboundMessage, aliased(InboundMessage)
    received = literal_column("'received'")  # a literal: the partial index's own predicate
    with session_factory() as session, session.begin():
        dialect = session.get_bind().dialect.name
        other_received: ColumnElement[bool] = other.status == received
        if dialect == "sqlite":
            # Without statistics SQLite's planner rated the status index as good as the
            # sender's and, by a coin toss, probed each candidate's sender through it: every
            # received row read once per candidate (70 ms a claim with 5,000 waiting, in the
            # writer's turn). likelihood() tells it the term is nearly always true, so the
            # per-sender index (partial: received rows only) is the one probed (0.3 ms).
            other_received = func.likelihood(other_received, literal_column("0.9"))
        held_back = exists().where(
            other.sender == me.sender,
            other_received,
            other.id != me.id,
            or_(
                and_(other.id < me.id,
                     or_(other.next_attempt_at.is_(None), other.next_attempt_at <= now)),
                other.locked_until >= now,
            ),
        )
        candidates = (
            select(me.id)
            .where(
                me.status == received,
                or_(me.locked_until.is_(None), me.locked_until < now),
                or_(me.next_attempt_at.is_(None), me.next_attempt_at <= now),
                ~held_back,
            )
            .order_by(me.id)
            .limit(limit)
        )
        if dialect == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
            session.execute(_ORDERED_SCAN)
        claimed = session.scalars(
            update(InboundMessage)
            .where(InboundMessage.id.in_(candidates.scalar_subquery()))
            .values(locked_by=worker, locked_until=now + lease,
                    attempts=InboundMessage.attempts + 1)
            .returning(InboundMessage.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed)


def take(session: Session, message_id: int, worker: str) -> InboundMessage | None:
    """The row, locked for this transaction, if ``worker`` still holds it; else None."""
    return take_many(session, [message_id], worker).get(message_id)


def take_many(session: Session, ids: Sequence[int], worker: str) -> dict[int, InboundMessage]:
    """Of the rows ``ids``, those ``worker`` still holds, by id, locked for this transaction."""
    query = select(InboundMessage).where(
        InboundMessage.id.in_(ids),
        InboundMessage.locked_by == worker,
        InboundMessage.status == "received",
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.id: row for row in session.scalars(query)}


def finish(row: InboundMessage, status: str, outcome: str, when: datetime | None = None) -> None:
    """Mark a taken row processed (in the caller's transaction)."""
    row.status = status
    row.outcome = outcome[:64]
    row.locked_by = None
    row.locked_until = None
    row.processed_at = when or utcnow()


def postpone(row: InboundMessage, until: datetime, outcome: str) -> None:
    """Set a taken row aside until ``until`` (a failed routing's back-off), lease released."""
    row.next_attempt_at = until
    row.outcome = outcome[:64]
    row.locked_by = None
    row.locked_until = None


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(
        select(func.count()).select_from(InboundMessage)
        .where(InboundMessage.status == "received")
    ) or 0
