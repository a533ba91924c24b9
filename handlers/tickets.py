"""Shared pieces of the ticket commands: the workflow for a message, ticket look-up, rendering.

Used by ``handlers.worker`` (staff) and ``handlers.resident_commands`` (residents).
"""

from __future__ import annotations

from collections.abc import Callable

from cases import wording as core_texts
from cases.deadlines import SlaClock
from cases.ladder import Level
from cases.lifecycle import decide
from cases.model import Action, Status
from cases.service import Outcome, Workflow, active_stage, actor_for, load, view_of
from handlers.base import CommandMatch, Context, normalise
from nlp import Classification, mask_pii
from notify.ticket_events import Announcer, title
from notify.tickets import format_deadline, source_label
from notify.trail import chunks, pages, trail_lines
from notify.wording import tickets as T
from notify.wording.residents import NO_ROUTE, VIA_APP
from store.models import Ticket
from vocab import STAFF_ROLES


def is_staff(ctx: Context) -> bool:
    return ctx.person.role in STAFF_ROLES


def workflow(ctx: Context) -> Workflow:
    services = ctx.services
    clock = SlaClock(services.settings.sla, services.calendar)
    return Workflow(ctx.session, services.settings, clock)


def announcer(ctx: Context, ticket: Ticket) -> Announcer:
    name = ctx.services.classifier.category_name(ticket.category)
    return Announcer(ctx.messenger, ctx.services.calendar, name,
                     rating_prompt_days=ctx.services.settings.conversation.rating_prompt_days)


def note_of(ctx: Context, match: CommandMatch) -> str:
    """The command's free text as the person typed it (full-width punctuation kept): the
    shortest tail of the original whose normalised form is the parsed rest."""
    original = ctx.message.command_text.strip()
    if not match.rest:
        return ""
    for start in range(len(original) - 1, -1, -1):
        if normalise(original[start:]) == match.rest:
            return original[start:].strip()
    return match.rest


def find(ctx: Context, match: CommandMatch) -> Ticket | None:
    """The ticket the command names, row-locked for the change; replies when there is none."""
    assert match.number is not None
    ticket = load(ctx.session, match.number, lock=True)
    if ticket is None:
        ctx.reply(T.NOT_FOUND.format(number=match.number))
    return ticket


def run(ctx: Context, match: CommandMatch, action: Action, **kwargs: object) -> Outcome | None:
    """Load, act, and on refusal reply with the reason; returns the outcome (None: no ticket)."""
    ticket = find(ctx, match)
    if ticket is None:
        return None
    outcome = workflow(ctx).act(
        ticket, action, ctx.person, now=ctx.now, source_message_id=ctx.inbound.id,
        **kwargs,  # type: ignore[arg-type]
    )
    if not outcome.allowed:
        ctx.reply(outcome.reason or "", ticket_id=ticket.id)
    return outcome


def finish(ctx: Context, outcome: Outcome, confirmation: str) -> str:
    """Tell everyone concerned, confirm to the actor, and name the outcome for the log."""
    assert outcome.ticket is not None
    announcer(ctx, outcome.ticket).announce(outcome, ctx.person)
    ctx.reply(confirmation, ticket_id=outcome.ticket.id)
    return f"{outcome.action}:{outcome.ticket.id}"


def note_action(
    action: Action, confirmation: str
) -> Callable[[Context, CommandMatch], str]:
    """A command that performs ``action`` with the typed text as its note and confirms with
    ``confirmation`` (formatted with the ticket ``number``): 进度, 办结, 补充, 撤销."""

    def callback(ctx: Context, match: CommandMatch) -> str:
        outcome = run(ctx, match, action, note=note_of(ctx, match))
        if not outcome:
            return refused(outcome)
        return finish(ctx, outcome, confirmation.format(number=match.number))

    return callback


def told_resident(
    action: Action, confirmation: str, unreached: str
) -> Callable[[Context, CommandMatch], str]:
    """Like :func:`note_action`, for an action the resident hears of (进度, 办结): the actor is
    told how the resident will hear of it (``{via}``), or that nothing can reach them."""

    def callback(ctx: Context, match: CommandMatch) -> str:
        outcome = run(ctx, match, action, note=note_of(ctx, match))
        if not outcome:
            return refused(outcome)
        assert outcome.ticket is not None
        reach = announcer(ctx, outcome.ticket).announce(outcome, ctx.person)
        if outcome.ticket.source:  # an outside system's order: no resident in chat to tell
            text = T.DONE_FOR_SOURCE[action.value].format(
                number=match.number, source=outcome.ticket.reporter.name)
        elif reach is not None and not reach.reachable:
            text = unreached.format(number=match.number, why=NO_ROUTE)
        else:
            text = confirmation.format(number=match.number,
                                       via=reach.via if reach is not None else VIA_APP)
        ctx.reply(text, ticket_id=outcome.ticket.id)
        return f"{outcome.action}:{outcome.ticket.id}"

    return callback


def show(ctx: Context, match: CommandMatch,
         render: Callable[[Context, Ticket, CommandMatch], list[str]], outcome: str) -> str:
    """Reply with the messages ``render`` makes if the person may view the ticket (查询 N,
    详情 N)."""
    ticket = find(ctx, match)
    if ticket is None:
        return refused(None)
    decision = decide(view_of(ticket), Action.VIEW, actor_for(ctx.session, ctx.person))
    if not decision.allowed:
        ctx.reply(decision.reason or "", ticket_id=ticket.id)
        return "refused:view"
    for text in render(ctx, ticket, match):
        ctx.reply(text, ticket_id=ticket.id)
    return f"{outcome}:{ticket.id}"


def refused(outcome: Outcome | None) -> str:
    if outcome is None:
        return "ticket:not-found"
    return f"refused:{outcome.action}"


def due(ctx: Context, ticket: Ticket, column: str) -> str:
    """One of the ticket's deadlines (``accept_due`` …) in words, 暂定 when provisional."""
    return format_deadline(ticket, getattr(ticket, column), ctx.services.calendar)


def status_label(ticket: Ticket) -> str:
    return core_texts.STATUS_LABELS[Status(ticket.status)]


def level_label(level: str) -> str:
    try:
        return core_texts.LEVEL_LABELS[Level(level)]
    except ValueError:
        return ""


def explain(ctx: Context, ticket: Ticket) -> str:
    """The classifier's explanation as stored with the ticket, in words."""
    ex = ticket.classification or {}
    if not ex:
        return T.NO_EXPLANATION
    found = Classification(
        kind="request", category=ticket.category, second_category=ticket.second_category,
        score=float(ex.get("scores", {}).get(ticket.category, 0.0)), urgent=ticket.urgent,
        urgent_terms=tuple(ex.get("urgent_terms", ())), tier=ticket.tier,
        department=ticket.department, faq=None, explanation=ex,
    )
    try:
        return found.explain_text() or T.NO_EXPLANATION
    except (KeyError, TypeError, ValueError, AttributeError):
        return T.NO_EXPLANATION


#: Events per page of 详情's trail; 查询 shows a resident this many of the latest.
TRAIL_PAGE = 10
RESIDENT_EVENTS = 4


def detail(ctx: Context, ticket: Ticket, match: CommandMatch) -> list[str]:
    """详情 for staff: everything, including the classification explanation, the deadlines and
    the trail: page 1 by default, ``详情 12 2`` another page, ``详情 12 全部`` all of it (in as
    many messages as WeCom's size limit needs)."""
    head = T.DETAIL.format(
        number=ticket.id,
        category=ctx.services.classifier.category_name(ticket.category),
        status=status_label(ticket),
        text=ticket.text,
        grid=ticket.grid.name if ticket.grid else "—",
        reporter=ticket.reporter.name or ticket.reporter.userid,
        level=level_label(ticket.level),
        handler=ticket.assignee.name if ticket.assignee else "",
        dispatch_due=due(ctx, ticket, "dispatch_due"),
        accept_due=due(ctx, ticket, "accept_due"),
        resolve_due=due(ctx, ticket, "resolve_due"),
        explain=explain(ctx, ticket),
    )
    source = source_label(ticket)
    if source is not None:  # an order from another system (12345 …)
        head += "\n" + T.DETAIL_SOURCE.format(label=source)
    lines = trail_lines(ctx.session, ticket, ctx.services.calendar)
    wanted = match.rest.strip().lower()
    book = pages(lines, TRAIL_PAGE)
    if wanted in T.DETAIL_ALL_WORDS or len(book) == 1:
        return chunks([head, T.DETAIL_TRAIL_HEAD.format(count=len(lines)), *lines])
    page = int(wanted) if wanted.isdigit() else 1
    if not 1 <= page <= len(book):
        return [T.DETAIL_NO_PAGE.format(number=ticket.id, pages=len(book), page=page)]
    foot = (T.DETAIL_TRAIL_MORE.format(number=ticket.id, next=page + 1) if page < len(book)
            else T.DETAIL_TRAIL_LAST.format(number=ticket.id))
    return chunks([
        head,
        T.DETAIL_TRAIL_PAGE_HEAD.format(count=len(lines), page=page, pages=len(book)),
        *book[page - 1],
        foot,
    ])


def resident_detail(ctx: Context, ticket: Ticket, _match: CommandMatch) -> list[str]:
    """查询 N for the reporter: status, handler, the running deadline, the latest steps."""
    stage = active_stage(ticket)
    when = ""
    if stage is not None:
        when = T.RESIDENT_DUE.format(
            label=T.DUE_LABELS[stage[0].value],
            due=format_deadline(ticket, stage[2], ctx.services.calendar))
    masked = ctx.message.in_group
    text = ticket.text if not masked else mask_pii(ticket.text)
    lines = trail_lines(ctx.session, ticket, ctx.services.calendar, masked=masked)
    latest = lines[-RESIDENT_EVENTS:]
    if len(lines) > len(latest):
        latest.insert(0, T.RESIDENT_EARLIER.format(count=len(lines) - len(latest)))
    source = source_label(ticket)
    return chunks([T.RESIDENT_DETAIL.format(
        number=ticket.id,
        category=ctx.services.classifier.category_name(ticket.category),
        status=status_label(ticket),
        text=text[:80],
        handler=title(ticket.assignee) if ticket.assignee else T.CENTER_NAME,
        due=when,
        events="\n".join(latest),
    ) + (f"\n{T.DETAIL_SOURCE.format(label=source)}" if source else "")])
