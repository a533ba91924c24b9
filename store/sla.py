"""Clock marks: the proof that the SLA sweep did something once.

A ``ClockMark`` row is written in the same transaction as the reminder or escalation it stands
for; the unique ``(ticket_id, stage, kind, due_at)`` makes a second writer (another scheduler
process, a re-run after a restart) fail and roll back its copy of the change. ``due_at`` is the
instant the mark is about: the reminder time for ``remind``, the stage's due time for ``overdue``.
Nothing here decides policy: ``schedules.sla`` and ``cases`` do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.clock import utcnow
from store.models import Base
from store.vocabulary import vocabulary_column
from vocab import MarkKind, Stage


class ClockMark(Base):
    """One reminder sent or one overdue stage handled, for one ticket, exactly once."""

    __tablename__ = "clock_marks"
    __table_args__ = (UniqueConstraint("ticket_id", "stage", "kind", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    stage: Mapped[Stage] = vocabulary_column("stage", Stage)
    kind: Mapped[MarkKind] = vocabulary_column("kind", MarkKind)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
