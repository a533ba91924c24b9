"""The escalation ladder (cases.ladder): levels and who handles a ticket at each."""

from __future__ import annotations

import pytest

from cases.ladder import (
    Handler,
    Level,
    escalation_target,
    first_handler,
    handler_for,
    level_for_role,
    next_level,
    rank,
    resolved_level,
)

PATH = ("county", "town", "v1", "g1", "m1")
DUTIES = {
    "m1": {"micro": [11]},
    "g1": {"worker": [21, 22]},
    "g2": {"worker": []},
    "v1": {"leader": [31]},
    "town": {"center": [41]},
    "county": {"center": [51]},
}


def test_next_level_chain() -> None:
    assert next_level("micro") is Level.WORKER
    assert next_level(Level.WORKER) is Level.LEADER
    assert next_level("leader") is Level.CENTER
    assert next_level("center") is Level.COUNTY
    assert next_level("county") is None
    assert [rank(level) for level in ("micro", "worker", "leader", "center", "county")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    with pytest.raises(ValueError):
        next_level("mayor")


@pytest.mark.parametrize(
    ("level", "handler"),
    [
        ("micro", Handler(Level.MICRO, "m1", (11,))),
        ("worker", Handler(Level.WORKER, "g1", (21, 22))),
        ("leader", Handler(Level.LEADER, "v1", (31,))),
        ("center", Handler(Level.CENTER, "town", (41,))),
        ("county", Handler(Level.COUNTY, "county", (51,))),  # a centre above the township's
    ],
)
def test_handler_for_each_level(level: str, handler: Handler) -> None:
    assert handler_for(level, PATH, DUTIES) == handler


def test_handler_for_grid_without_micro_and_empty_roles() -> None:
    path = ("county", "town", "v1", "g2")
    assert handler_for("micro", path, DUTIES) is None
    assert handler_for("worker", path, DUTIES) is None  # g2 lists nobody
    assert first_handler(path, DUTIES, "micro") == Handler(Level.LEADER, "v1", (31,))
    assert first_handler(PATH, DUTIES) == Handler(Level.WORKER, "g1", (21, 22))


def test_county_role_duty_and_missing_county() -> None:
    duties = {**DUTIES, "county": {"county": [61], "center": [51]}}
    assert handler_for("county", PATH, duties) == Handler(Level.COUNTY, "county", (61,))
    no_county = {k: v for k, v in DUTIES.items() if k != "county"}
    assert handler_for("county", PATH, no_county) is None
    assert escalation_target("center", PATH, no_county) is None
    assert handler_for("county", ("county", "town"), {}) is None


def test_escalation_target_skips_unstaffed_levels() -> None:
    assert escalation_target("micro", PATH, DUTIES) == Handler(Level.WORKER, "g1", (21, 22))
    assert escalation_target("worker", PATH, DUTIES) == Handler(Level.LEADER, "v1", (31,))
    no_leader = {k: v for k, v in DUTIES.items() if k != "v1"}
    assert escalation_target("worker", PATH, no_leader) == Handler(Level.CENTER, "town", (41,))
    assert escalation_target("center", PATH, DUTIES) == Handler(Level.COUNTY, "county", (51,))
    assert escalation_target("county", PATH, DUTIES) is None


def test_resolved_level_and_roles() -> None:
    assert resolved_level("worker", "worker") is Level.WORKER
    assert resolved_level("worker", "leader") is Level.LEADER
    assert resolved_level("leader", "worker") is Level.LEADER
    assert resolved_level("center", "department") is Level.CENTER
    assert resolved_level("micro", "admin") is Level.MICRO
    assert level_for_role("micro") is Level.MICRO
    assert level_for_role("department") is None
    assert level_for_role("resident") is None
