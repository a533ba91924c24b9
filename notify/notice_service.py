"""The notice service: create, list, cancel, report and fire notices (chat, CLI, API and jobs).

Every entry point here takes a session in a transaction and the process's
:class:`~services.container.Services`; policy comes from :mod:`cases.notice_policy`, fan-out from
:mod:`notify.notice_outbox`. ``fire_due`` is what the scheduler's notice and reminder jobs call: one
transaction per firing, guarded by the unique ``(notice_id, run_key)`` of ``NoticeRun`` so two
schedulers, a retry or a restart can never fire one slot twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cases.notice_policy import (
    SCHEDULE_KINDS,
    Audience,
    NoticeRuleError,
    NoticeTimes,
    QuietHours,
    Reminder,
    cron_trigger,
    deliver_time,
    due_runs,
    finished,
    next_cron_slots,
    reminder_plan,
)
from notify.notice_outbox import Scope, count_targets, fan_out, render, resolve
from services.container import Services
from store.clock import utcnow
from store.models import Grid, OutboxMessage
from store.notice_models import Notice, NoticeDelivery, NoticeRun

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_BODY = 4000  # WeCom markdown messages take up to 4096 bytes


@dataclass(frozen=True)
class NoticeDraft:
    """A notice as asked for, before it is checked and stored."""

    title: str
    body: str = ""
    audience: dict[str, Any] = field(default_factory=dict)
    kind: str = "now"  # now|once|cron|none
    run_at: datetime | None = None
    cron: str | None = None
    schedule_text: str = ""
    deadline: date | None = None
    reminders: tuple[int, ...] = ()
    urgent: bool = False


@dataclass(frozen=True)
class Plan:
    """What a stored notice will do: targets and dates (for the confirmation)."""

    notice_id: int
    groups: int
    members: int
    roles: tuple[str, ...]
    send_at: datetime | None  # now/once, after quiet-hours deferral
    deferred: bool
    next_slots: tuple[datetime, ...]  # cron
    reminders: tuple[Reminder, ...]  # future ones only
    provisional_years: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "notice_id": self.notice_id,
            "targets": {"groups": self.groups, "members": self.members, "roles": list(self.roles)},
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "deferred": self.deferred,
            "next": [s.isoformat() for s in self.next_slots],
            "reminders": [{"offset": r.offset, "at": r.at.isoformat(),
                           "provisional": r.provisional} for r in self.reminders],
        }


@dataclass(frozen=True)
class NoticeStatus:
    """Per-recipient delivery counts of a notice, and its runs."""

    notice: Notice
    targets: int
    delivered: int
    failed: int
    pending: int
    cancelled: int
    runs: tuple[NoticeRun, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            **notice_dict(self.notice),
            "targets": self.targets, "delivered": self.delivered, "failed": self.failed,
            "pending": self.pending, "cancelled": self.cancelled,
            "runs": [{"run_key": r.run_key, "kind": r.kind,
                      "scheduled_for": r.scheduled_for.isoformat(),
                      "deliver_at": r.deliver_at.isoformat(), "recipients": r.recipients}
                     for r in self.runs],
        }


class NoticeNotFound(LookupError):
    """No notice with that id."""


def township_code(session: Session, services: Services) -> str:
    """The grid code meaning 全街道: the configured centre grid, else the township node."""
    if services.settings.center_grid:
        return services.settings.center_grid
    code = session.scalar(select(Grid.code).where(Grid.level == "township").order_by(Grid.id))
    return code or ""


def quiet_hours(services: Services) -> QuietHours:
    return QuietHours.from_pair(services.settings.quiet_hours)


def _validated(session: Session, services: Services, draft: NoticeDraft,
               now: datetime) -> tuple[Audience, Scope]:
    if not draft.title.strip():
        raise NoticeRuleError("missing_title")
    if len(draft.title) > MAX_TITLE or len(draft.body) > MAX_BODY:
        raise NoticeRuleError("too_long", limit=MAX_BODY)
    if draft.kind not in SCHEDULE_KINDS:
        raise NoticeRuleError("bad_kind")
    calendar = services.calendar
    if draft.kind == "once":
        if draft.run_at is None:
            raise NoticeRuleError("no_schedule")
        if draft.run_at < now:
            raise NoticeRuleError("past_time", text=calendar.local(draft.run_at).strftime(
                "%Y-%m-%d %H:%M"))
    if draft.kind == "cron":
        if not draft.cron:
            raise NoticeRuleError("no_schedule")
        cron_trigger(draft.cron, calendar)
    if draft.kind == "none" and draft.deadline is None:
        raise NoticeRuleError("no_schedule")
    if draft.kind in ("now", "cron") and not draft.body.strip():
        raise NoticeRuleError("missing_body")
    if draft.deadline is not None and draft.deadline < calendar.local(now).date():
        raise NoticeRuleError("past_deadline", text=draft.deadline.isoformat())
    audience = Audience.from_dict(draft.audience)
    return audience, resolve(session, audience)


def create_notice(session: Session, services: Services, draft: NoticeDraft, *, author: str,
                  source: str, now: datetime | None = None) -> tuple[Notice, Plan]:
    """Check and store a notice; a ``now`` notice fires in this same transaction."""
    now = now or utcnow()
    audience, scope = _validated(session, services, draft, now)
    reminders = draft.reminders if draft.deadline is not None else ()
    notice = Notice(
        title=draft.title.strip(), body=draft.body.strip(), audience=audience.to_dict(),
        schedule_kind=draft.kind, run_at=draft.run_at or (now if draft.kind == "now" else None),
        cron=draft.cron, schedule_text=draft.schedule_text, deadline=draft.deadline,
        reminder_offsets=list(reminders), urgent=draft.urgent, author=author, source=source,
        status="active", created_at=now,
    )
    session.add(notice)
    session.flush()
    plan = describe(session, services, notice, now, scope=scope)
    if draft.kind == "now":
        _fire_notice(session, services, notice, now, kinds=("send",))
    return notice, plan


def describe(session: Session, services: Services, notice: Notice, now: datetime,
             scope: Scope | None = None) -> Plan:
    """The targets and dates of ``notice`` from ``now`` on."""
    calendar = services.calendar
    audience = Audience.from_dict(notice.audience)
    scope = scope or resolve(session, audience)
    groups, members = count_targets(session, scope)
    send_at, deferred = None, False
    if notice.schedule_kind in ("now", "once"):
        due = notice.run_at or now
        send_at = deliver_time(calendar, quiet_hours(services), due, urgent=notice.urgent)
        deferred = send_at > calendar.local(due)
    slots: tuple[datetime, ...] = ()
    if notice.schedule_kind == "cron" and notice.cron:
        slots = tuple(next_cron_slots(notice.cron, calendar, now, 3))
    reminders: tuple[Reminder, ...] = ()
    if notice.deadline is not None and notice.reminder_offsets:
        reminders = tuple(r for r in reminder_plan(calendar, notice.deadline,
                                                   notice.reminder_offsets) if r.at > now)
    years = sorted({r.at.year for r in reminders if r.provisional})
    return Plan(notice.id, groups, members, audience.member_roles, send_at, deferred, slots,
                reminders, tuple(years))


def get_notice(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFound(notice_id)
    return notice


def list_notices(session: Session, *, include_finished: bool = False,
                 limit: int = 50) -> list[Notice]:
    query = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if not include_finished:
        query = query.where(Notice.status == "active")
    return list(session.scalars(query))


def cancel_notice(session: Session, notice_id: int, *, now: datetime | None = None) -> int:
    """Cancel a notice and its messages not sent yet; returns how many were withdrawn."""
    now = now or utcnow()
    notice = get_notice(session, notice_id)
    if notice.status == "cancelled":
        return 0
    notice.status = "cancelled"
    notice.cancelled_at = now
    carrying = select(NoticeDelivery.outbox_id).where(NoticeDelivery.notice_id == notice_id)
    withdrawn = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(carrying), OutboxMessage.status == "pending",
               (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until < now))
        .values(status="cancelled", last_error="notice cancelled")
        .execution_options(synchronize_session=False)
    ).rowcount
    return int(withdrawn or 0)


def notice_status(session: Session, notice_id: int) -> NoticeStatus:
    """Targets, delivered, failed, pending and cancelled, counted per recipient."""
    notice = get_notice(session, notice_id)
    counts: dict[str, int] = {
        status: count
        for status, count in session.execute(
            select(OutboxMessage.status, func.count(NoticeDelivery.id))
            .join(OutboxMessage, OutboxMessage.id == NoticeDelivery.outbox_id)
            .where(NoticeDelivery.notice_id == notice_id)
            .group_by(OutboxMessage.status)
        )
    }
    runs = tuple(session.scalars(
        select(NoticeRun).where(NoticeRun.notice_id == notice_id).order_by(NoticeRun.id)))
    return NoticeStatus(
        notice, sum(counts.values()), counts.get("sent", 0),
        counts.get("failed", 0) + counts.get("dead", 0), counts.get("pending", 0),
        counts.get("cancelled", 0), runs,
    )


def notice_dict(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id, "title": notice.title, "body": notice.body,
        "audience": notice.audience, "schedule": {
            "kind": notice.schedule_kind,
            "at": notice.run_at.isoformat() if notice.run_at else None,
            "cron": notice.cron, "text": notice.schedule_text},
        "deadline": notice.deadline.isoformat() if notice.deadline else None,
        "reminders": list(notice.reminder_offsets or []), "urgent": notice.urgent,
        "author": notice.author, "source": notice.source, "status": notice.status,
        "created_at": notice.created_at.isoformat(),
    }


# -- firing -----------------------------------------------------------------------------------


def _times(session: Session, notice: Notice) -> NoticeTimes:
    fired = session.execute(
        select(NoticeRun.run_key, NoticeRun.kind, NoticeRun.scheduled_for)
        .where(NoticeRun.notice_id == notice.id)
    ).all()
    sends = [slot for _, kind, slot in fired if kind == "send"]
    return NoticeTimes(
        kind=notice.schedule_kind, created_at=notice.created_at, run_at=notice.run_at,
        cron=notice.cron, deadline=notice.deadline,
        offsets=tuple(notice.reminder_offsets or ()),
        fired=frozenset(key for key, _, _ in fired),
        last_send_slot=max(sends) if sends else None,
    )


def _fire_notice(session: Session, services: Services, notice: Notice, now: datetime,
                 kinds: Iterable[str]) -> int:
    """Fire whatever of ``notice`` is due now, in the caller's transaction; returns runs."""
    calendar = services.calendar
    times = _times(session, notice)
    fired = 0
    for due in due_runs(times, calendar, now, kinds):
        deliver_at = deliver_time(calendar, quiet_hours(services), max(due.slot, now),
                                  urgent=notice.urgent)
        run = NoticeRun(notice_id=notice.id, run_key=due.run_key, kind=due.kind,
                        scheduled_for=due.slot, deliver_at=deliver_at, fired_at=now)
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:  # another scheduler fired this slot first
            log.info("notice %s %s already fired", notice.id, due.run_key)
            continue
        scope = resolve(session, Audience.from_dict(notice.audience))
        content = render(notice, due.kind, services.settings.township,
                         due.reminder.offset if due.reminder else None)
        run.recipients = fan_out(session, notice, run, scope, content,
                                 max_users_per_send=services.settings.wecom.max_users_per_send)
        notice.last_fired_at = now
        fired += 1
        log.info("notice %s fired %s to %d recipients, delivery from %s", notice.id,
                 due.run_key, run.recipients, deliver_at)
    if fired:
        times = _times(session, notice)
    if finished(times, calendar, now):
        notice.status = "done"
    return fired


def fire_due(session_factory: sessionmaker[Session], services: Services,
             now: datetime | None = None, kinds: Iterable[str] = ("send", "remind")) -> int:
    """Fire every due slot of every active notice (one transaction per notice); returns runs."""
    now = now or utcnow()
    kinds = tuple(kinds)
    with session_factory() as session:
        with session.begin():
            ids = list(session.scalars(
                select(Notice.id).where(Notice.status == "active").order_by(Notice.id)))
        total = 0
        for notice_id in ids:
            try:
                with session.begin():
                    notice = session.get(Notice, notice_id, with_for_update=True)
                    if notice is None or notice.status != "active":
                        continue
                    total += _fire_notice(session, services, notice, now, kinds)
            except IntegrityError:
                log.info("notice %s: a concurrent run won; nothing sent twice", notice_id)
            except NoticeRuleError as error:
                log.warning("notice %s cannot fire: %s %s", notice_id, error.code, error.detail)
        return total
