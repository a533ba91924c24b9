"""Render ticket happenings as WeCom messages: the dispatch task card and urgent alerts."""

from __future__ import annotations

from datetime import datetime, tzinfo

from nlp import mask_pii
from notify import texts
from notify.messenger import Messenger
from store.models import Person, Ticket


def format_due(when: datetime | None, tz: tzinfo) -> str:
    """``11月24日(周二) 14:30`` in the township's time zone."""
    if when is None:
        return "—"
    local = when.astimezone(tz)
    return texts.DUE_FORMAT.format(
        month=local.month, day=local.day, weekday=texts.WEEKDAYS[local.weekday()],
        hh=local.hour, mm=local.minute,
    )


def dispatch_card(ticket: Ticket, category_name: str, tz: tzinfo) -> dict:
    """A button_interaction template card whose buttons send the same text as typed commands."""
    title = texts.DISPATCH_CARD_URGENT_TITLE if ticket.urgent else texts.DISPATCH_CARD_TITLE
    reporter = ticket.reporter.name or ticket.reporter.userid
    return {
        "card_type": "button_interaction",
        "main_title": {
            "title": title.format(number=ticket.id, category=category_name),
            "desc": texts.DISPATCH_CARD_DESC.format(
                grid=ticket.grid.name if ticket.grid else "未定网格", reporter=reporter
            ),
        },
        "sub_title_text": ticket.text[:120],
        "horizontal_content_list": [
            {"keyname": "接单时限", "value": format_due(ticket.accept_due, tz)},
            *([{"keyname": "位置", "value": ticket.location}] if ticket.location else []),
        ],
        "task_id": f"ticket-{ticket.id}-dispatch-{int(ticket.dispatched_at.timestamp()) if ticket.dispatched_at else 0}",
        "button_list": [
            {"text": texts.DISPATCH_BUTTON_ACCEPT, "style": 1, "key": f"接单 {ticket.id}"},
            {"text": texts.DISPATCH_BUTTON_DETAIL, "style": 2, "key": f"详情 {ticket.id}"},
        ],
    }


def send_dispatch(
    messenger: Messenger, ticket: Ticket, handler: Person, category_name: str, tz: tzinfo,
    *, key: str,
) -> None:
    """The task card to the new handler (staff see the unmasked text: they must call back)."""
    messenger.card_to(handler, key=key, card=dispatch_card(ticket, category_name, tz),
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
