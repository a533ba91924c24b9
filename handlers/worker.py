"""Chat commands of the people who handle tickets (micro, worker, leader, centre, county,
department):

    接单 N · 进度 N 内容 · 办结 N 说明 · 上报 N 原因 · 转派 N 姓名 · 退回 N 原因
    详情 N · 任务 · 派单 N 姓名/网格 (centre and leaders: triage of returned or new tickets)
    改类 N 类别 原因 (centre, county and leaders: correct the category; the classifier learns)

Forgiving as people type (``接单12``, ``接单 #12``, ``接单　１２``); a task card button sends the
same text. A resident who types one of these words with a number is refused by the core with the
reason; without a number the words stay free text (``上报一下楼道的问题`` is a report).
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from cases.corrections import choices_from, reclassify, split_category_and_reason
from cases.ladder import Level
from cases.model import Action, Role, Status
from cases.next_due import running_due_column
from cases.permissions import can_view
from cases.service import active_stage, actor_for, view_of
from handlers.base import CommandHandler, CommandMatch, Context, Handler
from handlers.help import roles_for
from handlers.tickets import (
    detail,
    due,
    find,
    finish,
    is_staff,
    level_label,
    note_of,
    refused,
    run,
    show,
    status_label,
    told_resident,
    workflow,
)
from notify.ticket_events import title
from notify.tickets import format_deadline, working_card
from notify.wording import tickets as T
from store.models import Grid, Person, Ticket

_NUMBERED = re.compile(r"^/?\D{2,3}\s*#?\s*\d")


def staff_or_numbered(ctx: Context) -> bool:
    """Staff always; others only when a ticket number follows the verb."""
    return is_staff(ctx) or bool(_NUMBERED.match(ctx.text))


def _accept(ctx: Context, match: CommandMatch) -> str:
    outcome = run(ctx, match, Action.ACCEPT)
    if not outcome:
        return refused(outcome)
    ticket = outcome.ticket
    assert ticket is not None and outcome.event is not None
    category = ctx.services.classifier.category_name(ticket.category)
    ctx.messenger.card_to(ctx.person, key=f"ticket:{ticket.id}:working:{outcome.event.id}",
                          card=working_card(ticket, category, ctx.services.calendar),
                          ticket_id=ticket.id, urgent=ticket.urgent)
    return finish(ctx, outcome, T.DONE_ACCEPT.format(
        number=ticket.id, due=due(ctx, ticket, "resolve_due")))


def _escalate(ctx: Context, match: CommandMatch) -> str:
    outcome = run(ctx, match, Action.ESCALATE, note=note_of(ctx, match))
    if not outcome:
        return refused(outcome)
    ticket = outcome.ticket
    assert ticket is not None
    return finish(ctx, outcome, T.DONE_ESCALATE.format(
        number=ticket.id, level=level_label(ticket.level),
        handler=ticket.assignee.name if ticket.assignee else ""))


def _return(ctx: Context, match: CommandMatch) -> str:
    outcome = run(ctx, match, Action.RETURN, note=note_of(ctx, match))
    if not outcome:
        return refused(outcome)
    return finish(ctx, outcome, T.DONE_RETURN.format(number=match.number))


def staff_named(ctx: Context, name: str) -> Person | None:
    """An active staff member by name or WeCom id."""
    name = name.strip().split(" ")[0] if name.strip() else ""
    if not name:
        return None
    return ctx.session.scalar(
        select(Person)
        .where(or_(Person.name == name, Person.userid == name), Person.active.is_(True),
               Person.role != "resident")
        .order_by(Person.id)
    )


def _transfer(ctx: Context, match: CommandMatch) -> str:
    person = staff_named(ctx, match.rest)
    if person is None:
        ctx.reply(T.NOBODY_NAMED.format(name=match.rest))
        return "transfer:unknown-person"
    outcome = run(ctx, match, Action.TRANSFER, to=person)
    if not outcome:
        return refused(outcome)
    return finish(ctx, outcome, T.DONE_TRANSFER.format(number=match.number, handler=title(person)))


def _dispatch(ctx: Context, match: CommandMatch) -> str:
    target = match.rest.strip()
    person = staff_named(ctx, target)
    grid = None
    if person is None:
        grid = ctx.session.scalar(
            select(Grid).where(or_(Grid.name == target, Grid.code == target)).order_by(Grid.id))
        if grid is None:
            ctx.reply(T.NOBODY_NAMED.format(name=target))
            return "dispatch:unknown-target"
    ticket = find(ctx, match)
    if ticket is None:
        return refused(None)
    outcome = workflow(ctx).dispatch_to(ticket, ctx.person, now=ctx.now, person=person, grid=grid,
                                        source_message_id=ctx.inbound.id)
    if not outcome:
        ctx.reply(outcome.reason or T.NO_HANDLER_IN_GRID.format(name=target), ticket_id=ticket.id)
        return refused(outcome)
    return finish(ctx, outcome, T.DONE_DISPATCH.format(
        number=ticket.id, handler=title(ticket.assignee),
        grid=ticket.grid.name if ticket.grid else "—", due=due(ctx, ticket, "accept_due")))


def _reclassify(ctx: Context, match: CommandMatch) -> str:
    word, reason = split_category_and_reason(note_of(ctx, match))
    ticket = find(ctx, match)
    if ticket is None:
        return refused(None)
    classifier = ctx.services.classifier
    source = classifier.category_name(ticket.category)
    outcome = reclassify(workflow(ctx), ticket, ctx.person, word, reason,
                         choices=choices_from(classifier.rules.categories), now=ctx.now,
                         source_message_id=ctx.inbound.id)
    if not outcome:
        ctx.reply(outcome.reason or "", ticket_id=ticket.id)
        return refused(outcome)
    ctx.reply(T.DONE_RECLASSIFY.format(number=ticket.id, source=source,
                                       target=classifier.category_name(ticket.category)),
              ticket_id=ticket.id)
    return f"{outcome.action}:{ticket.id}"


def _detail(ctx: Context, match: CommandMatch) -> str:
    return show(ctx, match, detail, "detail")


TASKS_SHOWN = 20


def _tasks(ctx: Context, _match: CommandMatch) -> str:
    """My open tickets, the most urgent (earliest running deadline) first; the centre also sees
    the tickets waiting for triage, the county those escalated to the county's pool.

    A handler's own tickets are all theirs to see (every staff role views what is assigned to
    it), so the database counts them and returns only the page shown, most urgent first
    (``ix_tickets_assignee_status``); the centre's and the county's lists are filtered by
    what the actor may see, ticket by ticket.
    """
    mine = Ticket.assignee_id == ctx.person.id
    open_ = Ticket.status.in_([Status.DISPATCHED, Status.ACCEPTED])
    if ctx.person.role in (Role.CENTER, Role.ADMIN, Role.COUNTY):
        if ctx.person.role == Role.COUNTY:
            query = select(Ticket).where(open_, or_(mine, Ticket.level == Level.COUNTY))
        else:
            triage = Ticket.status.in_([Status.CREATED, Status.RETURNED])
            query = select(Ticket).where(or_(mine & open_, triage))
        actor = actor_for(ctx.session, ctx.person)
        tickets = [t for t in ctx.session.scalars(query) if can_view(actor, view_of(t))]
        count = len(tickets)
    else:
        count = ctx.session.scalar(select(func.count()).select_from(Ticket).where(mine, open_))
        tickets = list(ctx.session.scalars(
            select(Ticket).where(mine, open_).order_by(running_due_column(), Ticket.id)
            .limit(TASKS_SHOWN))) if count else []
    if not tickets:
        ctx.reply(T.TASKS_NONE)
        return "tasks:0"
    staged = []
    for ticket in tickets:
        stage = active_stage(ticket)
        staged.append((stage[2] if stage else ticket.created_at, ticket, stage))
    staged.sort(key=lambda item: (item[0], item[1].id))
    lines = [T.TASKS_HEAD.format(count=count)]
    for when, ticket, stage in staged[:TASKS_SHOWN]:
        lines.append(T.TASK_LINE.format(
            number=ticket.id, category=ctx.services.classifier.category_name(ticket.category),
            status=status_label(ticket),
            label=T.DUE_LABELS[stage[0].value] if stage else "",
            due=format_deadline(ticket, when, ctx.services.calendar) if stage else "",
            overdue=T.TASK_OVERDUE if stage and when <= ctx.now else ""))
    ctx.reply("\n".join(lines))
    return f"tasks:{count}"


def worker_handlers() -> list[Handler]:
    """The staff commands, for ``handlers.commands``."""
    numbered = staff_or_numbered
    return [
        CommandHandler(["任务", "我的任务", "待办"], _tasks, allowed=_tasks_only,
                       help=T.HELP_TASKS, roles=roles_for(Action.VIEW)),
        CommandHandler(["接单"], _accept, needs_number=True, usage=T.USAGE_ACCEPT,
                       allowed=numbered, help=T.HELP_ACCEPT, roles=roles_for(Action.ACCEPT)),
        CommandHandler(["进度"], told_resident(Action.PROGRESS, T.DONE_PROGRESS,
                                              T.DONE_PROGRESS_UNREACHED),
                       needs_number=True, needs_text=True, usage=T.USAGE_PROGRESS,
                       allowed=numbered, help=T.HELP_PROGRESS, roles=roles_for(Action.PROGRESS)),
        CommandHandler(["办结"], told_resident(Action.RESOLVE, T.DONE_RESOLVE,
                                              T.DONE_RESOLVE_UNREACHED),
                       needs_number=True, needs_text=True, usage=T.USAGE_RESOLVE,
                       allowed=numbered, help=T.HELP_RESOLVE, roles=roles_for(Action.RESOLVE)),
        CommandHandler(["上报"], _escalate, needs_number=True, needs_text=True,
                       usage=T.USAGE_ESCALATE, allowed=numbered, help=T.HELP_ESCALATE,
                       roles=roles_for(Action.ESCALATE)),
        CommandHandler(["转派"], _transfer, needs_number=True, needs_text=True,
                       usage=T.USAGE_TRANSFER, allowed=numbered, help=T.HELP_TRANSFER,
                       roles=roles_for(Action.TRANSFER)),
        CommandHandler(["退回"], _return, needs_number=True, needs_text=True,
                       usage=T.USAGE_RETURN, allowed=numbered, help=T.HELP_RETURN,
                       roles=roles_for(Action.RETURN)),
        CommandHandler(["派单"], _dispatch, needs_number=True, needs_text=True,
                       usage=T.USAGE_DISPATCH, allowed=numbered, help=T.HELP_DISPATCH,
                       roles=roles_for(Action.DISPATCH)),
        CommandHandler(["改类", "改分类"], _reclassify, needs_number=True, needs_text=True,
                       usage=T.USAGE_RECLASSIFY, allowed=numbered, help=T.HELP_RECLASSIFY,
                       roles=roles_for(Action.RECLASSIFY)),
        CommandHandler(["详情"], _detail, needs_number=True, usage=T.USAGE_DETAIL,
                       allowed=numbered, help=T.HELP_DETAIL, roles=roles_for(Action.VIEW)),
    ]


def _tasks_only(ctx: Context) -> bool:
    return is_staff(ctx) and ctx.text.lstrip("/") in ("任务", "我的任务", "待办")
