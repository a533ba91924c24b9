"""One ticket in the console (``/console/tickets/<n>``) and what the viewer may do to it.

The page shows what the resident wrote, the classifier's reasons, the deadlines, the whole
trail and the messages sent. The actions — 派单, 转派, 上报, 改类, 关闭 — go through the same
``cases`` code as chat (``Workflow``; the core checks permission and status and refuses with
its reason), are marked "via console" on the trail, and the people concerned are told in chat
(``notify``'s ``Announcer``, in the same transaction). Each form posts and redirects back.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from cases import wording as core_texts
from cases.deadlines import SlaClock
from cases.model import Action, Actor, Duty, Status
from cases.permissions import can_handle, check
from cases.service import Outcome, Workflow, load, view_of
from nlp import Classification
from notify.messenger import Messenger
from notify.ticket_events import Announcer, level_label, title
from notify.tickets import format_deadline, format_time
from notify.trail import trail_lines
from notify.wording import tickets as T
from store.clock import utcnow
from store.models import Grid, Membership, OutboxMessage, Person, Ticket
from vocab import STAFF_ROLES
from web.app_runtime import current_runtime
from web.console import wording as W
from web.console.auth import Viewer, signed_in, viewer
from web.console.blueprint import bp
from web.console.pages import category_choices, grid_choices

log = logging.getLogger(__name__)

#: The console's actions and the core action each one asks permission for (改类's action
#: comes with ``cases.corrections``).
ACTIONS: dict[str, str] = {
    "dispatch": Action.DISPATCH.value,
    "transfer": Action.TRANSFER.value,
    "escalate": Action.ESCALATE.value,
    "reclassify": "reclassify",
    "close": Action.WITHDRAW.value,
}
_OPEN = {Status.CREATED, Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED}
#: The statuses in which each action makes sense (the core decides the rest).
_STATUSES: dict[str, set[Status]] = {
    "dispatch": _OPEN,
    "transfer": {Status.DISPATCHED, Status.ACCEPTED},
    "escalate": {Status.DISPATCHED, Status.ACCEPTED},
    "reclassify": _OPEN | {Status.RESOLVED, Status.CLOSED},
    "close": _OPEN | {Status.RESOLVED},
}


def _reclassifier() -> Any:
    """``cases.corrections`` (改类 recorded as a classifier label), when it is installed."""
    try:
        from cases import corrections  # type: ignore[attr-defined]
    except ImportError:
        return None
    return corrections


def explain(ticket: Ticket) -> str:
    """The classifier's stored explanation, in words (as 详情 shows it)."""
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


def allowed_actions(who: Viewer, ticket: Ticket) -> list[str]:
    """The console actions the viewer may take on the ticket in its status."""
    view = view_of(ticket)
    out = []
    for name, action in ACTIONS.items():
        if name == "reclassify" and _reclassifier() is None:
            continue
        if Status(ticket.status) not in _STATUSES[name]:
            continue
        needed = Action.CLOSE_UNRATED if (name == "close" and ticket.status == Status.RESOLVED) \
            else Action(action)
        if check(who.actor, needed, view).allowed:
            out.append(name)
    return out


def _message_text(row: OutboxMessage) -> str:
    payload = row.payload or {}
    for key in ("text", "markdown", "markdown_v2"):
        part = payload.get(key)
        if isinstance(part, dict) and part.get("content"):
            return str(part["content"])
    card = payload.get("template_card")
    if isinstance(card, dict):
        main = card.get("main_title") or {}
        return W.CARD_MESSAGE.format(title=main.get("title", ""), desc=main.get("desc", "")).strip()
    return f"[{row.msgtype}]"


def _visible_ticket(number: int, *, lock: bool = False) -> Ticket:
    if not 0 < number < 2**31:
        abort(404)
    ticket = load(g.db, number, lock=lock)
    if ticket is None:
        abort(404)
    if not check(viewer().actor, Action.VIEW, view_of(ticket)).allowed:
        abort(403)
    return ticket


def staff_choices() -> list[Person]:
    """Everyone a ticket can be dispatched to (派单 places it where the person works)."""
    return list(g.db.scalars(select(Person).where(
        Person.role.in_(sorted(STAFF_ROLES)), Person.active.is_(True)).order_by(Person.name)))


def transfer_choices(staff: list[Person], ticket: Ticket) -> list[Person]:
    """Those who could take the ticket over (``permissions.can_handle``, as 转派 in chat checks),
    their duties read in one query."""
    duties: dict[int, list[Duty]] = {}
    for person_id, code, role in g.db.execute(
            select(Membership.person_id, Grid.code, Membership.role)
            .join(Grid, Grid.id == Membership.grid_id)):
        duties.setdefault(person_id, []).append(Duty(code, str(role)))
    view = view_of(ticket)
    return [p for p in staff if p.id != ticket.assignee_id and can_handle(
        Actor(p.id, p.role, tuple(duties.get(p.id, ())), p.department), view)]


@bp.get("/tickets/<int:number>")
@signed_in
def ticket(number: int) -> Any:
    rt = current_runtime()
    calendar = rt.services.calendar
    found = _visible_ticket(number)
    messages = g.db.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == found.id)
                            .order_by(OutboxMessage.id)).all()
    sent = [{"when": format_time(m.sent_at or m.created_at, calendar.tz),
             "to": m.target if m.channel == "app" else f"{m.channel}:{m.target[:12]}",
             "text": _message_text(m), "status": W.OUTBOX_STATUS.get(str(m.status), m.status)}
            for m in messages]
    actions = allowed_actions(viewer(), found)
    staff = staff_choices() if {"dispatch", "transfer"} & set(actions) else []
    return render_template(
        "console/ticket.html", t=found,
        category=rt.services.classifier.category_name(found.category),
        status=core_texts.STATUS_LABELS[Status(found.status)],
        level=level_label(found.level), explain=explain(found),
        deadlines=[(label, format_deadline(found, getattr(found, column), calendar))
                   for column, label in (("dispatch_due", W.DISPATCH_DUE),
                                         ("accept_due", W.ACCEPT_DUE),
                                         ("resolve_due", W.RESOLVE_DUE))],
        created=format_time(found.created_at, calendar.tz),
        trail=trail_lines(g.db, found, calendar), sent=sent, actions=actions,
        staff=staff if "dispatch" in actions else [],
        transfer_to=transfer_choices(staff, found) if "transfer" in actions else [],
        grids=grid_choices(rt.services.roster.get(g.db)) if "dispatch" in actions else [],
        categories=category_choices() if "reclassify" in actions else [],
        rating=core_texts.RATING_LABELS.get(found.rating) if found.rating else None,  # type: ignore[call-overload]
    )


def _staff(person_id: str) -> Person | None:
    if not person_id.isdigit() or len(person_id) > 9:
        return None
    person = g.db.get(Person, int(person_id))
    return person if person is not None and person.active and person.role in STAFF_ROLES \
        else None


def _announcer(t: Ticket) -> Announcer:
    services = current_runtime().services
    return Announcer(Messenger(g.db, services.settings.aibot.name), services.calendar,
                     services.classifier.category_name(t.category),
                     rating_prompt_days=services.settings.conversation.rating_prompt_days)


def _refuse(number: int, reason: str) -> Any:
    g.db.rollback()
    flash(reason, "error")
    return redirect(url_for("console.ticket", number=number))


@bp.post("/tickets/<int:number>/<name>")
@signed_in
def act(number: int, name: str) -> Any:
    if name not in ACTIONS:
        abort(404)
    rt = current_runtime()
    settings, calendar = rt.settings, rt.services.calendar
    db = g.db
    found = _visible_ticket(number, lock=True)
    me = viewer().person
    reason = request.form.get("reason", "").strip()[:500]
    now = utcnow()
    workflow = Workflow(db, settings, SlaClock(settings.sla, calendar))
    outcome: Outcome
    if name == "dispatch":
        person = _staff(request.form.get("person", ""))
        code = request.form.get("grid", "").strip()
        grid = db.scalar(select(Grid).where(Grid.code == code)) if code else None
        if person is None and grid is None:
            return _refuse(number, W.NEED_TARGET)
        outcome = workflow.dispatch_to(found, me, now=now, person=person, grid=grid)
        if not outcome and not outcome.reason:
            return _refuse(number, T.NO_HANDLER_IN_GRID.format(name=grid.name if grid else ""))
    elif name == "transfer":
        person = _staff(request.form.get("person", ""))
        if person is None:
            return _refuse(number, W.UNKNOWN_PERSON)
        outcome = workflow.act(found, Action.TRANSFER, me, now=now, to=person, note=reason)
    elif name == "escalate":
        if not reason:
            return _refuse(number, W.NEED_REASON)
        outcome = workflow.act(found, Action.ESCALATE, me, now=now, note=reason)
    elif name == "reclassify":
        corrections = _reclassifier()
        if corrections is None:
            return _refuse(number, W.RECLASSIFY_PENDING)
        if not reason:
            return _refuse(number, W.NEED_REASON)
        choices = corrections.choices_from(rt.services.classifier.rules.categories)
        outcome = corrections.reclassify(workflow, found, me, request.form.get("category", ""),
                                         reason, choices=choices, now=now)
    else:  # close: an open ticket is withdrawn on the resident's behalf; a resolved one closed
        if not reason:
            return _refuse(number, W.NEED_REASON)
        action = Action.CLOSE_UNRATED if found.status == Status.RESOLVED else Action.WITHDRAW
        outcome = workflow.act(found, action, me, now=now, note=reason)
    if not outcome:
        return _refuse(number, outcome.reason or W.FORBIDDEN)
    assert outcome.event is not None and outcome.ticket is not None
    outcome.event.data = {**(outcome.event.data or {}), "via": "console"}
    _tell(outcome, me, reason)
    db.commit()
    log.info("console: %s %s ticket %s", me.userid, name, number)
    rt.wake_delivery.set()
    t = outcome.ticket
    flash(W.DONE[name].format(
        number=t.id, handler=title(t.assignee), level=level_label(t.level),
        category=rt.services.classifier.category_name(t.category)), "ok")
    return redirect(url_for("console.ticket", number=number))


def _tell(outcome: Outcome, me: Person, reason: str) -> None:
    """The people concerned hear of it in chat, as they would of the same action in chat."""
    t = outcome.ticket
    assert t is not None and outcome.event is not None
    if outcome.action is not Action.WITHDRAW:
        _announcer(t).announce(outcome, me, reason=reason)
        return
    messenger = Messenger(g.db, current_runtime().settings.aibot.name)
    key = f"t{t.id}:e{outcome.event.id}:closed"
    source = title(me)
    handler = outcome.previous_assignee
    if handler is not None and handler.id != me.id:
        messenger.text_to(handler, key=f"{key}:{handler.userid}", ticket_id=t.id,
                          text=T.TO_HANDLER_CLOSED.format(number=t.id, source=source,
                                                          reason=reason))
    messenger.text_to(t.reporter, key=f"{key}:{t.reporter.userid}", ticket_id=t.id,
                      chat_id=t.chat_id,
                      text=T.TO_RESIDENT_CLOSED.format(number=t.id, source=source,
                                                       reason=reason))

