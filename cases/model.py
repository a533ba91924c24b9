"""The vocabulary of the domain core and the two small views (``TicketView``, ``Actor``) that
callers build from the store to ask ``cases`` for a decision.

Statuses, actions, roles and ratings are defined once in ``vocab`` (plain ASCII codes, as stored
in the database) and re-exported here; the Chinese labels are in ``cases.wording``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from vocab import FINAL_STATUSES, OPEN_STATUSES, Action, Level, Rating, Role, Status

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "Action",
    "Actor",
    "Duty",
    "Rating",
    "Role",
    "Status",
    "TicketView",
]


class Duty(NamedTuple):
    """A staff member's role on a grid node (a ``Membership`` row): ``("G-01", "worker")``."""

    grid: str
    role: str


@dataclass(frozen=True)
class Actor:
    """The person acting: their main role, their duties by grid, their department if any."""

    person_id: int | None
    role: Role
    scopes: tuple[Duty, ...] = ()
    department: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "scopes", tuple(Duty(*d) for d in self.scopes))

    @classmethod
    def system(cls) -> Actor:
        """The bot itself (scheduler, auto-dispatch): no person behind it."""
        return cls(None, Role.SYSTEM)


@dataclass(frozen=True)
class TicketView:
    """What the core needs to know about a ticket (the caller copies it from ``Ticket``)."""

    id: int
    status: Status
    reporter_id: int
    assignee_id: int | None
    grid_path: tuple[str, ...]  # grid codes from the root down to the ticket's grid
    level: Level = Level.WORKER
    department: str | None = None
    duplicate_of: int | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "grid_path", tuple(self.grid_path))
