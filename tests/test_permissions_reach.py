"""``cases.permissions.reach`` (which tickets an actor may act on, for lists and counts) agrees
with ``check`` (may this actor act on this ticket?) for every role, action and kind of ticket."""

from __future__ import annotations

import itertools

import pytest

from cases.model import Action, Actor, TicketView
from cases.permissions import check, reach

PATHS = [
    (),  # not placed yet
    ("county", "town", "v1", "g1", "m1"),
    ("county", "town", "v1", "g2"),
    ("county", "town", "v2", "g3"),
    ("county", "town2", "v9", "g9"),
]
ACTORS = [
    Actor(1, "resident"),
    Actor(11, "micro", (("m1", "micro"),)),
    Actor(21, "worker", (("g1", "worker"),)),
    Actor(22, "worker", (("g2", "worker"), ("g3", "worker"))),
    Actor(31, "leader", (("v1", "leader"),)),
    Actor(32, "leader", (("v2", "leader"), ("g1", "worker"))),
    Actor(41, "center", (("town", "center"),)),
    Actor(42, "center"),  # no centre duty: the whole township
    Actor(51, "county", (("county", "county"),)),
    Actor(61, "department", department="civil"),
    Actor(62, "department", department="health"),
    Actor(71, "admin"),
    Actor.system(),
]


def _tickets() -> list[TicketView]:
    people = (1, 11, 21, 22, 31, 32, 41, 61, 99)
    out = []
    for n, (path, reporter, assignee, dept) in enumerate(itertools.product(
            PATHS, (1, 21, 99), people + (None,), ("civil", None))):
        out.append(TicketView(n + 1, "dispatched", reporter, assignee, path,
                              department=dept))
    return out


@pytest.mark.parametrize("action", [a for a in Action])
def test_reach_covers_exactly_the_tickets_check_allows(action: Action) -> None:
    tickets = _tickets()
    for actor in ACTORS:
        area = reach(actor, action)
        for ticket in tickets:
            assert area.covers(ticket) == check(actor, action, ticket).allowed, (
                actor, action, ticket)


def test_a_leader_reaches_their_subtree_and_a_worker_their_grid() -> None:
    assert reach(ACTORS[4]).grid_codes == {"v1"}
    assert not reach(ACTORS[4]).everything
    assert reach(ACTORS[2]).grid_codes == {"g1"} and reach(ACTORS[2]).assigned
    assert reach(ACTORS[7]).everything and not reach(ACTORS[6]).everything
