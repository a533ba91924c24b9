"""The whole permission matrix (cases.permissions): roles × actions × in scope / out of scope /
assigned, with the refusal reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cases import wording as texts
from cases.model import Action, Actor, Role, TicketView
from cases.permissions import can_handle, can_view, check

PATH = ("county", "town", "v1", "g1", "m1")
TICKET = TicketView(
    id=12,
    status="dispatched",
    reporter_id=1,
    assignee_id=None,
    grid_path=PATH,
    level="worker",
    department="civil",
)

# One actor per role whose grid/department/township covers the ticket, and one whose does not.
IN_SCOPE = {
    Role.RESIDENT: Actor(1, "resident"),  # the reporter
    Role.MICRO: Actor(11, "micro", (("m1", "micro"),)),
    Role.WORKER: Actor(21, "worker", (("g1", "worker"),)),
    Role.LEADER: Actor(31, "leader", (("v1", "leader"),)),
    Role.CENTER: Actor(41, "center", (("town", "center"),)),
    Role.COUNTY: Actor(51, "county", (("county", "county"),)),
    Role.DEPARTMENT: Actor(61, "department", department="civil"),
    Role.ADMIN: Actor(71, "admin"),
    Role.SYSTEM: Actor.system(),
}
OUT_OF_SCOPE = {
    Role.RESIDENT: Actor(2, "resident"),
    Role.MICRO: Actor(12, "micro", (("m9", "micro"),)),
    Role.WORKER: Actor(23, "worker", (("g2", "worker"),)),
    Role.LEADER: Actor(32, "leader", (("v2", "leader"),)),
    Role.CENTER: Actor(42, "center", (("town2", "center"),)),
    Role.COUNTY: Actor(52, "county", (("county2", "county"),)),
    Role.DEPARTMENT: Actor(62, "department", department="police"),
    Role.ADMIN: Actor(72, "admin"),
    Role.SYSTEM: Actor.system(),
}

A = Action
HANDLER = {A.VIEW, A.ACCEPT, A.PROGRESS, A.RESOLVE, A.ESCALATE, A.TRANSFER, A.RETURN, A.MERGE}
# Written out by hand, independent of permissions.RULES.
CENTRE = {
    A.VIEW,
    A.ACCEPT,
    A.PROGRESS,
    A.RESOLVE,
    A.ESCALATE,
    A.TRANSFER,
    A.DISPATCH,
    A.MERGE,
    A.REOPEN,
    A.WITHDRAW,
    A.CLOSE_UNRATED,
    A.RECLASSIFY,
}
EXPECTED_IN_SCOPE: dict[Role, set[Action]] = {
    Role.RESIDENT: {A.VIEW, A.SUPPLEMENT, A.WITHDRAW, A.RATE},
    Role.MICRO: HANDLER,
    Role.WORKER: HANDLER,
    Role.LEADER: HANDLER | {A.DISPATCH, A.REOPEN, A.RECLASSIFY},
    Role.CENTER: CENTRE,
    Role.COUNTY: CENTRE,  # the county centre: the township centre's rights, one level up
    Role.DEPARTMENT: {A.VIEW, A.ACCEPT, A.PROGRESS, A.RESOLVE, A.ESCALATE, A.TRANSFER, A.RETURN},
    Role.ADMIN: set(Action) - {A.RATE, A.SUPPLEMENT},
    Role.SYSTEM: {A.VIEW, A.DISPATCH, A.ESCALATE, A.MERGE, A.CLOSE_UNRATED},
}
EXPECTED_OUT_OF_SCOPE: dict[Role, set[Action]] = {
    **{role: set() for role in Role},
    Role.ADMIN: EXPECTED_IN_SCOPE[Role.ADMIN],
    Role.SYSTEM: EXPECTED_IN_SCOPE[Role.SYSTEM],
}
# Out of scope, but the ticket is assigned to them.
EXPECTED_ASSIGNED: dict[Role, set[Action]] = {
    Role.MICRO: HANDLER,
    Role.WORKER: HANDLER,
    Role.LEADER: HANDLER,
    Role.CENTER: {A.VIEW, A.ACCEPT, A.PROGRESS, A.RESOLVE, A.ESCALATE, A.TRANSFER},
    Role.COUNTY: {A.VIEW, A.ACCEPT, A.PROGRESS, A.RESOLVE, A.ESCALATE, A.TRANSFER},
    Role.DEPARTMENT: EXPECTED_IN_SCOPE[Role.DEPARTMENT],
}

MATRIX = [(role, action) for role in Role for action in Action]


@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_in_scope(role: Role, action: Action) -> None:
    result = check(IN_SCOPE[role], action, TICKET)
    assert result.allowed is (action in EXPECTED_IN_SCOPE[role])
    assert (result.reason is None) is result.allowed
    if not result.allowed:
        assert "#12" in (result.reason or "") or "无权" in (result.reason or "")


@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_out_of_scope(role: Role, action: Action) -> None:
    result = check(OUT_OF_SCOPE[role], action, TICKET)
    assert result.allowed is (action in EXPECTED_OUT_OF_SCOPE[role])
    if not result.allowed:
        assert result.reason


@pytest.mark.parametrize(("role", "action"), [(r, a) for r in EXPECTED_ASSIGNED for a in Action])
def test_assigned_out_of_grid(role: Role, action: Action) -> None:
    actor = OUT_OF_SCOPE[role]
    ticket = replace(TICKET, assignee_id=actor.person_id)
    assert check(actor, action, ticket).allowed is (action in EXPECTED_ASSIGNED[role])


def test_refusal_reasons() -> None:
    other_resident = OUT_OF_SCOPE[Role.RESIDENT]
    assert check(other_resident, A.VIEW, TICKET).reason == "工单 #12 不是您提交的，无法查看。"
    assert check(other_resident, A.RATE, TICKET).reason == "工单 #12 不是您提交的，无法评价。"
    assert check(other_resident, A.WITHDRAW, TICKET).reason == "工单 #12 不是您提交的，无法撤销。"
    assert check(IN_SCOPE[Role.RESIDENT], A.ACCEPT, TICKET).reason == "您的身份（居民）无权接单。"
    assert check(IN_SCOPE[Role.WORKER], A.RATE, TICKET).reason == "只有报事人本人可以评价工单 #12。"
    assert check(IN_SCOPE[Role.WORKER], A.DISPATCH, TICKET).reason == "您的身份（网格员）无权派单。"
    assert check(OUT_OF_SCOPE[Role.WORKER], A.ACCEPT, TICKET).reason == (
        "工单 #12 不在您负责的范围内（网格、部门或派给您的工单），无法接单。"
    )
    assert check(OUT_OF_SCOPE[Role.LEADER], A.DISPATCH, TICKET).reason == texts.out_of_scope(
        12, A.DISPATCH
    )


def test_scope_details() -> None:
    # a worker of the grid covers its micro-grids; a micro-grid worker does not cover the grid
    on_grid = replace(TICKET, grid_path=("county", "town", "v1", "g1"))
    assert check(IN_SCOPE[Role.WORKER], A.ACCEPT, on_grid).allowed
    assert not check(IN_SCOPE[Role.MICRO], A.ACCEPT, on_grid).allowed
    # a duty only grants its own role's rights: a worker duty does not make a leader's dispatch
    mixed = Actor(25, "worker", (("g1", "worker"), ("v2", "leader")))
    assert not check(mixed, A.DISPATCH, TICKET).allowed
    assert check(Actor(25, "worker", (("g1", "worker"), ("v1", "leader"))), A.DISPATCH, TICKET)
    # centre: unplaced tickets are theirs; a centre without duties covers the township
    unplaced = replace(TICKET, grid_path=())
    assert check(OUT_OF_SCOPE[Role.CENTER], A.DISPATCH, unplaced).allowed
    assert check(Actor(43, "center"), A.DISPATCH, TICKET).allowed
    # county: unplaced tickets too, and a county actor without duties covers the whole county
    assert check(OUT_OF_SCOPE[Role.COUNTY], A.VIEW, unplaced).allowed
    assert check(Actor(53, "county"), A.ACCEPT, TICKET).allowed
    # staff who report a ticket themselves act as its reporter
    assert check(IN_SCOPE[Role.WORKER], A.RATE, replace(TICKET, reporter_id=21)).allowed
    # a department sees nothing of a ticket routed nowhere
    assert not check(IN_SCOPE[Role.DEPARTMENT], A.VIEW, replace(TICKET, department=None))


def test_can_view_and_can_handle() -> None:
    assert can_view(IN_SCOPE[Role.LEADER], TICKET)
    assert not can_view(OUT_OF_SCOPE[Role.LEADER], TICKET)
    assert can_handle(IN_SCOPE[Role.WORKER], TICKET)
    assert can_handle(IN_SCOPE[Role.DEPARTMENT], TICKET)
    assert can_handle(IN_SCOPE[Role.ADMIN], TICKET)
    assert not can_handle(OUT_OF_SCOPE[Role.WORKER], TICKET)
    assert not can_handle(OUT_OF_SCOPE[Role.WORKER], replace(TICKET, assignee_id=23))
    assert not can_handle(IN_SCOPE[Role.RESIDENT], TICKET)
    assert not can_handle(Actor.system(), TICKET)
