"""The vocabulary of the domain core: statuses, actions, roles, ratings, and the two small views
(``TicketView``, ``Actor``) that callers build from the store to ask ``cases`` for a decision.

Values are plain ASCII codes, as stored in the database; the Chinese labels are in
``cases.wording``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from cases.ladder import Level


class Status(StrEnum):
    """Where a ticket stands. Escalate/transfer/reopen are actions, not statuses (see lifecycle)."""

    CREATED = "created"  # 制单: opened, waiting to be dispatched
    DISPATCHED = "dispatched"  # 派单: with a handler (or a level's pool), waiting to be accepted
    ACCEPTED = "accepted"  # 接单/做单: a handler works on it
    RESOLVED = "resolved"  # 办结: handled, waiting for the resident's rating
    CLOSED = "closed"  # 评单 done (满意/一般) or closed unrated (未评价)
    RETURNED = "returned"  # 退回: "not my grid", back at the centre to be re-dispatched
    WITHDRAWN = "withdrawn"  # 撤销 by the resident
    MERGED = "merged"  # a duplicate, linked to another ticket


#: Statuses from which nothing moves on (except reopen of a closed ticket).
FINAL_STATUSES: frozenset[Status] = frozenset({Status.CLOSED, Status.WITHDRAWN, Status.MERGED})
#: Statuses in which someone still owes the resident work.
OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.CREATED, Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED}
)


class Action(StrEnum):
    """What someone (or the bot) does to a ticket."""

    VIEW = "view"  # 查询/详情 (read only, no event)
    DISPATCH = "dispatch"  # 派单
    ACCEPT = "accept"  # 接单
    PROGRESS = "progress"  # 进度 (note only)
    RESOLVE = "resolve"  # 办结
    RATE = "rate"  # 评价
    CLOSE_UNRATED = "close_unrated"  # no rating in time → closed, 未评价
    REOPEN = "reopen"  # 重新打开
    ESCALATE = "escalate"  # 上报 (one level up the ladder)
    TRANSFER = "transfer"  # 转派 (another handler, same level)
    RETURN = "return"  # 退回 (not my grid)
    WITHDRAW = "withdraw"  # 撤销 (the resident)
    MERGE = "merge"  # 合并 (duplicate)
    SUPPLEMENT = "supplement"  # 补充 (the resident adds information)


class Role(StrEnum):
    """Who is acting. ``system`` is the bot itself (scheduler sweep, auto-dispatch)."""

    RESIDENT = "resident"
    MICRO = "micro"
    WORKER = "worker"
    LEADER = "leader"
    CENTER = "center"
    DEPARTMENT = "department"
    ADMIN = "admin"
    SYSTEM = "system"


class Rating(StrEnum):
    """The resident's answer (评单); ``unrated`` is 未评价, counted apart, never as satisfied."""

    SATISFIED = "satisfied"
    AVERAGE = "average"
    UNSATISFIED = "unsatisfied"
    UNRATED = "unrated"


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "grid_path", tuple(self.grid_path))
