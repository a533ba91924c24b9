"""The inbox table's mechanics: record a message once, claim received ones, mark them finished.

``record`` is the callback's only write: one INSERT on the unique de-duplication key, so WeCom's
retries and concurrent copies of a message find it already there. ``claim`` hands received rows
to one processor under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a single atomic UPDATE
under SQLite's write lock), so several processors never take the same row, and a processor that
dies leaves its rows to another once the lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.clock import utcnow
from store.models import InboundMessage

_RECORD = insert(InboundMessage).returning(InboundMessage.id)  # compiled once, cached


def record(engine: Engine, values: dict[str, Any]) -> int | None:
    """Insert one inbound row and commit; its id, or None when the key was already there.

    Core, not the ORM: this is the whole of the callback's database work, on the hot path.
    """
    try:
        # one statement, committed by itself: no separate COMMIT round trip
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            return autocommit.execute(_RECORD, {**values, "received_at": utcnow()}).scalar_one()
    except IntegrityError:
        return None


def claim(
    session_factory: sessionmaker[Session], worker: str, limit: int, lease: timedelta
) -> list[int]:
    """Lease up to ``limit`` received rows (oldest first) to ``worker``; their ids."""
    now = utcnow()
    until = now + lease
    claimable = and_(
        InboundMessage.status == "received",
        or_(InboundMessage.locked_until.is_(None), InboundMessage.locked_until < now),
    )
    with session_factory() as session, session.begin():
        candidates = (
            select(InboundMessage.id).where(claimable).order_by(InboundMessage.id).limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id.in_(candidates.scalar_subquery()))
            .values(locked_by=worker, locked_until=until, attempts=InboundMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.locked_by == worker, InboundMessage.locked_until == until,
                       InboundMessage.status == "received")
                .order_by(InboundMessage.id)
            )
        )


def take(session: Session, message_id: int, worker: str) -> InboundMessage | None:
    """The row, locked for this transaction, if ``worker`` still holds it; else None."""
    query = select(InboundMessage).where(
        InboundMessage.id == message_id,
        InboundMessage.locked_by == worker,
        InboundMessage.status == "received",
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def finish(row: InboundMessage, status: str, outcome: str, when: datetime | None = None) -> None:
    """Mark a taken row processed (in the caller's transaction)."""
    row.status = status
    row.outcome = outcome[:64]
    row.locked_by = None
    row.locked_until = None
    row.processed_at = when or utcnow()


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(
        select(func.count()).select_from(InboundMessage)
        .where(InboundMessage.status == "received")
    ) or 0
