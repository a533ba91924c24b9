"""Writing outgoing messages into the outbox, idempotently, inside the caller's transaction."""

from __future__ import annotations

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
        {
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
        },
    ).scalar_one_or_none()
    if new_id is not None:
        return new_id
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
