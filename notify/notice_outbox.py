"""Render a notice and fan one run of it out into outbox rows, streaming the audience.

Recipients are read in batches (``yield_per``) and written in batches, so memory stays flat
however large the audience: members are packed ``max_users_per_send`` to one ``message/send``
row; each group gets one row by its robot (``webhook``) or, without a robot, as an app chat
(``appchat``). Every row's idempotency key is ``notice:{id}:run:{run_key}:{recipient}`` and each
recipient gets a ``NoticeDelivery`` row pointing at the outbox row that carries its message, all
in the caller's transaction: a run exists with all of its messages, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, insert, or_, select
from sqlalchemy.orm import Session

from cases.notice_policy import Audience, NoticeRuleError
from notify.plain_text import markdown_to_text
from notify.wording import notices as T
from store.models import Grid, GroupChat, Membership, OutboxMessage, Person, outbox_recipient_key
from store.notice_models import Notice, NoticeDelivery, NoticeRun
from store.roster import subtree_ids

STREAM_BATCH = 1000


@dataclass(frozen=True)
class Scope:
    """An audience resolved against the roster: grid ids of the subtrees, and named extras."""

    audience: Audience
    grid_ids: frozenset[int]


def resolve(session: Session, audience: Audience) -> Scope:
    """Check every code, chat and user exists; expand grid codes to their subtrees."""
    roots = {code: grid_id for code, grid_id in session.execute(
        select(Grid.code, Grid.id).where(Grid.code.in_(audience.grids)))}
    missing = [c for c in audience.grids if c not in roots]
    if missing:
        raise NoticeRuleError("unknown_scope", names=missing)
    if audience.chats:
        known = set(session.scalars(select(GroupChat.chat_id).where(
            GroupChat.chat_id.in_(audience.chats))))
        missing = [c for c in audience.chats if c not in known]
        if missing:
            raise NoticeRuleError("unknown_chat", names=missing)
    if audience.users:
        known = set(session.scalars(select(Person.userid).where(
            Person.userid.in_(audience.users), Person.active.is_(True))))
        missing = [u for u in audience.users if u not in known]
        if missing:
            raise NoticeRuleError("unknown_user", names=missing)
    grid_ids = frozenset(subtree_ids(session, roots.values())) if roots else frozenset()
    return Scope(audience, grid_ids)


def members_query(scope: Scope) -> Select[tuple[int, str]]:
    """Active people the notice is for, as (id, userid), in id order, each once."""
    a = scope.audience
    conditions = []
    roles = a.member_roles
    if scope.grid_ids and roles:
        ids = list(scope.grid_ids)
        on_duty = select(Membership.person_id).where(
            Membership.grid_id.in_(ids), Membership.role.in_(roles))
        conditions.append(Person.id.in_(on_duty))
        if "resident" in roles:
            conditions.append((Person.role == "resident") & Person.grid_id.in_(ids))
    if a.users:
        conditions.append(Person.userid.in_(a.users))
    if not conditions:
        return select(Person.id, Person.userid).where(Person.id.is_(None))
    return (select(Person.id, Person.userid)
            .where(Person.active.is_(True), or_(*conditions), _app_reaches())
            .order_by(Person.id))


def _app_reaches() -> ColumnElement[bool]:
    """Not the residents the app does not reach (WeCom answered invaliduser), nor those enrolled
    from a group and never seen 1:1: their grid group's post is how a notice reaches them."""
    return or_(
        Person.role != "resident",
        Person.app_reachable.is_(True),
        and_(Person.app_reachable.is_(None),
             or_(Person.enrolled_via.is_(None), Person.enrolled_via == "app")),
    )


def groups_query(scope: Scope) -> Select[tuple[int, str, str | None, bool]]:
    """Group chats the notice is posted in: (id, chat_id, webhook_key, appchat), in id order."""
    a = scope.audience
    conditions = []
    if scope.grid_ids and a.groups:
        conditions.append(GroupChat.grid_id.in_(list(scope.grid_ids)))
    if a.chats:
        conditions.append(GroupChat.chat_id.in_(a.chats))
    base = select(GroupChat.id, GroupChat.chat_id, GroupChat.webhook_key, GroupChat.appchat)
    if not conditions:
        return base.where(GroupChat.id.is_(None))
    return base.where(or_(*conditions)).order_by(GroupChat.id)


def count_targets(session: Session, scope: Scope) -> tuple[int, int]:
    """(reachable groups, members) the audience means now."""
    groups = groups_query(scope).where(
        or_(GroupChat.webhook_key.is_not(None), GroupChat.appchat.is_(True))).subquery()
    members = members_query(scope).order_by(None).subquery()
    return (session.scalar(select(func.count()).select_from(groups)) or 0,
            session.scalar(select(func.count()).select_from(members)) or 0)


def _stream(session: Session, query: Select[Any]) -> Iterator[Any]:
    """Rows of ``query`` fetched ``STREAM_BATCH`` at a time (server-side cursor on PostgreSQL)."""
    result = session.execute(query.execution_options(yield_per=STREAM_BATCH))
    for partition in result.partitions():
        yield from partition


def heading_title(title: str, body: str) -> str:
    """The title for a message's heading: none when the body begins with it already (a title
    taken from the body's first sentence), so the message never says the same thing twice."""
    shown = title.strip().removesuffix("…")
    return "" if shown and body.strip().startswith(shown) else title


def render(notice: Notice, run_kind: str, township: str, offset: int | None = None) -> str:
    """The markdown of one run (robots post it as is; people get it as plain text)."""
    urgent = T.URGENT_TAG if notice.urgent else ""
    body = notice.body or ""
    title = heading_title(notice.title, body)
    if run_kind == "remind" and notice.deadline is not None:
        text = T.MESSAGE_REMINDER.format(title=title, urgent=urgent,
                                         deadline=notice.deadline.isoformat(), n=offset, body=body)
    else:
        text = T.MESSAGE_NOTICE.format(township=township, title=title, urgent=urgent, body=body)
    return text.rstrip() + T.MESSAGE_FOOT.format(author=township)


class _Writer:
    """Buffers outbox rows and their deliveries; flushes them in bulk inserts."""

    def __init__(self, session: Session, notice: Notice, run: NoticeRun, content: str,
                 deliver_at: datetime) -> None:
        self.session = session
        self.notice = notice
        self.run = run
        # Markdown only where WeCom renders it (group robots); text for people and app chats.
        self.payloads = {"markdown": {"markdown": {"content": content}},
                         "text": {"text": {"content": markdown_to_text(content)}}}
        self.deliver_at = deliver_at
        self.rows: list[dict[str, Any]] = []
        self.recipients: dict[str, list[str]] = {}  # idempotency key -> recipients
        self.count = 0

    def add(self, label: str, channel: str, target: str, recipients: list[str]) -> None:
        key = f"notice:{self.notice.id}:run:{self.run.run_key}:{label}"
        msgtype = "markdown" if channel == "webhook" else "text"
        now = self.run.fired_at
        self.rows.append({
            "idempotency_key": key, "channel": channel, "target": target,
            "msgtype": msgtype, "payload": self.payloads[msgtype], "urgent": self.notice.urgent,
            "status": "pending", "attempts": 0, "next_attempt_at": self.deliver_at,
            "created_at": now, "recipient_key": outbox_recipient_key(channel, target),
        })
        self.recipients[key] = recipients
        self.count += len(recipients)
        if len(self.rows) >= 200 or sum(len(r) for r in self.recipients.values()) >= 5000:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        ids = dict(
            (key, row_id)
            for row_id, key in self.session.execute(
                insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.idempotency_key),
                self.rows,
            )
        )
        deliveries = [
            {"notice_id": self.notice.id, "run_id": self.run.id, "recipient": r,
             "outbox_id": ids[key]}
            for key, recipients in self.recipients.items()
            for r in recipients
        ]
        for start in range(0, len(deliveries), 5000):
            self.session.execute(insert(NoticeDelivery), deliveries[start : start + 5000])
        self.rows.clear()
        self.recipients.clear()


def fan_out(session: Session, notice: Notice, run: NoticeRun, scope: Scope, content: str, *,
            max_users_per_send: int) -> int:
    """Write the outbox rows and delivery records of ``run``; returns the recipient count."""
    writer = _Writer(session, notice, run, content, run.deliver_at)
    for chat_pk, chat_id, webhook_key, appchat in _stream(session, groups_query(scope)):
        if webhook_key:
            writer.add(f"chat:{chat_pk}", "webhook", webhook_key, [f"webhook:{chat_id}"])
        elif appchat:
            writer.add(f"chat:{chat_pk}", "appchat", chat_id, [f"appchat:{chat_id}"])
    batch: list[str] = []
    batch_no = 0
    for _, userid in _stream(session, members_query(scope)):
        batch.append(userid)
        if len(batch) >= max_users_per_send:
            writer.add(f"app:{batch_no}", "app", "|".join(batch), [f"user:{u}" for u in batch])
            batch, batch_no = [], batch_no + 1
    if batch:
        writer.add(f"app:{batch_no}", "app", "|".join(batch), [f"user:{u}" for u in batch])
    writer.flush()
    return writer.count
