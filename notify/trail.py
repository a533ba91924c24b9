"""A ticket's trail in words: one line per audit event, oldest first, nothing left out.

Each line says when, who and what, with what matters for that step: the handler a dispatch or
transfer went to, an escalation's levels and reason, a rating's value and comment (and the
reopening a 不满意 caused), the note of a progress, resolution or return. :func:`pages` cuts the
lines into pages for chat (``详情 12 2``), and :func:`chunks` keeps every message under WeCom's
size limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import wording as core_texts
from cases.calendar import WorkCalendar
from cases.model import Action, Rating
from nlp import mask_pii
from notify.ticket_events import level_label, title
from notify.tickets import format_time
from notify.wording import tickets as texts
from store.models import Person, Ticket, TicketEvent

#: WeCom refuses a text message over 2048 bytes (UTF-8).
MESSAGE_BYTES = 2048
NOTE_CHARS = 60


def trail_lines(session: Session, ticket: Ticket, calendar: WorkCalendar, *,
                masked: bool = False) -> list[str]:
    """Every event of ``ticket`` as one line, oldest first (``masked``: PII hidden, for groups)."""
    rows = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).all()
    people = _people(session, rows)
    lines = []
    for row in rows:
        actor = people.get(row.actor_id) if row.actor_id else None
        line = texts.TRAIL_LINE.format(
            when=format_time(row.created_at, calendar.tz),
            who=title(actor) if actor else texts.SYSTEM_NAME,
            what=_what(row, people)
            + (texts.TRAIL_VIA_CONSOLE if (row.data or {}).get("via") == "console" else ""),
        )
        lines.append(mask_pii(line) if masked else line)
    return lines


def _people(session: Session, rows: Sequence[TicketEvent]) -> dict[int, Person]:
    """The actors and the handlers the events name, in one query."""
    ids = {row.actor_id for row in rows if row.actor_id}
    ids |= {int(row.data["assignee_id"]) for row in rows
            if isinstance((row.data or {}).get("assignee_id"), int)}
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}


def _clip(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…"


def _what(row: TicketEvent, people: dict[int, Person]) -> str:
    """What one event did, in words."""
    data = row.data or {}
    note = _clip(row.note)
    assignee_id = data.get("assignee_id")
    handler = people.get(assignee_id) if isinstance(assignee_id, int) else None
    to = title(handler) if handler is not None else ""
    try:
        action = Action(row.action)
    except ValueError:
        label = texts.TRAIL_OTHER_ACTIONS.get(row.action, row.action)
        return label if row.action == "create" or not note else texts.TRAIL_NOTE.format(
            label=label, note=note)
    label = core_texts.ACTION_LABELS[action]
    if action in (Action.DISPATCH, Action.TRANSFER) and to:
        return texts.TRAIL_HANDED.format(label=label, handler=to)
    if action is Action.ESCALATE:
        return texts.TRAIL_ESCALATED.format(
            source=level_label(str(data.get("from_level", ""))) or "—",
            target=level_label(str(data.get("level", ""))) + (handler.name if handler else ""),
            reason=note or texts.NO_COMMENT)
    if action is Action.RATE:
        return _rating(data, note, handler)
    if action is Action.CLOSE_UNRATED:
        return texts.TRAIL_CLOSED_UNRATED
    if action is Action.RECLASSIFY:
        return texts.TRAIL_RECLASSIFIED.format(
            source=data.get("from_name") or data.get("from_category") or "—",
            target=data.get("name") or data.get("category") or "—",
            reason=note or texts.NO_COMMENT)
    if action is Action.MERGE and data.get("duplicate_of_id"):
        return texts.TRAIL_MERGED.format(number=data["duplicate_of_id"])
    return texts.TRAIL_NOTE.format(label=label, note=note) if note else label


def _rating(data: dict, comment: str, handler: Person | None) -> str:
    try:
        rating = Rating(str(data.get("rating")))
    except ValueError:
        rating = Rating.UNRATED
    text = texts.TRAIL_RATED.format(rating=core_texts.RATING_LABELS[rating])
    if comment:
        text += texts.TRAIL_RATING_COMMENT.format(comment=comment)
    if data.get("reopened"):
        template = texts.TRAIL_REOPENED if data.get("escalated") else texts.TRAIL_REOPENED_SAME
        text += template.format(
            target=level_label(str(data.get("level", ""))) + (handler.name if handler else ""))
    return text


def pages(lines: Sequence[str], size: int) -> list[list[str]]:
    """``lines`` in pages of ``size`` (at least one page, possibly empty)."""
    return [list(lines[i:i + size]) for i in range(0, len(lines), size)] or [[]]


def chunks(lines: Iterable[str], limit: int = MESSAGE_BYTES) -> list[str]:
    """Join ``lines`` into as few messages as fit ``limit`` UTF-8 bytes each; a line longer than
    that on its own is cut (it would be refused whole)."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        while len(line.encode()) > limit:
            line = line[: len(line) * limit // len(line.encode()) - 1]
        cost = len(line.encode()) + (1 if current else 0)
        if current and size + cost > limit:
            messages.append("\n".join(current))
            current, size = [], 0
            cost = len(line.encode())
        current.append(line)
        size += cost
    if current:
        messages.append("\n".join(current))
    return messages
