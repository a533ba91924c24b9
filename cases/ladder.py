"""The escalation ladder: 小事微网格员办、大事网格员办、难事网格长办 … 难事不出县.

Levels, bottom to top: ``micro`` → ``worker`` → ``leader`` → ``center`` → ``county``.

Who handles a ticket at a level is found from plain roster data, ``duties``: a mapping
``grid code → {role: [person ids]}`` (the caller builds it from ``Membership`` rows). The
ticket's place is its ``grid_path``: the grid codes from the root (county) down to the ticket's
own grid or micro-grid.

* ``micro``, ``worker``, ``leader``: the nearest node on the path (from the ticket's grid
  upwards) where someone holds that role.
* ``center``: the nearest node holding a ``center`` duty -- the township node, in practice.
* ``county``: the nearest node holding a ``county`` duty; failing that, a ``center`` duty on a
  node strictly above the township's centre (the county's own 综治中心).

``escalation_target`` skips levels where nobody is on duty (a grid without 联户长 goes straight
to its worker). The level where a ticket was resolved is recorded by ``cases.lifecycle`` on
resolve (``resolved_level``), using ``resolved_level`` below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vocab import LADDER, Level

Duties = Mapping[str, Mapping[str, Sequence[int]]]


@dataclass(frozen=True)
class Handler:
    """Who takes a ticket at a level: the grid node where they hold the duty, and the people."""

    level: Level
    grid_code: str
    person_ids: tuple[int, ...]


def as_level(value: str | Level) -> Level:
    """``"leader"`` → ``Level.LEADER``; ValueError for anything else."""
    return Level(value)


def rank(level: str | Level) -> int:
    """0 for micro … 4 for county."""
    return LADDER.index(Level(level))


def next_level(level: str | Level) -> Level | None:
    """The level above ``level``, or None at the top (county)."""
    i = rank(level)
    return LADDER[i + 1] if i + 1 < len(LADDER) else None


def level_for_role(role: str) -> Level | None:
    """The ladder level a staff role works at (micro/worker/leader/center), else None."""
    try:
        level = Level(role)
    except ValueError:
        return None
    return level


def resolved_level(ticket_level: str | Level, actor_role: str) -> Level:
    """The level to record when a ticket is resolved: the higher of the ticket's level and the
    resolver's own rung (a leader who resolves a worker-level ticket resolves it at leader)."""
    level = Level(ticket_level)
    own = level_for_role(actor_role)
    if own is not None and rank(own) > rank(level):
        return own
    return level


def _people(duties: Duties, code: str, role: str) -> tuple[int, ...]:
    return tuple(duties.get(code, {}).get(role, ()))


def handler_for(level: str | Level, grid_path: Sequence[str], duties: Duties) -> Handler | None:
    """Who takes a ticket at ``level`` (nearest ancestor with that duty), or None if nobody."""
    level = Level(level)
    path = list(grid_path)
    if level is Level.COUNTY:
        for code in reversed(path):
            people = _people(duties, code, "county")
            if people:
                return Handler(level, code, people)
        township = handler_for(Level.CENTER, path, duties)
        if township is None:
            return None
        above = path[: path.index(township.grid_code)]
        for code in reversed(above):
            people = _people(duties, code, "center")
            if people:
                return Handler(level, code, people)
        return None
    for code in reversed(path):
        people = _people(duties, code, level.value)
        if people:
            return Handler(level, code, people)
    return None


def escalation_target(
    level: str | Level, grid_path: Sequence[str], duties: Duties
) -> Handler | None:
    """The first level above ``level`` where someone is on duty, or None at the top."""
    nxt = next_level(level)
    while nxt is not None:
        handler = handler_for(nxt, grid_path, duties)
        if handler is not None:
            return handler
        nxt = next_level(nxt)
    return None


def first_handler(
    grid_path: Sequence[str], duties: Duties, start: str | Level = Level.WORKER
) -> Handler | None:
    """Who gets a new ticket: ``start`` level if staffed, else the first staffed level above."""
    return handler_for(start, grid_path, duties) or escalation_target(start, grid_path, duties)
