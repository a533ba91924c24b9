"""Writing outgoing messages into the outbox, idempotently, inside the caller's transaction.

``enqueue`` writes one row at once and returns its id. ``put`` is for callers that do not need
the id: inside ``buffered(session)`` (the SLA sweep's batches) it only remembers the row, and all
the remembered rows are written when the block ends, with one statement, in the same
transaction — a thousand reminders are one ``executemany`` instead of a thousand round trips.
Outside such a block ``put`` is ``enqueue``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.clock import utcnow
from store.db import insert_skipping_taken
from store.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    target: str,
    msgtype: str,
    payload: dict[str, Any],
    urgent: bool = False,
    ticket_id: int | None = None,
    not_before: datetime | None = None,
    status: str = "pending",
    person_id: int | None = None,
    fallback_of_id: int | None = None,
) -> int:
    """Add one outgoing message unless a message with ``key`` exists; the row's id either way.

    The row commits or rolls back with the caller's transaction, so a message exists if and only
    if the change that caused it does. A concurrent writer of the same key loses quietly.
    ``status`` ``held`` writes a row the worker leaves alone until it is released (a resident's
    next route; ``fallback_of_id`` is the row it stands behind).
    """
    statement = insert_skipping_taken(OutboxMessage, OutboxMessage.idempotency_key,
                                      session.get_bind().dialect.name, OutboxMessage.id)
    session.flush()  # rows this one refers to (its ticket) are in the database first
    # Core on the session's connection: the same transaction, without the ORM's bulk-insert path
    new_id = session.connection().execute(
        statement,
        _row(key, channel, target, msgtype, payload, urgent, ticket_id, not_before, status,
             person_id, fallback_of_id),
    ).scalar_one_or_none()
    if new_id is not None:
        return new_id
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))


def put(
    session: Session,
    *,
    key: str,
    channel: str,
    target: str,
    msgtype: str,
    payload: dict[str, Any],
    urgent: bool = False,
    ticket_id: int | None = None,
    not_before: datetime | None = None,
    status: str = "pending",
    person_id: int | None = None,
    fallback_of_id: int | None = None,
) -> None:
    """Add one outgoing message unless ``key`` exists, when the caller needs no id: remembered
    for the end of the session's ``buffered`` block if one is open, else written at once."""
    buffer: OutboxBuffer | None = session.info.get(_BUFFER)
    if buffer is None:
        enqueue(session, key=key, channel=channel, target=target, msgtype=msgtype,
                payload=payload, urgent=urgent, ticket_id=ticket_id, not_before=not_before,
                status=status, person_id=person_id, fallback_of_id=fallback_of_id)
        return
    buffer.add(_row(key, channel, target, msgtype, payload, urgent, ticket_id, not_before,
                    status, person_id, fallback_of_id))


_BUFFER = "outbox_buffer"


class OutboxBuffer:
    """Outbox rows remembered for one transaction, written together (first of a key wins)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, row: dict[str, Any]) -> None:
        self.rows.setdefault(row["idempotency_key"], row)

    def write(self, session: Session) -> int:
        """Insert the remembered rows, skipping taken keys; how many were remembered."""
        rows = list(self.rows.values())
        self.rows.clear()
        if not rows:
            return 0
        session.flush()  # the tickets they refer to first
        dialect = session.get_bind().dialect.name
        statement = insert_skipping_taken(OutboxMessage, OutboxMessage.idempotency_key,
                                          dialect)
        session.connection().execute(statement, rows)
        return len(rows)


@contextmanager
def buffered(session: Session) -> Iterator[OutboxBuffer]:
    """Within the block ``put`` remembers rows; they are written when it ends without error
    (an error leaves them unwritten: the caller's transaction is rolled back anyway)."""
    if session.info.get(_BUFFER) is not None:
        raise RuntimeError("an outbox buffer is already open on this session")
    buffer = session.info[_BUFFER] = OutboxBuffer()
    try:
        yield buffer
        buffer.write(session)
    finally:
        session.info.pop(_BUFFER, None)


def _row(key: str, channel: str, target: str, msgtype: str, payload: dict[str, Any],
         urgent: bool, ticket_id: int | None, not_before: datetime | None, status: str,
         person_id: int | None, fallback_of_id: int | None) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "channel": channel,
        "target": target,
        "msgtype": msgtype,
        "payload": payload,
        "urgent": urgent,
        "ticket_id": ticket_id,
        "next_attempt_at": not_before or utcnow(),
        "status": status,
        "person_id": person_id,
        "fallback_of_id": fallback_of_id,
    }
