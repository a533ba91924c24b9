"""Chat commands for township notices (centre staff and admins; everyone else is refused):

    截止提醒 2026-12-31 城乡居民医保缴费 范围:全街道 [提前:7,3,1] [内容:…]
    定时通知 每周一 09:00 范围:东顺苑社区 内容:…        (or a date: 2026-12-01 09:00)
    立即通知 范围:西湖社区 对象:网格员,居民 内容:… [紧急]
    通知列表 · 取消通知 5 · 通知状态 5

Fields are ``名称:值`` (full- or half-width colon); ``内容:`` takes the rest of the message.
The body and the title are kept exactly as typed (Chinese punctuation, line breaks); dates, times,
scopes and the other fields are read in half-width form. Without a title (``标题:``, or the words
after the date of a 截止提醒 or after 立即通知) the title is the body's first sentence, shortened.
The bot answers with the plan: which groups and how many people, on which dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cases.notice_policy import (
    BROADCAST_ROLES,
    NoticeRuleError,
    may_broadcast,
    parse_offsets,
    phrase_to_cron,
)
from handlers.base import CommandHelp, Context, Handler, normalise
from notify.notice_forms import (
    LIST_SEPARATORS,
    confirmation,
    parse_date,
    parse_local_datetime,
    role_codes,
    scope_codes,
    scope_label,
    short_title,
    status_text,
    when_label,
)
from notify.notice_service import (
    NoticeDraft,
    NoticeNotFound,
    cancel_notice,
    create_notice,
    get_notice,
    list_notices,
    notice_status,
)
from notify.wording import notices as T
from services.container import Services
from store.ids import id_from_digits, shown

VERBS = ("截止提醒", "定时通知", "立即通知", "通知列表", "取消通知", "通知状态")
_COMMAND = re.compile(rf"^/?(?P<verb>{'|'.join(VERBS)})(?P<rest>.*)$", re.S)
_FIELD = re.compile(r"(范围|标题|提前|对象|群|人员)[:：]\s*([^\s]+)")
_BODY = re.compile(r"内容[:：]\s*", re.S)


@dataclass(frozen=True)
class NoticeCommand:
    verb: str
    rest: str


@dataclass(frozen=True)
class Fields:
    """A notice command split into its named fields and what is left: ``head`` in half-width
    form for reading dates and times, ``typed`` the same words as typed (for a title)."""

    head: str
    fields: dict[str, str]
    body: str
    urgent: bool
    typed: str = ""


def split_fields(rest: str) -> Fields:
    """Split the text after the verb, as typed; only the title and the body stay as typed."""
    body = ""
    found = _BODY.search(rest)
    if found:
        rest, body = rest[: found.start()], rest[found.end() :].strip()
    fields = {name: value.strip() if name == "标题" else normalise(value)
              for name, value in _FIELD.findall(rest)}
    typed = _FIELD.sub(" ", rest)
    urgent = T.URGENT_WORD in typed
    typed = re.sub(r"\s+", " ", typed.replace(T.URGENT_WORD, " ")).strip()
    return Fields(normalise(typed), fields, body, urgent, typed)


def audience_from(session: Session, services: Services, fields: Fields) -> dict[str, object]:
    f = fields.fields
    return {
        "grids": scope_codes(session, services, f.get("范围", "")),
        "roles": role_codes(f.get("对象", "")),
        "chats": [c for c in LIST_SEPARATORS.split(f.get("群", "")) if c],
        "users": [u for u in LIST_SEPARATORS.split(f.get("人员", "")) if u],
    }


def _title(fields: Fields, given: str) -> str:
    """``标题:`` if typed, else ``given`` (the words of the command's head), else a short title
    from the body: never the body repeated."""
    return (fields.fields.get("标题") or given or short_title(fields.body)).strip()


def draft_from_command(session: Session, services: Services, verb: str, rest: str,
                       now: datetime) -> NoticeDraft:
    """Parse one of the three creating commands into a draft (raises NoticeRuleError)."""
    fields = split_fields(rest)
    audience = audience_from(session, services, fields)
    if verb == "截止提醒":
        first = fields.head.partition(" ")[0]
        title = fields.typed.partition(" ")[2]
        return NoticeDraft(
            title=_title(fields, title), body=fields.body, audience=audience, kind="none",
            deadline=parse_date(first), reminders=parse_offsets(fields.fields.get("提前")),
            urgent=fields.urgent,
        )
    if verb == "定时通知":
        head = fields.head
        if head.startswith("每"):
            return NoticeDraft(
                title=_title(fields, ""), body=fields.body, audience=audience, kind="cron",
                cron=phrase_to_cron(head), schedule_text=head, urgent=fields.urgent,
            )
        return NoticeDraft(
            title=_title(fields, ""), body=fields.body, audience=audience, kind="once",
            run_at=parse_local_datetime(head, services), schedule_text=head,
            urgent=fields.urgent,
        )
    return NoticeDraft(title=_title(fields, fields.typed), body=fields.body, audience=audience,
                       kind="now", urgent=fields.urgent)


# -- the handler --------------------------------------------------------------------------------


class NoticeCommandHandler(Handler):
    """The notice commands; refuses (with the reason) anyone but centre staff and admins."""

    def help_entries(self) -> Sequence[CommandHelp]:
        return tuple(CommandHelp(line, BROADCAST_ROLES) for line in T.HELP_LINES)

    def check(self, ctx: Context) -> NoticeCommand | None:
        found = _COMMAND.match(ctx.text)
        if not found:
            return None
        verb = found.group("verb")
        typed = ctx.message.command_text
        rest = typed[typed.index(verb) + len(verb):] if verb in typed else found.group("rest")
        return NoticeCommand(verb, rest.strip(" :：,，\u3000\t\r\n"))

    def handle(self, ctx: Context, match: NoticeCommand) -> str:
        if not may_broadcast(ctx.person.role):
            ctx.reply(T.REFUSED.format(role=T.ROLE_NAMES.get(ctx.person.role, ctx.person.role)))
            return "notice:refused"
        if match.verb == "通知列表":
            return self._list(ctx)
        if match.verb in ("取消通知", "通知状态"):
            number = re.match(r"#?\s*(\d+)", normalise(match.rest))
            if not number:
                ctx.reply(T.USAGE_CANCEL)
                return "usage:notice"
            notice_id = id_from_digits(number.group(1))
            if notice_id is None:  # no notice can have it: never ask the database
                ctx.reply(T.NOT_FOUND.format(id=shown(number.group(1))))
                return "notice:not_found"
            if match.verb == "取消通知":
                return self._cancel(ctx, notice_id)
            return self._status(ctx, notice_id)
        return self._create(ctx, match)

    def _create(self, ctx: Context, match: NoticeCommand) -> str:
        usage = {"截止提醒": T.USAGE_DEADLINE, "定时通知": T.USAGE_SCHEDULED,
                 "立即通知": T.USAGE_NOW}[match.verb]
        if not match.rest:
            ctx.reply(usage)
            return "usage:notice"
        try:
            with ctx.session.begin_nested():
                draft = draft_from_command(ctx.session, ctx.services, match.verb, match.rest,
                                           ctx.now)
                notice, plan = create_notice(ctx.session, ctx.services, draft,
                                             author=ctx.person.userid, source="chat", now=ctx.now)
        except NoticeRuleError as error:
            ctx.reply(T.error_text(error.code, error.detail) + "\n" + usage)
            return f"notice:invalid:{error.code}"
        ctx.reply(confirmation(ctx.session, ctx.services, notice, plan))
        return f"notice:{notice.id}"

    def _list(self, ctx: Context) -> str:
        notices = list_notices(ctx.session)
        if not notices:
            ctx.reply(T.NO_NOTICES)
            return "notice:list"
        lines = [T.LIST_HEAD.format(count=len(notices))]
        lines += [T.LIST_LINE.format(id=n.id, title=n.title, when=when_label(n, ctx.services),
                                     scope=scope_label(ctx.session, n)) for n in notices]
        ctx.reply("\n".join(lines))
        return "notice:list"

    def _cancel(self, ctx: Context, notice_id: int) -> str:
        try:
            notice = get_notice(ctx.session, notice_id)
        except NoticeNotFound:
            ctx.reply(T.NOT_FOUND.format(id=notice_id))
            return "notice:not_found"
        if notice.status == "cancelled":
            ctx.reply(T.ALREADY_CANCELLED.format(id=notice_id))
            return "notice:cancelled"
        pending = cancel_notice(ctx.session, notice_id, now=ctx.now)
        ctx.reply(T.CANCELLED.format(id=notice_id, title=notice.title, pending=pending))
        return f"notice:cancel:{notice_id}"

    def _status(self, ctx: Context, notice_id: int) -> str:
        try:
            status = notice_status(ctx.session, notice_id)
        except NoticeNotFound:
            ctx.reply(T.NOT_FOUND.format(id=notice_id))
            return "notice:not_found"
        ctx.reply(status_text(status))
        return f"notice:status:{notice_id}"


def notice_handlers() -> list[Handler]:
    """The handlers this feature adds to the router."""
    return [NoticeCommandHandler()]
