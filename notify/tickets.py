"""Render ticket happenings as WeCom messages: task cards (new, reopened, escalated, accepted),
what a clicked card should say once its ticket has moved on, urgent alerts, and every deadline
anyone is shown (:func:`format_deadline`, 暂定 included)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from cases import wording as core_texts
from cases.calendar import WorkCalendar
from cases.ladder import Level
from cases.model import Action, Status
from nlp import mask_pii
from notify.messenger import Messenger
from notify.wording import tickets as texts
from store.models import Person, Ticket

_TASK_ID = re.compile(r"^ticket-(?P<number>\d{1,18})-(?:dispatch|working)-(?:\d+-)?\d+$")


def format_time(when: datetime | None, tz: tzinfo) -> str:
    """``11月24日(周二) 14:30`` in the township's time zone: when something happened. A deadline
    goes through :func:`format_deadline` instead."""
    if when is None:
        return "—"
    local = when.astimezone(tz)
    return texts.DUE_FORMAT.format(
        month=local.month, day=local.day, weekday=texts.WEEKDAYS[local.weekday()],
        hh=local.hour, mm=local.minute,
    )


def is_provisional(ticket: Ticket, when: datetime, calendar: WorkCalendar) -> bool:
    """Whether ``when``, one of ``ticket``'s deadlines, rests on days the calendar had to guess:
    the core marked the ticket's deadlines provisional and ``when`` falls on a day whose status
    is not known (a year chinesecalendar does not know yet, not overridden in config)."""
    return bool(ticket.deadlines_provisional) and not calendar.is_known(
        calendar.local(when).date())


def format_deadline(ticket: Ticket, when: datetime | None, calendar: WorkCalendar) -> str:
    """One of ``ticket``'s deadlines as everyone sees it, in every message and card:
    ``1月7日(周四) 10:00``, or ``1月7日(周四) 10:00（暂定）`` when it is provisional."""
    text = format_time(when, calendar.tz)
    if when is not None and is_provisional(ticket, when, calendar):
        return texts.DUE_PROVISIONAL.format(due=text)
    return text


class HandoverKind(StrEnum):
    """How a ticket reaches a handler who did not have it before."""

    NEW = "new"  # a new report, dispatched, transferred
    REOPENED = "reopened"  # the resident was not satisfied (不满意): 重办
    ESCALATED = "escalated"  # 上报 by the previous handler or by the SLA clock


@dataclass(frozen=True)
class Handover:
    """Why a ticket reaches its new handler: reopened with the resident's comment, or escalated
    with the reason, and the ladder level (its Chinese label) it came from."""

    kind: HandoverKind = HandoverKind.NEW
    from_level: str = ""
    note: str = ""


def _task_card(
    ticket: Ticket, title: str, due_label: str, due: datetime | None, calendar: WorkCalendar,
    stage: str, buttons: list[tuple[str, int, str]], extra: list[dict[str, str]] | None = None,
) -> dict:
    """A button_interaction template card; each button sends the text of a typed command."""
    reporter = ticket.reporter.name or ticket.reporter.userid
    return {
        "card_type": "button_interaction",
        "main_title": {
            "title": title,
            "desc": texts.DISPATCH_CARD_DESC.format(
                grid=ticket.grid.name if ticket.grid else texts.NO_GRID, reporter=reporter
            ),
        },
        "sub_title_text": ticket.text[:120],
        "horizontal_content_list": [
            {"keyname": due_label, "value": format_deadline(ticket, due, calendar)},
            *(extra or []),
            *([{"keyname": texts.CARD_LOCATION, "value": ticket.location}]
              if ticket.location else []),
            *source_items(ticket),
        ],
        "task_id": task_id(ticket, stage),
        "button_list": [
            {"text": text, "style": style, "key": key} for text, style, key in buttons
        ],
    }


def source_label(ticket: Ticket) -> str | None:
    """``12345热线 工单 A123`` for an order from another system (its reporter stands for the
    system), None for a resident's report."""
    if not ticket.source:
        return None
    return texts.SOURCE_LABEL.format(source=ticket.reporter.name or ticket.source,
                                     external_id=ticket.external_id or "")


def source_items(ticket: Ticket) -> list[dict[str, str]]:
    """The card lines of an outside order: its source, and the caller's contact (the handler
    must call back; a card is 1:1, never in a group)."""
    label = source_label(ticket)
    if label is None:
        return []
    items = [{"keyname": texts.CARD_SOURCE, "value": label}]
    contact = ticket.contact or {}
    shown = " ".join(str(contact[k]) for k in ("name", "phone") if contact.get(k))
    if shown:
        items.append({"keyname": texts.CARD_CONTACT, "value": shown[:60]})
    return items


def task_id(ticket: Ticket, stage: str, *, legacy: bool = False) -> str:
    """The card's WeCom task id (unique per app, WeCom says): ticket, stage (``dispatch`` or
    ``working``), handler and when the stage began, so each handler's card of each dispatch or
    acceptance of a ticket is a card of its own. ``legacy``: the id as it was before it named
    the handler (cards sent then are still on people's phones)."""
    started = ticket.accepted_at if stage == "working" else ticket.dispatched_at
    stamp = int(started.timestamp()) if started else 0
    if legacy:
        return f"ticket-{ticket.id}-{stage}-{stamp}"
    return f"ticket-{ticket.id}-{stage}-{ticket.assignee_id or 0}-{stamp}"


def ticket_number_of(card_task_id: str) -> int | None:
    """The ticket a task card is about, or None for a task id that is not a ticket card's."""
    found = _TASK_ID.match(card_task_id or "")
    return int(found.group("number")) if found else None


def card_caption(ticket: Ticket, viewer: Person, card_task_id: str,
                 last_action: str | None = None) -> str | None:
    """What the buttons of ``viewer``'s card ``card_task_id`` should now say (已接单·李娟,
    已办结, 已转派·张伟 …), or None while the card is the ticket's current one for ``viewer``
    and its buttons still mean what they say. ``last_action``: the ticket's latest event."""
    status = ticket.status
    mine = ticket.assignee_id is not None and ticket.assignee_id == viewer.id
    if mine and (
        (status == Status.DISPATCHED and _is_current(card_task_id, ticket, "dispatch"))
        or (status == Status.ACCEPTED and _is_current(card_task_id, ticket, "working"))
    ):
        return None
    handler = _handler_name(ticket)
    if status == Status.ACCEPTED:
        return texts.CARD_STATE_ACCEPTED.format(name=handler)
    if status == Status.DISPATCHED:
        if mine:
            return texts.CARD_STATE_NEWER
        if last_action in (Action.ESCALATE, Action.REOPEN, Action.RATE):
            return texts.CARD_STATE_ESCALATED.format(name=handler)
        return texts.CARD_STATE_TRANSFERRED.format(name=handler)
    return texts.CARD_STATE_FINAL.get(status, texts.CARD_STATE_FINAL[Status.CLOSED])


def _is_current(card_task_id: str, ticket: Ticket, stage: str) -> bool:
    """The card is the ticket's card for ``stage`` now (in either task id format)."""
    return card_task_id in (task_id(ticket, stage), task_id(ticket, stage, legacy=True))


def _handler_name(ticket: Ticket) -> str:
    if ticket.assignee is not None:
        return ticket.assignee.name or ticket.assignee.userid
    try:
        return core_texts.LEVEL_LABELS[Level(ticket.level)]
    except ValueError:
        return texts.NO_GRID


def is_unsure(ticket: Ticket) -> bool:
    """The classifier reached no category: the centre decides what the ticket is about."""
    return bool((ticket.classification or {}).get("unsure"))


def dispatch_card(ticket: Ticket, category_name: str, calendar: WorkCalendar,
                  handover: Handover | None = None) -> dict:
    """The task to accept: 接单 and 详情 buttons, the deadline to accept; a reopened or escalated
    ticket is titled so (重办工单, 上报工单) and shows where it came from and why; a ticket no
    category reached is marked for the centre's triage."""
    handover = handover or Handover()
    title = texts.CARD_TITLES[handover.kind.value]
    if ticket.urgent:
        title = texts.CARD_URGENT_PREFIX + title
    if is_unsure(ticket):
        category_name += texts.UNSURE_MARK
    extra = []
    if handover.kind is not HandoverKind.NEW:
        if handover.from_level:
            extra.append({"keyname": texts.CARD_FROM_LEVEL, "value": handover.from_level})
        if handover.note:
            extra.append({"keyname": texts.CARD_NOTE_KEYS[handover.kind.value],
                          "value": _clip(handover.note, texts.CARD_VALUE_LIMIT)})
    return _task_card(
        ticket, title.format(number=ticket.id, category=category_name), texts.CARD_ACCEPT_DUE,
        ticket.accept_due, calendar, "dispatch",
        [(texts.DISPATCH_BUTTON_ACCEPT, 1, f"接单 {ticket.id}"),
         (texts.DISPATCH_BUTTON_DETAIL, 2, f"详情 {ticket.id}")],
        extra,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def working_card(ticket: Ticket, category_name: str, calendar: WorkCalendar) -> dict:
    """The accepted task: 办结 (with a standard note; typed 办结 N 说明 says more) and 详情."""
    return _task_card(
        ticket, texts.WORKING_CARD_TITLE.format(number=ticket.id, category=category_name),
        texts.CARD_RESOLVE_DUE, ticket.resolve_due, calendar, "working",
        [(texts.WORKING_BUTTON_RESOLVE, 1, f"办结 {ticket.id} {texts.RESOLVED_BY_CARD}"),
         (texts.DISPATCH_BUTTON_DETAIL, 2, f"详情 {ticket.id}")],
    )


def send_dispatch(
    messenger: Messenger, ticket: Ticket, handler: Person, category_name: str,
    calendar: WorkCalendar, *, key: str, handover: Handover | None = None,
) -> None:
    """The task card to the new handler (staff see the unmasked text: they must call back)."""
    messenger.card_to(handler, key=key,
                      card=dispatch_card(ticket, category_name, calendar, handover),
                      ticket_id=ticket.id, urgent=ticket.urgent)


def send_urgent_alerts(
    messenger: Messenger, ticket: Ticket, leaders: tuple[Person, ...], category_name: str,
    *, key: str,
) -> None:
    handler = ticket.assignee.name if ticket.assignee else "综治中心"
    for leader in leaders:
        messenger.text_to(
            leader,
            key=f"{key}:{leader.userid}",
            text=texts.URGENT_ALERT.format(
                grid=ticket.grid.name if ticket.grid else "", number=ticket.id,
                category=category_name, text=mask_pii(ticket.text[:80]), handler=handler,
            ),
            ticket_id=ticket.id,
            urgent=True,
        )
