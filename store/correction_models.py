"""Classifier corrections: the labels the township's own triage writes (改类).

One row per correction of a ticket's category: the ticket's text as the classifier read it, the
category the classifier predicted at intake, the category before this correction (the same
unless the ticket was corrected before), the corrected category, the reason given, who corrected
it and when, and the trail event that recorded it. A ticket's label is its latest correction.

Nothing here decides policy: ``cases.corrections`` corrects tickets and reads the labels back;
``rules eval --from-tickets`` and ``rules learn --from-tickets`` measure and learn from them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.clock import utcnow
from store.models import Base


class ClassifierCorrection(Base):
    """A ticket re-categorised by staff, as a labelled example for the classifier."""

    __tablename__ = "classifier_corrections"
    __table_args__ = (
        # a ticket's latest correction (its label)
        Index("ix_classifier_corrections_ticket_id_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    text: Mapped[str] = mapped_column(Text)
    predicted: Mapped[str] = mapped_column(String(32))  # the classifier's category at intake
    previous: Mapped[str] = mapped_column(String(32))  # the category this correction replaced
    corrected: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
