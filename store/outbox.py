"""Writing outgoing messages into the outbox, idempotently, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.clock import utcnow
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
) -> OutboxMessage:
    """Add one outgoing message unless a message with ``key`` exists; return the row either way.

    The row commits or rolls back with the caller's transaction, so a message exists if and only
    if the change that caused it does. A concurrent writer of the same key loses quietly.
    """
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    row = OutboxMessage(
        idempotency_key=key,
        channel=channel,
        target=target,
        msgtype=msgtype,
        payload=payload,
        urgent=urgent,
        ticket_id=ticket_id,
        next_attempt_at=not_before or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
        if found is None:
            raise
        return found
    return row
