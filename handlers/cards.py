"""Clicked task cards show what became of their ticket.

A click on a task card's button comes as a ``template_card_event`` carrying a ResponseCode. Once
the router has handled the click (the button's command, refused by the core if the card is
stale), the card is brought up to date: unless it is still the ticket's current card for the
person who clicked, its buttons are greyed out under the ticket's state — 已接单·李娟, 已办结,
已转派·张伟 … — by a ``message/update_template_card`` call, queued in the outbox in the same
transaction as the click's effects, like every other outgoing message.
"""

from __future__ import annotations

from sqlalchemy import select

from handlers.base import Context
from notify.tickets import card_caption, ticket_number_of
from store.ids import fits_id
from store.models import Ticket, TicketEvent


def refresh_clicked_card(ctx: Context) -> None:
    """After a task card click: queue the update of the clicked card if its ticket moved on."""
    message = ctx.message
    if message.event != "template_card_event" or not message.response_code:
        return
    number = ticket_number_of(message.task_id or "")
    if number is None or not fits_id(number):
        return
    ticket = ctx.session.get(Ticket, number)
    if ticket is None:
        return
    last_action = ctx.session.scalar(
        select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id.desc()).limit(1)
    )
    caption = card_caption(ticket, ctx.person, message.task_id or "", last_action)
    if caption is None:
        return
    ctx.messenger.update_card(
        message.sender, key=f"card:{message.dedup_key}", response_code=message.response_code,
        replace_name=caption, ticket_id=ticket.id,
    )
