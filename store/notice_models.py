"""Notices and their runs: what the township broadcasts, when, to whom, and what came of it.

* ``Notice``: one broadcast or deadline reminder as staff asked for it — title, markdown body,
  audience (grid subtree codes, roles, chat ids, user ids), schedule (``now``, ``once`` at a
  time, or ``cron``), optional deadline with reminder offsets in working days, urgency, author,
  status (``active`` | ``done`` | ``cancelled``).
* ``NoticeRun``: one firing of a notice (a send or a T−n reminder), unique per
  ``(notice_id, run_key)``, so a second scheduler or a re-run can never fire the same slot twice.
* ``NoticeDelivery``: one recipient of one run (a member, a group robot, an app chat), linked to
  the outbox row that carries it (several members share one batched ``message/send`` row).

Nothing here decides policy: ``cases.notice_policy`` does.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.clock import utcnow
from store.models import Base
from store.vocabulary import vocabulary_column
from vocab import NoticeSource, NoticeStatus, RunKind, ScheduleKind


class Notice(Base):
    """A township notice or deadline reminder (see the module docstring)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # markdown
    # {"grids": [codes], "roles": [...], "chats": [chat ids], "users": [user ids]}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule_kind: Mapped[ScheduleKind] = vocabulary_column(
        "schedule_kind", ScheduleKind, length=8, default=ScheduleKind.NOW)
    run_at: Mapped[datetime | None]  # now/once: when to send
    cron: Mapped[str | None] = mapped_column(String(64))  # crontab, township time zone
    schedule_text: Mapped[str] = mapped_column(String(64), default="")  # "每周一 09:00"
    deadline: Mapped[date | None] = mapped_column(Date)
    reminder_offsets: Mapped[list[int]] = mapped_column(JSON, default=list)  # working days
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(64))  # user id, or "api:<name>" / "cli"
    source: Mapped[NoticeSource] = vocabulary_column("source", NoticeSource, length=8,
                                                     default=NoticeSource.CHAT)
    status: Mapped[NoticeStatus] = vocabulary_column("status", NoticeStatus, length=12,
                                                     default=NoticeStatus.ACTIVE, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    last_fired_at: Mapped[datetime | None]

    runs: Mapped[list[NoticeRun]] = relationship(
        back_populates="notice", order_by="NoticeRun.id", cascade="all, delete-orphan"
    )


class NoticeRun(Base):
    """One firing of a notice: a send (``send:<slot>``) or a reminder (``remind:<n>``)."""

    __tablename__ = "notice_runs"
    __table_args__ = (UniqueConstraint("notice_id", "run_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    run_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[RunKind] = vocabulary_column("kind", RunKind, length=8)
    scheduled_for: Mapped[datetime]  # the slot, before quiet-hours deferral
    deliver_at: Mapped[datetime]  # after deferral
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

    notice: Mapped[Notice] = relationship(back_populates="runs")


class NoticeDelivery(Base):
    """One recipient of one run, and the outbox row that carries the message to it."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "recipient"),
        Index("ix_notice_deliveries_notice", "notice_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("notice_runs.id"))
    recipient: Mapped[str] = mapped_column(String(160))  # user:<id>|webhook:<key>|appchat:<id>
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)


class SchedulerLease(Base):
    """The scheduler's leader lease on databases without advisory locks (SQLite)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
