"""Who may do what to which ticket, by role and scope. Pure: no roster lookups, no SQL.

An actor may take an action on a ticket when one of these holds:

1. **reporter**: the actor reported the ticket and the action is one of the reporter's
   (view, supplement, withdraw, rate) -- whatever their role;
2. **role × scope**: one of the actor's roles (their main ``role`` and the role of every duty in
   ``scopes``) grants the action in a scope the ticket falls into:

   ============  ===========================================================================
   scope         the ticket falls into it when …
   ============  ===========================================================================
   assigned      the ticket's ``assignee_id`` is the actor
   grid          a duty **with that role** sits on the ticket's ``grid_path`` (the ticket's grid
                 or an ancestor: a worker of grid G covers G and its micro-grids, a leader of
                 village V covers V's subtree)
   department    the ticket is routed to the actor's ``department``
   township      centre staff: a ``center`` duty on the path, or the ticket is not placed in a
                 grid yet (triage); a centre actor without any ``center`` duty covers everything
                 (one township per deployment)
   county        county staff, the same way one level up: a ``county`` duty on the path (the
                 county node covers its whole tree), or the ticket not placed yet; a county
                 actor without any ``county`` duty covers everything
   all           anywhere
   ============  ===========================================================================

The matrix (``RULES``), actions × roles; "—" means never, "a/g" assigned or grid. The county
(县综治中心, the top of the ladder) has the centre's rights over the whole county:

=============  =====  =====  ======  ========  ========  ======  =====  ======
action         micro  worker leader  center    county    dept.   admin  system
=============  =====  =====  ======  ========  ========  ======  =====  ======
view           a/g    a/g    a/g     a/twp     a/cty     a/dept  all    all
dispatch       —      —      grid    twp       cty       —       all    all
accept         a/g    a/g    a/g     a/twp     a/cty     a/dept  all    —
progress       a/g    a/g    a/g     a/twp     a/cty     a/dept  all    —
resolve        a/g    a/g    a/g     a/twp     a/cty     a/dept  all    —
escalate       a/g    a/g    a/g     a/twp     a/cty     a/dept  all    all
transfer       a/g    a/g    a/g     a/twp     a/cty     a/dept  all    —
return         a/g    a/g    a/g     —         —         a/dept  all    —
merge          a/g    a/g    a/g     twp       cty       —       all    all
reclassify     —      —      grid    twp       cty       —       all    —
reopen         —      —      grid    twp       cty       —       all    —
withdraw       —      —      —       twp       cty       —       all    —
close_unrated  —      —      —       twp       cty       —       all    all
rate           —      —      —       —         —         —       —      —
supplement     —      —      —       —         —         —       —      —
=============  =====  =====  ======  ========  ========  ======  =====  ======

Residents have no rights of their own beyond the reporter's. Nobody rates or supplements on a
resident's behalf (not even admin): a rating is the resident's voice and feeds the KPIs.

Checks that depend on the ticket's status (e.g. a worker accepting a ticket dispatched to a
colleague) are made by ``cases.lifecycle.decide``, after this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from cases import wording as texts
from cases.model import Action, Actor, Role, TicketView


class Scope(StrEnum):
    """Where a role's right reaches."""

    ASSIGNED = "assigned"
    GRID = "grid"
    DEPARTMENT = "department"
    TOWNSHIP = "township"
    COUNTY = "county"
    ALL = "all"


#: What the reporter of a ticket may always do with it.
REPORTER_ACTIONS: frozenset[Action] = frozenset(
    {Action.VIEW, Action.SUPPLEMENT, Action.WITHDRAW, Action.RATE}
)
#: What only the reporter may do.
REPORTER_ONLY: frozenset[Action] = frozenset({Action.SUPPLEMENT, Action.RATE})

_AG = frozenset({Scope.ASSIGNED, Scope.GRID})
_AD = frozenset({Scope.ASSIGNED, Scope.DEPARTMENT})
_G = frozenset({Scope.GRID})
_ALL = frozenset({Scope.ALL})

_HANDLER_ACTIONS = (
    Action.VIEW,
    Action.ACCEPT,
    Action.PROGRESS,
    Action.RESOLVE,
    Action.ESCALATE,
    Action.TRANSFER,
    Action.RETURN,
    Action.MERGE,
)



def _centre_rules(area: Scope) -> Mapping[Action, frozenset[Scope]]:
    """A 综治中心's rights over its area (township or county): handle what is assigned to it or
    lies in the area, and supervise the area (dispatch, merge, reopen, withdraw, close)."""
    # every handler's action but 退回 (the centre is where returned tickets go) and merging,
    # which it does as a supervisor
    handled = tuple(a for a in _HANDLER_ACTIONS if a not in (Action.RETURN, Action.MERGE))
    supervised = (
        Action.DISPATCH,
        Action.MERGE,
        Action.RECLASSIFY,
        Action.REOPEN,
        Action.WITHDRAW,
        Action.CLOSE_UNRATED,
    )
    return MappingProxyType(
        {
            **dict.fromkeys(handled, frozenset({Scope.ASSIGNED, area})),
            **dict.fromkeys(supervised, frozenset({area})),
        }
    )


RULES: Mapping[Role, Mapping[Action, frozenset[Scope]]] = MappingProxyType(
    {
        Role.RESIDENT: MappingProxyType({}),
        Role.MICRO: MappingProxyType(dict.fromkeys(_HANDLER_ACTIONS, _AG)),
        Role.WORKER: MappingProxyType(dict.fromkeys(_HANDLER_ACTIONS, _AG)),
        Role.LEADER: MappingProxyType(
            {**dict.fromkeys(_HANDLER_ACTIONS, _AG), Action.DISPATCH: _G, Action.REOPEN: _G,
             Action.RECLASSIFY: _G}
        ),
        Role.CENTER: _centre_rules(Scope.TOWNSHIP),
        Role.COUNTY: _centre_rules(Scope.COUNTY),
        Role.DEPARTMENT: MappingProxyType(
            dict.fromkeys(
                (
                    Action.VIEW,
                    Action.ACCEPT,
                    Action.PROGRESS,
                    Action.RESOLVE,
                    Action.ESCALATE,
                    Action.TRANSFER,
                    Action.RETURN,
                ),
                _AD,
            )
        ),
        Role.ADMIN: MappingProxyType(
            dict.fromkeys((a for a in Action if a not in REPORTER_ONLY), _ALL)
        ),
        Role.SYSTEM: MappingProxyType(
            dict.fromkeys(
                (
                    Action.VIEW,
                    Action.DISPATCH,
                    Action.ESCALATE,
                    Action.MERGE,
                    Action.CLOSE_UNRATED,
                ),
                _ALL,
            )
        ),
    }
)


@dataclass(frozen=True)
class Permission:
    """The answer: allowed, or refused with a reason the user can read."""

    allowed: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _roles(actor: Actor) -> list[Role]:
    roles = [actor.role]
    for duty in actor.scopes:
        try:
            role = Role(duty.role)
        except ValueError:
            continue
        if role not in roles:
            roles.append(role)
    return roles


#: The role whose duties mark out an area scope.
_AREA_ROLES: Mapping[Scope, Role] = MappingProxyType(
    {Scope.TOWNSHIP: Role.CENTER, Scope.COUNTY: Role.COUNTY}
)


def _in_area(actor: Actor, role: Role, ticket: TicketView) -> bool:
    """A ticket lies in a centre's area when one of the actor's ``role`` duties is on its path,
    when it is not placed in a grid yet, or when the actor has no such duty (the whole area)."""
    nodes = [d.grid for d in actor.scopes if d.role == role]
    if not nodes or not ticket.grid_path:
        return True
    return any(code in ticket.grid_path for code in nodes)


def _in_scope(actor: Actor, role: Role, scope: Scope, ticket: TicketView) -> bool:
    if scope is Scope.ALL:
        return True
    if scope is Scope.ASSIGNED:
        return actor.person_id is not None and ticket.assignee_id == actor.person_id
    if scope is Scope.GRID:
        return any(d.role == role and d.grid in ticket.grid_path for d in actor.scopes)
    if scope is Scope.DEPARTMENT:
        return actor.department is not None and actor.department == ticket.department
    if scope in _AREA_ROLES:
        return _in_area(actor, _AREA_ROLES[scope], ticket)
    return False  # pragma: no cover - every scope is handled above


def is_reporter(actor: Actor, ticket: TicketView) -> bool:
    """Whether the actor reported the ticket."""
    return actor.person_id is not None and actor.person_id == ticket.reporter_id


def check(actor: Actor, action: Action | str, ticket: TicketView) -> Permission:
    """May ``actor`` take ``action`` on ``ticket``? (Status is checked by ``lifecycle``.)"""
    action = Action(action)
    if is_reporter(actor, ticket) and action in REPORTER_ACTIONS:
        return Permission(True)
    roles = _roles(actor)
    for role in roles:
        for scope in RULES[role].get(action, frozenset()):
            if _in_scope(actor, role, scope, ticket):
                return Permission(True)
    if action in REPORTER_ONLY:
        if actor.role is Role.RESIDENT:
            return Permission(False, texts.not_your_ticket(ticket.id, action))
        return Permission(False, texts.reporter_only(ticket.id, action))
    if not any(action in RULES[role] for role in roles):
        if actor.role is Role.RESIDENT and action in REPORTER_ACTIONS:
            return Permission(False, texts.not_your_ticket(ticket.id, action))
        return Permission(False, texts.role_cannot(actor.role, action))
    return Permission(False, texts.out_of_scope(ticket.id, action))


def can_view(actor: Actor, ticket: TicketView) -> bool:
    """Whether the ticket shows up for the actor (查询/详情/任务 lists)."""
    return check(actor, Action.VIEW, ticket).allowed


def can_handle(actor: Actor, ticket: TicketView) -> bool:
    """Whether ``actor`` could take the ticket as its handler (a transfer target, say):
    a staff member whose grid duty, department or township covers it -- not merely because it is
    assigned to them already."""
    if actor.role in (Role.RESIDENT, Role.SYSTEM) or actor.person_id is None:
        return False
    unassigned = replace(ticket, assignee_id=None)
    return any(
        _in_scope(actor, role, scope, unassigned)
        for role in _roles(actor)
        for scope in RULES[role].get(Action.RESOLVE, frozenset())
    )


@dataclass(frozen=True)
class Reach:
    """Where an actor's right to ``action`` reaches, in the terms a query can test: the same
    rules as :func:`check`, read the other way round (which tickets, rather than this ticket?).

    A ticket is covered when ``everything``, or it was reported by or is assigned to
    ``person_id`` (``assigned``), or one of ``grid_codes`` is on its path, or it is routed to
    ``department``, or it is not placed in a grid yet and ``unplaced``.
    """

    everything: bool = False
    person_id: int | None = None
    reporter: bool = False
    assigned: bool = False
    grid_codes: frozenset[str] = frozenset()
    department: str | None = None
    unplaced: bool = False

    def covers(self, ticket: TicketView) -> bool:
        """Whether the ticket is covered (what a query with this reach must return)."""
        if self.everything:
            return True
        mine = self.person_id is not None
        return bool(
            (self.reporter and mine and ticket.reporter_id == self.person_id)
            or (self.assigned and mine and ticket.assignee_id == self.person_id)
            or any(code in ticket.grid_path for code in self.grid_codes)
            or (self.department is not None and ticket.department == self.department)
            or (self.unplaced and not ticket.grid_path)
        )


def reach(actor: Actor, action: Action | str = Action.VIEW) -> Reach:
    """The tickets ``actor`` may take ``action`` on, whatever their status (``lifecycle`` checks
    that): for lists, counts and reports, which cannot ask :func:`check` ticket by ticket."""
    action = Action(action)
    everything = False
    assigned = False
    codes: set[str] = set()
    department: str | None = None
    unplaced = False
    for role in _roles(actor):
        for scope in RULES[role].get(action, frozenset()):
            if scope is Scope.ALL:
                everything = True
            elif scope is Scope.ASSIGNED:
                assigned = True
            elif scope is Scope.GRID:
                codes.update(d.grid for d in actor.scopes if d.role == role)
            elif scope is Scope.DEPARTMENT and actor.department is not None:
                department = actor.department
            elif scope in _AREA_ROLES:
                nodes = [d.grid for d in actor.scopes if d.role == _AREA_ROLES[scope]]
                if not nodes:
                    everything = True
                codes.update(nodes)
                unplaced = True
    return Reach(
        everything=everything, person_id=actor.person_id,
        reporter=action in REPORTER_ACTIONS, assigned=assigned,
        grid_codes=frozenset(codes), department=department, unplaced=unplaced,
    )
