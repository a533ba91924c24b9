"""A resident's ticket commands, and the short answers that belong to a ticket:

    查询 · 查询 N · 补充 N 内容 · 撤销 N · 评价 N 满意|一般|不满意 [意见]
    an image, voice, location, video or file within 10 minutes after a report: attached to it

Answers to the rating prompt in words ("还行吧", "3 师傅没来") are ``handlers.conversation``'s.
Permissions are the core's: only the reporter rates, supplements or withdraws (staff may look).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from cases import wording as core_texts
from cases.model import FINAL_STATUSES, Action, Rating, Role, Status
from handlers.base import CommandHandler, CommandMatch, Context, FunctionHandler, Handler
from handlers.help import roles_for
from handlers.tickets import (
    announcer,
    find,
    finish,
    level_label,
    note_action,
    note_of,
    refused,
    resident_detail,
    show,
    status_label,
    workflow,
)
from notify.wording import tickets as T
from store import prompts
from store.models import Ticket

ATTACH_WINDOW = timedelta(minutes=10)
MEDIA_KINDS = frozenset({"image", "voice", "location", "video", "file"})
_RATING_ORDER = sorted(T.RATING_WORDS, key=len, reverse=True)


def parse_rating(text: str) -> tuple[str | None, str]:
    """``"不满意 太慢了"`` → ``("unsatisfied", "太慢了")``; ``(None, text)`` if no rating word."""
    text = text.strip()
    for word in _RATING_ORDER:
        if text.startswith(word):
            return T.RATING_WORDS[word], text[len(word):].strip(" ，,。:：")
    return None, text


def _query(ctx: Context, match: CommandMatch) -> str:
    if match.number is None:
        return _my_tickets(ctx)
    return show(ctx, match, resident_detail, "query")


def _my_tickets(ctx: Context) -> str:
    tickets = ctx.session.scalars(
        select(Ticket).where(Ticket.reporter_id == ctx.person.id)
        .order_by(Ticket.id.desc()).limit(10)
    ).all()
    if not tickets:
        ctx.reply(T.MY_TICKETS_NONE)
        return "query:0"
    lines = [T.MY_TICKETS_HEAD.format(count=len(tickets))]
    for ticket in tickets:
        lines.append(T.MY_TICKET_LINE.format(
            number=ticket.id, category=ctx.services.classifier.category_name(ticket.category),
            status=status_label(ticket), text=ticket.text[:20]))
    lines.append(T.MY_TICKETS_TAIL)
    ctx.reply("\n".join(lines))
    return f"query:{len(tickets)}"


def _rate_command(ctx: Context, match: CommandMatch) -> str:
    rating, comment = parse_rating(note_of(ctx, match))
    if rating is None:
        ctx.reply(T.USAGE_RATE)
        return "usage:评价"
    ticket = find(ctx, match)
    if ticket is None:
        return refused(None)
    prompts.forget_choice(ctx.session, ctx.person.id)  # the command answers "which ticket?"
    return rate(ctx, ticket, rating, comment)


def rate(ctx: Context, ticket: Ticket, rating: str, comment: str) -> str:
    """评单: close (满意/一般) or reopen one level up (不满意); tell the people concerned."""
    outcome = workflow(ctx).act(ticket, Action.RATE, ctx.person, now=ctx.now, rating=rating,
                                note=comment, source_message_id=ctx.inbound.id)
    if not outcome:
        ctx.reply(outcome.reason or "", ticket_id=ticket.id)
        return refused(outcome)
    if ticket.status == Status.DISPATCHED:
        done = T.DONE_RATE_UNSATISFIED.format(
            number=ticket.id, level=level_label(ticket.level),
            handler=ticket.assignee.name if ticket.assignee else "")
        announcer(ctx, ticket).announce(outcome, ctx.person)
        ctx.reply(done, ticket_id=ticket.id)
        return f"rate:{ticket.id}"
    return finish(ctx, outcome, T.DONE_RATE.format(
        number=ticket.id, rating=core_texts.RATING_LABELS[Rating(rating)]))


def _is_attachment(ctx: Context) -> Ticket | None:
    if ctx.message.kind not in MEDIA_KINDS:
        return None
    return ctx.session.scalar(
        select(Ticket)
        .where(
            Ticket.reporter_id == ctx.person.id,
            Ticket.created_at >= ctx.now - ATTACH_WINDOW,
            Ticket.status.not_in([str(s) for s in FINAL_STATUSES]),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def _attach(ctx: Context, ticket: Ticket) -> str:
    message = ctx.message
    kind = T.ATTACHMENT_KINDS.get(message.kind, message.kind)
    data = {"attachment": message.kind, "media_id": message.media_id,
            "location": message.location, "url": message.url}
    outcome = workflow(ctx).act(ticket, Action.SUPPLEMENT, ctx.person, now=ctx.now,
                                note=f"[{kind}]", source_message_id=ctx.inbound.id,
                                data={k: v for k, v in data.items() if v})
    if not outcome:
        return refused(outcome)
    return finish(ctx, outcome, T.DONE_ATTACHED.format(kind=kind, number=ticket.id))


def _command(*verbs: str) -> Callable[[Context], bool]:
    """Only the bare verb or the verb with a ticket number is a command; other text that
    happens to start with the word (``查询一下医保怎么交``) stays free text."""
    pattern = re.compile(rf"^/?(?:{'|'.join(verbs)})(?:\s*#?\s*\d+.*)?$", re.S)
    return lambda ctx: bool(pattern.match(ctx.text))


def resident_command_handlers() -> list[Handler]:
    """The resident's ticket commands, for ``handlers.commands``."""
    # A reporter's commands are the resident's; staff look with 详情, and withdraw when the
    # core lets their role (the centre, admins).
    resident = frozenset({str(Role.RESIDENT)})
    return [
        CommandHandler(["查询", "查看", "我的工单"], _query,
                       allowed=_command("查询", "查看", "我的工单"),
                       help=T.HELP_QUERY, roles=resident),
        CommandHandler(["补充"], note_action(Action.SUPPLEMENT, T.DONE_SUPPLEMENT),
                       needs_number=True, needs_text=True,
                       usage=T.USAGE_SUPPLEMENT, allowed=_command("补充"),
                       help=T.HELP_SUPPLEMENT, roles=resident),
        CommandHandler(["撤销", "撤回"], note_action(Action.WITHDRAW, T.DONE_WITHDRAW),
                       needs_number=True, usage=T.USAGE_WITHDRAW,
                       allowed=_command("撤销", "撤回"),
                       help=T.HELP_WITHDRAW, roles=resident | roles_for(Action.WITHDRAW)),
        CommandHandler(["评价"], _rate_command, needs_number=True, usage=T.USAGE_RATE,
                       allowed=_command("评价"), help=T.HELP_RATE, roles=resident),
        FunctionHandler(_is_attachment, _attach),
    ]

