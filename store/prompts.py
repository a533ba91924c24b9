"""Pending prompts: the questions the bot asked someone and still waits an answer to.

A row says "this person was asked to rate ticket N" (``rating``) or "this person was asked which
of their tickets they meant" (``choice``, with the tickets and the answer that is waiting for a
ticket in ``data``). Rows live in the database, so an answer is understood after a restart and
by any process; each has an ``expires_at`` after which it is ignored and, at the person's next
message, deleted. Nothing here decides what a reply means or when to ask: ``cases.rating_reply``
reads replies, ``notify`` asks for ratings, ``handlers.conversation`` holds the conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.clock import utcnow
from store.models import Base
from store.vocabulary import vocabulary_column
from vocab import PromptKind


class PendingPrompt(Base):
    """One question waiting for one person's answer."""

    __tablename__ = "pending_prompts"
    __table_args__ = (
        UniqueConstraint("person_id", "kind", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # rating: for ``ticket_id``; choice: which of ``data["tickets"]`` ``data["rating"]`` is for
    kind: Mapped[PromptKind] = vocabulary_column("kind", PromptKind)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The bot asked again once after a reply it could not read; it does not nag twice.
    reprompted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


def ask_rating(session: Session, person_id: int, ticket_id: int, *, now: datetime,
               expires_at: datetime) -> PendingPrompt:
    """Record that ``person_id`` was asked to rate ``ticket_id`` (replacing an earlier ask)."""
    forget_ticket(session, ticket_id, person_id=person_id)
    prompt = PendingPrompt(person_id=person_id, kind=PromptKind.RATING, ticket_id=ticket_id,
                           created_at=now, expires_at=expires_at)
    session.add(prompt)
    session.flush()
    return prompt


def ask_choice(session: Session, person_id: int, data: dict[str, Any], *, now: datetime,
               expires_at: datetime) -> PendingPrompt:
    """Record a "which ticket?" question (replacing the person's earlier one)."""
    forget_choice(session, person_id)
    prompt = PendingPrompt(person_id=person_id, kind=PromptKind.CHOICE, ticket_id=None,
                           data=data, created_at=now, expires_at=expires_at)
    session.add(prompt)
    session.flush()
    return prompt


def live_prompts(session: Session, person_id: int, now: datetime) -> list[PendingPrompt]:
    """The person's unexpired prompts, newest first (an indexed look-up by person).

    Expired ones found on the way are deleted: prompts are tidied by the person's own messages.
    """
    rows = list(session.scalars(
        select(PendingPrompt).where(PendingPrompt.person_id == person_id)
        .order_by(PendingPrompt.created_at.desc(), PendingPrompt.id.desc())
    ))
    forget(session, [p for p in rows if p.expires_at <= now])
    return [p for p in rows if p.expires_at > now]


def forget_ticket(session: Session, ticket_id: int, *, person_id: int | None = None) -> None:
    """Delete the rating prompts of ``ticket_id`` (of one person, or of anyone)."""
    query = delete(PendingPrompt).where(PendingPrompt.kind == PromptKind.RATING,
                                        PendingPrompt.ticket_id == ticket_id)
    if person_id is not None:
        query = query.where(PendingPrompt.person_id == person_id)
    session.execute(query)


def forget_choice(session: Session, person_id: int) -> None:
    """Delete the person's "which ticket?" question, if any."""
    session.execute(delete(PendingPrompt).where(PendingPrompt.person_id == person_id,
                                                PendingPrompt.kind == PromptKind.CHOICE))


def forget(session: Session, prompts: Iterable[PendingPrompt]) -> None:
    """Delete these prompts."""
    ids = [p.id for p in prompts]
    if ids:
        session.execute(delete(PendingPrompt).where(PendingPrompt.id.in_(ids)))


def mark_reprompted(session: Session, prompts: Sequence[PendingPrompt]) -> None:
    """Remember that the bot asked these again."""
    ids = [p.id for p in prompts]
    if ids:
        session.execute(update(PendingPrompt).where(PendingPrompt.id.in_(ids))
                        .values(reprompted=True))
