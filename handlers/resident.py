"""What a resident's free text becomes: nothing (chatter), an FAQ answer, or a dispatched ticket.

These handlers run after every command handler: a message that is no command is classified. What
opens no ticket gets no word in a group; in a 1:1 chat chatter (收到, 好的, 👍 …) gets the greeting,
a closing remark (水管修好了，谢谢你们) a short "you're welcome", and a message that asks for nothing
a hint on how to report. A policy question gets its FAQ answer; a request opens a ticket
(``cases.intake``), the resident is told its number and the deadline, and the handler gets a task
card (a request no category reached goes to the centre's triage, flagged unsure).
"""

from __future__ import annotations

from cases.intake import Request, open_ticket
from handlers.base import Context, FunctionHandler, Handler
from handlers.conversation import conversation_handlers
from nlp import Classification, extract_location
from notify.tickets import format_deadline, is_provisional, send_dispatch, send_urgent_alerts
from notify.wording import chat as texts
from notify.wording import tickets as ticket_texts
from vocab.labels import role_title

#: what opens no ticket, and what a 1:1 chat answers to it (chatter: the greeting)
QUIET_KINDS = {"chatter": "", "closing": texts.CLOSING_1TO1, "unclear": texts.REPORT_HINT}


def _non_text(ctx: Context) -> bool | None:
    """Events and media no other handler took (menus, enter_agent, stray pictures)."""
    message = ctx.message
    if message.kind == "event":
        return True
    return True if message.kind != "text" or not ctx.text else None


def _ignore_non_text(ctx: Context, _match: object) -> str:
    message = ctx.message
    if message.kind == "event" and message.event == "enter_agent":
        ctx.reply(texts.GREETING_1TO1.format(
            bot=ctx.services.settings.aibot.name, township=ctx.services.settings.township))
        return "greeted"
    return f"ignored:{message.kind if message.kind != 'event' else message.event}"


def _free_text(ctx: Context) -> Classification:
    return ctx.services.classifier.classify(ctx.text)


def _handle_free_text(ctx: Context, found: Classification) -> str:
    if found.kind in QUIET_KINDS:
        if ctx.message.in_group:
            return f"ignored:{found.kind}"
        if found.kind == "chatter":
            ctx.reply(texts.GREETING_1TO1.format(
                bot=ctx.services.settings.aibot.name, township=ctx.services.settings.township))
            return "greeted"
        ctx.reply(QUIET_KINDS[found.kind])
        return f"hinted:{found.kind}"
    if found.kind == "faq" and found.faq is not None:
        ctx.reply(texts.FAQ_ANSWER.format(answer=found.faq.answer))
        return f"faq:{found.faq.id}"
    return _open_ticket(ctx, found)


def _open_ticket(ctx: Context, found: Classification) -> str:
    services = ctx.services
    calendar = services.calendar
    opened = open_ticket(
        ctx.session,
        settings=services.settings,
        calendar=services.calendar,
        roster=services.roster.get(ctx.session),
        reporter=ctx.person,
        group=ctx.group,
        request=Request(
            text=ctx.message.text,
            category=found.category,
            second_category=found.second_category,
            tier=found.tier,
            urgent=found.urgent,
            department=found.department,
            location=extract_location(ctx.message.text),
            explanation=found.explanation,
        ),
        channel=ctx.message.channel,
        reply_to={"userid": ctx.message.sender, "chat_id": ctx.message.chat_id},
        source_message_id=ctx.inbound.id,
        now=ctx.now,
    )
    ticket = opened.ticket
    category = services.classifier.category_name(ticket.category)
    if opened.duplicate_of is not None:
        ctx.reply(ticket_texts.DUPLICATE_LINKED.format(
            number=opened.duplicate_of.id, own=ticket.id, category=category), ticket_id=ticket.id)
        return f"duplicate:{ticket.id}:{opened.duplicate_of.id}"
    if opened.handler is not None and not opened.triage:
        shown = ticket.accept_due
        answer = texts.TICKET_ACCEPTED.format(
            number=ticket.id, category=category, handler=_handler_title(opened.handler.role,
                                                                        opened.handler.name),
            accept_due=format_deadline(ticket, shown, calendar),
        )
    else:
        shown = ticket.dispatch_due
        answer = texts.TICKET_ACCEPTED_TRIAGE.format(
            number=ticket.id, category=category,
            dispatch_due=format_deadline(ticket, shown, calendar),
        )
    if shown is not None and is_provisional(ticket, shown, calendar):
        answer += texts.TICKET_PROVISIONAL_SUFFIX
    if ticket.urgent:
        answer += texts.TICKET_URGENT_SUFFIX
    ctx.reply(answer, ticket_id=ticket.id, urgent=ticket.urgent)
    if opened.handler is not None:
        send_dispatch(ctx.messenger, ticket, opened.handler, category, calendar,
                      key=f"ticket:{ticket.id}:dispatch:1")
    if opened.leaders_to_alert:
        send_urgent_alerts(ctx.messenger, ticket, opened.leaders_to_alert, category,
                           key=f"ticket:{ticket.id}:urgent")
    return f"ticket:{ticket.id}"


def _handler_title(role: str, name: str) -> str:
    return f"{role_title(role)}{name}"


def resident_handlers() -> list[Handler]:
    """Stray events/media, replies to a pending prompt (a rating), then free text — in this
    order."""
    return [
        FunctionHandler(_non_text, _ignore_non_text),
        *conversation_handlers(),
        FunctionHandler(_free_text, _handle_free_text),
    ]
