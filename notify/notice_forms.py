"""Notices in Chinese, both ways: read what staff type, write back what they are told.

The chat commands (:mod:`handlers.notice_commands`) and the command line share these: dates,
local times, scopes (``全街道`` or grid names) and roles parsed into codes, and a notice's plan,
schedule, scope and delivery status rendered from :mod:`notify.wording.notices`. Refused input
raises :class:`~cases.notice_policy.NoticeRuleError` with the reason's code.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases.notice_policy import NoticeRuleError
from notify.notice_service import Plan, township_code
from notify.wording import notices as T
from services.container import Services
from store.models import Grid
from store.notice_models import Notice

_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
TITLE_CHARS = 20
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_DATETIME = re.compile(r"^(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)\s*(\d{1,2})[:：](\d{2})$")
LIST_SEPARATORS = re.compile(r"[、,，/;；]+")


# -- reading ------------------------------------------------------------------------------------


def parse_date(text: str) -> date:
    found = _DATE.fullmatch(text.strip())
    if not found:
        raise NoticeRuleError("bad_date", text=text)
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError as exc:
        raise NoticeRuleError("bad_date", text=text) from exc


def parse_local_datetime(text: str, services: Services) -> datetime:
    found = _DATETIME.match(text.strip())
    if not found:
        raise NoticeRuleError("bad_time", text=text)
    day = parse_date(found.group(1))
    try:
        return datetime(day.year, day.month, day.day, int(found.group(2)), int(found.group(3)),
                        tzinfo=services.calendar.tz)
    except ValueError as exc:
        raise NoticeRuleError("bad_time", text=text) from exc


def scope_codes(session: Session, services: Services, text: str) -> list[str]:
    """``全街道`` / grid names / grid codes (separated by 、,，/) → grid codes."""
    codes: list[str] = []
    unknown: list[str] = []
    for name in (n.strip() for n in LIST_SEPARATORS.split(text or "") if n.strip()):
        if name in T.WHOLE_TOWNSHIP_WORDS:
            codes.append(township_code(session, services))
            continue
        code = session.scalar(
            select(Grid.code).where(or_(Grid.name == name, Grid.code == name)).order_by(Grid.id))
        if code is None:
            unknown.append(name)
        else:
            codes.append(code)
    if unknown:
        raise NoticeRuleError("unknown_scope", names=unknown)
    return list(dict.fromkeys(codes))


def role_codes(text: str) -> list[str]:
    roles, unknown = [], []
    for word in (w.strip() for w in LIST_SEPARATORS.split(text or "") if w.strip()):
        role = T.ROLE_WORDS.get(word) or (word if word in T.ROLE_NAMES else None)
        (roles if role else unknown).append(role or word)
    if unknown:
        raise NoticeRuleError("unknown_role", roles=unknown)
    return roles


def short_title(body: str) -> str:
    """A title for a notice given none: the body's first sentence without its stop, cut to
    ``TITLE_CHARS`` characters (``…`` marks a cut). The message leaves it out of its heading
    when the body begins with it, so nobody reads the same words twice."""
    first = _SENTENCE_END.split(body.strip(), maxsplit=1)[0].strip(" ，,：:")
    if len(first) > TITLE_CHARS:
        first = first[: TITLE_CHARS - 1] + "…"
    return first


# -- writing ------------------------------------------------------------------------------------


def _fmt(dt: datetime, services: Services) -> str:
    return services.calendar.local(dt).strftime("%Y-%m-%d %H:%M")


def scope_label(session: Session, notice: Notice) -> str:
    audience = notice.audience or {}
    names = [session.scalar(select(Grid.name).where(Grid.code == c)) or c
             for c in audience.get("grids", [])]
    names += list(audience.get("chats", [])) + list(audience.get("users", []))
    return "、".join(names)


def confirmation(session: Session, services: Services, notice: Notice, plan: Plan) -> str:
    """The plan in Chinese: targets, dates."""
    lines = [
        T.CONFIRM_HEAD.format(id=notice.id, title=notice.title,
                              urgent=T.URGENT_TAG if notice.urgent else ""),
        T.CONFIRM_SCOPE.format(scope=scope_label(session, notice)),
        T.CONFIRM_TARGETS.format(groups=plan.groups, members=plan.members,
                                 roles=T.role_names(plan.roles)),
    ]
    if notice.schedule_kind in ("now", "once") and plan.send_at is not None:
        if plan.deferred:
            lines.append(T.CONFIRM_DEFERRED.format(at=_fmt(plan.send_at, services)))
        elif notice.schedule_kind == "now":
            lines.append(T.CONFIRM_NOW)
        else:
            lines.append(T.CONFIRM_ONCE.format(at=_fmt(plan.send_at, services)))
    if notice.schedule_kind == "cron":
        lines.append(T.CONFIRM_CRON.format(
            phrase=notice.schedule_text or notice.cron,
            next="、".join(_fmt(s, services) for s in plan.next_slots)))
        if not notice.urgent:
            lines.append(T.CONFIRM_CRON_DEFER)
    if notice.deadline is not None:
        lines.append(T.CONFIRM_DEADLINE.format(deadline=notice.deadline.isoformat()))
        if plan.reminders:
            items = "、".join(T.CONFIRM_REMINDER_ITEM.format(date=_fmt(r.at, services), n=r.offset)
                             for r in plan.reminders)
            lines.append(T.CONFIRM_REMINDERS.format(items=items))
        elif notice.reminder_offsets:
            lines.append(T.CONFIRM_REMINDERS_NONE)
        for year in plan.provisional_years:
            lines.append(T.CONFIRM_PROVISIONAL.format(year=year))
    lines.append(T.CONFIRM_FOOT.format(id=notice.id))
    return "\n".join(lines)


def when_label(notice: Notice, services: Services) -> str:
    if notice.schedule_kind == "cron":
        return notice.schedule_text or notice.cron or ""
    if notice.schedule_kind == "none" and notice.deadline:
        return T.WHEN_DEADLINE.format(deadline=notice.deadline.isoformat())
    return _fmt(notice.run_at, services) if notice.run_at else ""


def status_text(status) -> str:  # type: ignore[no-untyped-def]
    n = status.notice
    return T.STATUS_LINE.format(
        id=n.id, title=n.title, status=T.STATUS_WORDS.get(n.status, n.status),
        targets=status.targets, delivered=status.delivered, failed=status.failed,
        pending=status.pending, cancelled=status.cancelled)
