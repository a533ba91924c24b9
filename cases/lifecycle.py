"""The 六单 state machine: ``decide(ticket, action, actor, ...)`` → ``Decision``.

Statuses are where a ticket *stands*; escalate, transfer and reopen are *actions* that put it back
to ``dispatched`` (at a higher level, with another handler, or again after resolution) -- the
audit event says which. ``returned`` is a status: the ticket waits at the centre for re-dispatch.

==============  ====================================  ================================  =====
action          from                                  to                                clock
==============  ====================================  ================================  =====
view            any                                   (unchanged, no event)             —
dispatch        created, returned                     dispatched                        accept
accept          dispatched                            accepted                          resolve
progress        accepted                              (unchanged)                       —
resolve         accepted                              resolved (records resolved_level) rating
rate            resolved                              closed (满意/一般), or dispatched   —/accept
                                                      one level up (不满意: reopen +
                                                      escalate)
close_unrated   resolved                              closed (未评价)                    —
reopen          resolved, closed                      dispatched                        accept
escalate        created, dispatched, accepted,        dispatched, level + 1             accept
                returned
transfer        dispatched, accepted                  dispatched, new assignee          accept
return          dispatched, accepted                  returned (level center, no        dispatch
                                                      assignee)
withdraw        created, dispatched, accepted,        withdrawn                         —
                returned
merge           created, dispatched, accepted,        merged (duplicate_of_id)          —
                returned
supplement      created, dispatched, accepted,        (unchanged)                       —
                returned, resolved
reclassify      created, dispatched, accepted,        (unchanged; category changes)     —
                returned, resolved, closed
==============  ====================================  ================================  =====

"clock" is the SLA stage (``cases.deadlines.Stage``) that starts at the event: the caller sets the
matching due time (e.g. after ``dispatch``: ``accept_due = clock.accept_due(now)``); "—" means
no stage is running afterwards (or the running one continues).

Order of checks: permission (``cases.permissions.check``), then status, then whose ticket it is
(assignee), then the arguments. A refusal carries a Chinese reason from ``cases.wording``. An
allowed decision carries ``to_status``, the ``AuditEvent`` to persist, ``changes`` (Ticket column
→ new value, ``None`` clears; ``grid_code`` is a grid *code* the caller maps to ``grid_id``) and
``stamps`` (Ticket timestamp columns to set to the event time).

Requirements: progress, resolve, return, supplement, reopen, reclassify need a ``note``; so does escalate
by a person (the bot's escalation carries its reason in ``data``); transfer needs ``to`` (an
``Actor`` who can handle the ticket); merge needs ``duplicate_of``; rate needs ``rating``; reclassify needs
``category`` (another than the ticket's; the caller checks it is one of the township's). A
micro/worker/department handler cannot accept a ticket dispatched to someone else (leaders,
centre, county and admin can take it over); the same holds for progress, resolve, return, transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from cases import wording as texts
from cases.deadlines import Stage
from cases.ladder import Level, level_for_role, next_level, rank, resolved_level
from cases.model import Action, Actor, Rating, Role, Status, TicketView
from cases.permissions import can_handle, check

_EMPTY: Mapping[str, Any] = MappingProxyType({})

_C, _D, _A, _R = Status.CREATED, Status.DISPATCHED, Status.ACCEPTED, Status.RESOLVED
_CL, _RT = Status.CLOSED, Status.RETURNED
_OPEN = frozenset({_C, _D, _A, _RT})


@dataclass(frozen=True)
class Transition:
    """A row of the table: the statuses an action starts from and where it leads.

    ``to`` None means the status does not change; ``clock`` is the SLA stage that starts.
    """

    sources: frozenset[Status]
    to: Status | None
    clock: Stage | None = None


TRANSITIONS: Mapping[Action, Transition] = MappingProxyType(
    {
        Action.VIEW: Transition(frozenset(Status), None),
        Action.DISPATCH: Transition(frozenset({_C, _RT}), _D, Stage.ACCEPT),
        Action.ACCEPT: Transition(frozenset({_D}), _A, Stage.RESOLVE),
        Action.PROGRESS: Transition(frozenset({_A}), None),
        Action.RESOLVE: Transition(frozenset({_A}), _R, Stage.RATING),
        # 不满意 leads to dispatched (one level up) instead; see _rate.
        Action.RATE: Transition(frozenset({_R}), _CL),
        Action.CLOSE_UNRATED: Transition(frozenset({_R}), _CL),
        Action.REOPEN: Transition(frozenset({_R, _CL}), _D, Stage.ACCEPT),
        Action.ESCALATE: Transition(_OPEN, _D, Stage.ACCEPT),
        Action.TRANSFER: Transition(frozenset({_D, _A}), _D, Stage.ACCEPT),
        Action.RETURN: Transition(frozenset({_D, _A}), _RT, Stage.DISPATCH),
        Action.WITHDRAW: Transition(_OPEN, Status.WITHDRAWN),
        Action.MERGE: Transition(_OPEN, Status.MERGED),
        Action.SUPPLEMENT: Transition(_OPEN | {_R}, None),
        Action.RECLASSIFY: Transition(_OPEN | {_R, _CL}, None),
    }
)

# What only the ticket's assignee does -- or, for a ticket not assigned to anyone, whoever may
# handle it; supervisors (a leader duty on the ticket's path, centre, admin) may take over.
_ASSIGNEE_ACTIONS = frozenset(
    {Action.ACCEPT, Action.PROGRESS, Action.RESOLVE, Action.RETURN, Action.TRANSFER}
)
_NEEDS_NOTE = frozenset(
    {Action.PROGRESS, Action.RESOLVE, Action.RETURN, Action.SUPPLEMENT, Action.REOPEN,
     Action.RECLASSIFY}
)


@dataclass(frozen=True)
class AuditEvent:
    """What to write to ``TicketEvent`` (the caller adds the ticket id and the time)."""

    action: Action
    from_status: Status
    to_status: Status
    actor_id: int | None
    note: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    source_message_id: int | None = None


@dataclass(frozen=True)
class Decision:
    """The answer to "may this happen, and what follows?"."""

    allowed: bool
    reason: str | None = None
    to_status: Status | None = None
    event: AuditEvent | None = None
    changes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    stamps: tuple[str, ...] = ()
    clock: Stage | None = None

    def __bool__(self) -> bool:
        return self.allowed


_SUPERVISORS = frozenset({Role.CENTER, Role.COUNTY, Role.ADMIN})


def _supervises(actor: Actor, ticket: TicketView) -> bool:
    """Centre, county, admin, or a leader/centre/county duty over the ticket's grid."""
    if actor.role in _SUPERVISORS:
        return True
    return any(
        d.role in (Role.LEADER, *_SUPERVISORS) and d.grid in ticket.grid_path
        for d in actor.scopes
    )


def refuse(reason: str) -> Decision:
    """A refusal with a readable reason."""
    return Decision(False, reason)


def _level_or_default(value: str | Level | None, default: Level) -> Level:
    return default if value is None else Level(value)


def decide(
    ticket: TicketView,
    action: Action | str,
    actor: Actor,
    *,
    note: str = "",
    source_message_id: int | None = None,
    assignee_id: int | None = None,
    level: str | Level | None = None,
    to: Actor | None = None,
    rating: Rating | str | None = None,
    duplicate_of: int | None = None,
    department: str | None = None,
    grid_code: str | None = None,
    category: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide whether ``actor`` may take ``action`` on ``ticket`` and what it changes.

    Arguments by action: dispatch (``assignee_id``, ``level``, ``department``, ``grid_code`` —
    the ticket's new grid, as a code, when the centre re-places a returned ticket); escalate
    (``level``: default one above the ticket's, ``assignee_id``: the new handler found with
    ``cases.ladder``, None for the level's pool); rate (``rating``, comment in ``note``; for 不满意
    also ``level``/``assignee_id`` as for escalate); reopen (``assignee_id``/``level``, default
    unchanged); transfer (``to``; centre/admin may also set ``department``); merge
    (``duplicate_of``); reclassify (``category``, and ``department`` when the new category
    routes elsewhere). ``data`` is merged into the audit event's data.
    """
    action = Action(action)
    permission = check(actor, action, ticket)
    if not permission.allowed:
        return refuse(permission.reason or "")
    row = TRANSITIONS[action]
    if ticket.status not in row.sources:
        return refuse(texts.wrong_status(ticket.id, ticket.status, action, ticket.duplicate_of))
    if action is Action.VIEW:
        return Decision(True, to_status=ticket.status)

    if (
        action in _ASSIGNEE_ACTIONS
        and ticket.assignee_id is not None
        and ticket.assignee_id != actor.person_id
        and not _supervises(actor, ticket)
    ):
        return refuse(texts.assigned_to_other(ticket.id))

    note = (note or "").strip()
    if action in _NEEDS_NOTE and not note:
        return refuse(texts.note_needed(ticket.id, action))
    if action is Action.ESCALATE and not note and actor.role is not Role.SYSTEM:
        return refuse(texts.note_needed(ticket.id, action))

    ctx = _Context(ticket, action, actor, note, source_message_id, dict(data or {}))
    if action is Action.DISPATCH:
        changes: dict[str, Any] = {
            "assignee_id": assignee_id,
            "level": _level_or_default(level, ticket.level),
        }
        if department is not None:
            changes["department"] = department
        if grid_code is not None:
            changes["grid_code"] = grid_code
        return ctx.allow(_D, changes, ("dispatched_at",), row.clock)
    if action is Action.ACCEPT:
        changes = {"assignee_id": actor.person_id}
        own = level_for_role(actor.role)
        if own is not None and rank(own) > rank(ticket.level):
            changes["level"] = own
        return ctx.allow(_A, changes, ("accepted_at",), row.clock)
    if action is Action.PROGRESS or action is Action.SUPPLEMENT:
        return ctx.allow(ticket.status, {}, (), None)
    if action is Action.RESOLVE:
        changes = {"resolved_level": resolved_level(ticket.level, actor.role)}
        return ctx.allow(_R, changes, ("resolved_at",), row.clock)
    if action is Action.RATE:
        return _rate(ctx, rating, level, assignee_id)
    if action is Action.CLOSE_UNRATED:
        return ctx.allow(_CL, {"rating": Rating.UNRATED}, ("closed_at",), None)
    if action is Action.REOPEN:
        changes = {
            "assignee_id": ticket.assignee_id if assignee_id is None else assignee_id,
            "level": _level_or_default(level, ticket.level),
            **_REOPEN_CLEARS,
        }
        return ctx.allow(_D, changes, ("dispatched_at",), row.clock)
    if action is Action.ESCALATE:
        return _escalate(ctx, level, assignee_id)
    if action is Action.TRANSFER:
        return _transfer(ctx, to, department)
    if action is Action.RETURN:
        changes = {"assignee_id": None, "level": Level.CENTER, "accepted_at": None}
        return ctx.allow(_RT, changes, (), row.clock)
    if action is Action.WITHDRAW:
        return ctx.allow(Status.WITHDRAWN, {}, ("closed_at",), None)
    if action is Action.RECLASSIFY:
        return _reclassify(ctx, category, department)
    # Action.MERGE
    if duplicate_of is None:
        return refuse(texts.merge_needs_target(ticket.id))
    if duplicate_of == ticket.id:
        return refuse(texts.merge_into_itself(ticket.id))
    return ctx.allow(Status.MERGED, {"duplicate_of_id": duplicate_of}, ("closed_at",), None)


_REOPEN_CLEARS: Mapping[str, Any] = MappingProxyType(
    {
        "resolved_level": None,
        "rating": None,
        "rating_comment": None,
        "accepted_at": None,
        "resolved_at": None,
        "closed_at": None,
    }
)


@dataclass(frozen=True)
class _Context:
    ticket: TicketView
    action: Action
    actor: Actor
    note: str
    source_message_id: int | None
    data: dict[str, Any]

    def allow(
        self,
        to_status: Status,
        changes: Mapping[str, Any],
        stamps: tuple[str, ...],
        clock: Stage | None,
        data: Mapping[str, Any] | None = None,
    ) -> Decision:
        event_data = {**_plain(changes), **(data or {}), **self.data}
        event = AuditEvent(
            action=self.action,
            from_status=self.ticket.status,
            to_status=to_status,
            actor_id=self.actor.person_id,
            note=self.note,
            data=MappingProxyType(event_data),
            source_message_id=self.source_message_id,
        )
        return Decision(
            True,
            to_status=to_status,
            event=event,
            changes=MappingProxyType(dict(changes)),
            stamps=stamps,
            clock=clock,
        )


def _plain(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Changes worth recording in the event (clears of timestamps left out), as plain values."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key.endswith("_at"):
            continue
        out[key] = str(value) if isinstance(value, Level | Rating) else value
    return out


def _up(ctx: _Context, level: str | Level | None) -> Level | Decision:
    """The level an escalation goes to, or a refusal."""
    current = ctx.ticket.level
    if level is None:
        target = next_level(current)
        if target is None:
            return refuse(texts.top_of_ladder(ctx.ticket.id))
        return target
    target = Level(level)
    if rank(target) <= rank(current):
        if next_level(current) is None:
            return refuse(texts.top_of_ladder(ctx.ticket.id))
        return refuse(texts.escalate_not_up(ctx.ticket.id, current, target))
    return target


def _escalate(ctx: _Context, level: str | Level | None, assignee_id: int | None) -> Decision:
    target = _up(ctx, level)
    if isinstance(target, Decision):
        return target
    changes = {"level": target, "assignee_id": assignee_id, "accepted_at": None}
    return ctx.allow(
        _D,
        changes,
        ("dispatched_at",),
        Stage.ACCEPT,
        {"from_level": str(ctx.ticket.level)},
    )


def _rate(
    ctx: _Context, rating: Rating | str | None, level: str | Level | None, assignee_id: int | None
) -> Decision:
    try:
        value = Rating(rating) if rating is not None else None
    except ValueError:
        value = None
    if value is None or value is Rating.UNRATED:
        return refuse(texts.rating_invalid())
    comment = ctx.note or None
    if value is not Rating.UNSATISFIED:
        changes = {"rating": value, "rating_comment": comment}
        return ctx.allow(_CL, changes, ("closed_at",), None)
    # 不满意: reopen and escalate one level (stay at county if already there).
    current = ctx.ticket.level
    target = Level(level) if level is not None else (next_level(current) or current)
    changes = {
        **_REOPEN_CLEARS,
        "rating": value,
        "rating_comment": comment,
        "level": target,
        "assignee_id": assignee_id,
    }
    extra = {"reopened": True, "escalated": target != current, "from_level": str(current)}
    return ctx.allow(_D, changes, ("dispatched_at",), Stage.ACCEPT, extra)


def _transfer(ctx: _Context, to: Actor | None, department: str | None) -> Decision:
    ticket = ctx.ticket
    if to is None or to.person_id is None:
        return refuse(texts.transfer_needs_target(ticket.id))
    if to.person_id == ticket.assignee_id:
        return refuse(texts.transfer_same_person(ticket.id))
    changes: dict[str, Any] = {"assignee_id": to.person_id, "accepted_at": None}
    target_view = ticket
    if department is not None and ctx.actor.role in _SUPERVISORS:
        target_view = replace(ticket, department=department)
        changes["department"] = department
    if not can_handle(to, target_view):
        return refuse(texts.transfer_target_out_of_scope(ticket.id))
    own = level_for_role(to.role)
    changes["level"] = own if own is not None else ticket.level
    return ctx.allow(_D, changes, ("dispatched_at",), Stage.ACCEPT)


def _reclassify(ctx: _Context, category: str | None, department: str | None) -> Decision:
    ticket = ctx.ticket
    if not category:
        return refuse(texts.reclassify_needs_category(ticket.id))
    if category == ticket.category:
        return refuse(texts.reclassify_same_category(ticket.id, category))
    changes: dict[str, Any] = {"category": category}
    if department is not None:
        changes["department"] = department or None
    return ctx.allow(ticket.status, changes, (), None, {"from_category": ticket.category})
