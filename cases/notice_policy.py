"""Notice policy, pure: who may broadcast, who an audience means, when a notice fires.

Nothing here reads the database or knows about chat; ``notify.notice_service`` applies it.

Audience
    ``{"grids": [codes], "roles": [roles], "chats": [chat ids], "users": [user ids],
    "groups": bool}``. A grid code means its whole subtree. For those grids the notice goes to
    every group chat mapped into the subtree (robot webhook, else app chat) unless ``groups`` is
    false, and to every active person of a listed role there: staff through their duties,
    residents through their home grid. Without ``roles`` the grids' staff default to
    :data:`DEFAULT_ROLES` (grid leaders and workers). ``chats`` and ``users`` are added as named.

Schedule
    ``now`` (send at once), ``once`` (at ``run_at``), ``cron`` (a crontab in the township's zone,
    e.g. ``0 9 * * 1`` for 每周一 09:00), or ``none`` (deadline reminders only).

Deadline reminders
    At 09:00 on the T−n working day (n in ``reminder_offsets``, default 7, 3, 1) before the
    deadline, counted with the township's calendar (holidays off, 调休 make-up days on).

Firing, idempotent and coalesced
    A slot fires once: its run key (``send:once``, ``send:<UTC minute>``, ``remind:T-<n>``) is
    unique per notice. After downtime only the latest missed slot of each kind fires (like
    APScheduler's coalesce); a recurring slot older than :data:`RECURRING_GRACE` is skipped.

Quiet hours and holidays
    A non-urgent message whose time falls in quiet hours (22:00–07:00 by default) or on a
    non-working day is deferred to the next working morning (09:00); urgent ones go at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

from cases.calendar import WorkCalendar, parse_hhmm
from vocab import PERSON_ROLES

BROADCAST_ROLES = frozenset({"center", "admin"})
DEFAULT_ROLES: tuple[str, ...] = ("leader", "worker")
KNOWN_ROLES = frozenset(PERSON_ROLES)
DEFAULT_REMINDERS: tuple[int, ...] = (7, 3, 1)
SCHEDULE_KINDS = ("now", "once", "cron", "none")
REMINDER_TIME = time(9)
MORNING = time(9)
RECURRING_GRACE = timedelta(hours=6)
CRON_LOOKBACK = timedelta(days=40)

WEEKDAYS = {"一": "mon", "二": "tue", "三": "wed", "四": "thu", "五": "fri", "六": "sat",
            "日": "sun", "天": "sun"}
_PHRASE = re.compile(
    r"^(?:(?P<daily>每天|每日)|每周(?P<weekday>[一二三四五六日天])|每月(?P<monthday>\d{1,2})[日号])"
    r"\s*(?P<hhmm>\d{1,2}[:：]\d{2})$"
)


class NoticeRuleError(ValueError):
    """A notice that cannot be: ``code`` names the rule (the texts module words it)."""

    def __init__(self, code: str, **detail: object) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def may_broadcast(role: str) -> bool:
    """Only township centre staff and admins may broadcast notices."""
    return role in BROADCAST_ROLES


# -- audience ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who a notice is for (see the module docstring)."""

    grids: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    chats: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> Audience:
        data = data or {}

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key) or ()
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise NoticeRuleError("audience_field", field=key)
            return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))

        audience = cls(strings("grids"), strings("roles"), strings("chats"), strings("users"),
                       bool(data.get("groups", True)))
        unknown = [r for r in audience.roles if r not in KNOWN_ROLES]
        if unknown:
            raise NoticeRuleError("unknown_role", roles=unknown)
        if not (audience.grids or audience.chats or audience.users):
            raise NoticeRuleError("empty_audience")
        return audience

    def to_dict(self) -> dict[str, object]:
        return {"grids": list(self.grids), "roles": list(self.roles), "chats": list(self.chats),
                "users": list(self.users), "groups": self.groups}

    @property
    def member_roles(self) -> tuple[str, ...]:
        """Roles whose members in the grids receive the notice."""
        return self.roles or (DEFAULT_ROLES if self.grids else ())


# -- schedules --------------------------------------------------------------------------------


def phrase_to_cron(phrase: str) -> str:
    """``每周一 09:00`` → ``0 9 * * mon``; ``每天 08:30``, ``每月1日 09:00`` likewise."""
    found = _PHRASE.match(re.sub(r"\s+", " ", phrase.strip()))
    if not found:
        raise NoticeRuleError("bad_schedule", text=phrase)
    at = parse_hhmm(found.group("hhmm").replace("：", ":"))
    if at.hour > 23 or at.minute > 59:
        raise NoticeRuleError("bad_schedule", text=phrase)
    if found.group("daily"):
        return f"{at.minute} {at.hour} * * *"
    if found.group("weekday"):
        return f"{at.minute} {at.hour} * * {WEEKDAYS[found.group('weekday')]}"
    day = int(found.group("monthday"))
    if not 1 <= day <= 31:
        raise NoticeRuleError("bad_schedule", text=phrase)
    return f"{at.minute} {at.hour} {day} * *"


def cron_trigger(cron: str, calendar: WorkCalendar) -> CronTrigger:
    """A crontab in the township's time zone (raises :class:`NoticeRuleError` if invalid)."""
    try:
        return CronTrigger.from_crontab(cron, timezone=calendar.tz)
    except (ValueError, TypeError) as exc:
        raise NoticeRuleError("bad_cron", text=cron) from exc


def cron_slots(cron: str, calendar: WorkCalendar, after: datetime, until: datetime,
               limit: int = 1000) -> list[datetime]:
    """Fire times of ``cron`` in ``(after, until]``, oldest first (at most ``limit``)."""
    trigger = cron_trigger(cron, calendar)
    slots: list[datetime] = []
    previous: datetime | None = None
    current = calendar.local(after) + timedelta(microseconds=1)
    while len(slots) < limit:
        nxt = trigger.get_next_fire_time(previous, current)
        if nxt is None or nxt > until:
            break
        if nxt > after:
            slots.append(nxt)
        previous = nxt
        current = nxt + timedelta(seconds=1)
    return slots


def next_cron_slots(cron: str, calendar: WorkCalendar, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``after`` (for the confirmation)."""
    return cron_slots(cron, calendar, after, after + timedelta(days=800), limit=count)


@dataclass(frozen=True)
class Reminder:
    """One T−n working-day reminder."""

    offset: int
    at: datetime  # township zone
    provisional: bool  # rests on a day the calendar had to guess

    @property
    def run_key(self) -> str:
        return f"remind:T-{self.offset}"


def reminder_plan(calendar: WorkCalendar, deadline: date, offsets: Iterable[int],
                  at: time = REMINDER_TIME) -> list[Reminder]:
    """Reminders at ``at`` on the T−n working days before ``deadline``, earliest first."""
    plan: dict[datetime, Reminder] = {}
    for n in sorted({int(n) for n in offsets}, reverse=True):
        if n < 0:
            raise NoticeRuleError("bad_offset", offset=n)
        day, provisional = calendar.working_day_before(deadline, n)
        when = datetime.combine(day, at, tzinfo=calendar.tz)
        plan.setdefault(when, Reminder(n, when, provisional))
    return sorted(plan.values(), key=lambda r: r.at)


def parse_offsets(text: str | Sequence[int] | None) -> tuple[int, ...]:
    """``"7,3,1"`` or ``[7, 3, 1]`` → ``(7, 3, 1)``; None → the default."""
    if text is None or text == "":
        return DEFAULT_REMINDERS
    items = re.split(r"[,，、\s]+", text.strip()) if isinstance(text, str) else list(text)
    try:
        offsets = tuple(sorted({int(i) for i in items if str(i).strip()}, reverse=True))
    except (TypeError, ValueError) as exc:
        raise NoticeRuleError("bad_offset", offset=text) from exc
    if not offsets or any(n < 0 or n > 60 for n in offsets):
        raise NoticeRuleError("bad_offset", offset=text)
    return offsets


# -- quiet hours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """A nightly window when only urgent messages go out (may wrap past midnight)."""

    start: time = time(22)
    end: time = time(7)

    @classmethod
    def from_pair(cls, pair: tuple[str, str]) -> QuietHours:
        return cls(parse_hhmm(pair[0]), parse_hhmm(pair[1]))

    def contains(self, t: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def deliver_time(calendar: WorkCalendar, quiet: QuietHours, at: datetime, *, urgent: bool,
                 morning: time = MORNING) -> datetime:
    """When a message due at ``at`` may go: at once if urgent or in working daytime, else the
    next working morning."""
    local = calendar.local(at)
    if urgent:
        return local
    if calendar.is_working_day(local.date()) and not quiet.contains(local.time()):
        return local
    return calendar.next_working_morning(local, morning)


# -- firing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeTimes:
    """The scheduling facts of one notice."""

    kind: str  # now|once|cron|none
    created_at: datetime
    run_at: datetime | None = None
    cron: str | None = None
    deadline: date | None = None
    offsets: tuple[int, ...] = ()
    fired: frozenset[str] = field(default_factory=frozenset)  # run keys already fired
    last_send_slot: datetime | None = None  # newest recurring slot already fired


@dataclass(frozen=True)
class DueRun:
    """A slot to fire now."""

    run_key: str
    kind: str  # send|remind
    slot: datetime
    reminder: Reminder | None = None


def send_key(slot: datetime) -> str:
    """The run key of a recurring slot: its UTC minute."""
    return "send:" + slot.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def _reminder_offset(run_key: str) -> int | None:
    prefix = "remind:T-"
    return int(run_key[len(prefix):]) if run_key.startswith(prefix) else None


def deadline_passed(calendar: WorkCalendar, deadline: date | None, now: datetime) -> bool:
    return deadline is not None and calendar.local(now).date() > deadline


def due_runs(times: NoticeTimes, calendar: WorkCalendar, now: datetime,
             kinds: Iterable[str] = ("send", "remind")) -> list[DueRun]:
    """The slots of one notice that should fire at ``now`` and have not fired yet."""
    kinds = set(kinds)
    due: list[DueRun] = []
    if "send" in kinds:
        if times.kind in ("now", "once"):
            slot = times.run_at or times.created_at
            if (slot <= now and "send:once" not in times.fired
                    and not deadline_passed(calendar, times.deadline, now)):
                due.append(DueRun("send:once", "send", slot))
        elif times.kind == "cron" and times.cron:
            after = max(times.created_at, times.last_send_slot or times.created_at,
                        now - CRON_LOOKBACK)
            slots = cron_slots(times.cron, calendar, after, now)
            if slots and now - slots[-1] <= RECURRING_GRACE:
                key = send_key(slots[-1])
                if key not in times.fired:
                    due.append(DueRun(key, "send", slots[-1]))
    if (
        "remind" in kinds
        and times.deadline is not None
        and times.offsets
        and not deadline_passed(calendar, times.deadline, now)
    ):
        ready = [r for r in reminder_plan(calendar, times.deadline, times.offsets)
                 if times.created_at < r.at <= now]
        if ready and ready[-1].run_key not in times.fired:
            latest = ready[-1]
            # never go back to an earlier reminder once a later one has fired
            later = (_reminder_offset(k) for k in times.fired)
            if not any(n is not None and n < latest.offset for n in later):
                due.append(DueRun(latest.run_key, "remind", latest.at, latest))
    return due


def finished(times: NoticeTimes, calendar: WorkCalendar, now: datetime) -> bool:
    """Whether nothing is left to fire (a recurring notice never finishes by itself)."""
    if times.kind == "cron":
        return False
    if times.kind in ("now", "once") and "send:once" not in times.fired and not deadline_passed(
        calendar, times.deadline, now
    ):
        return False
    if times.deadline is not None and times.offsets and not deadline_passed(
        calendar, times.deadline, now
    ):
        future = [r for r in reminder_plan(calendar, times.deadline, times.offsets) if r.at > now]
        if future:
            return False
    return True
