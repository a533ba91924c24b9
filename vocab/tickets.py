"""Where a ticket stands and what is done to it: the 六单 vocabulary of the domain core.

``cases`` gives these their rules (the state machine, the permission matrix, the ladder);
``cases.wording`` gives the statuses, actions and ratings their Chinese words.
"""

from __future__ import annotations

from enum import StrEnum


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
    RECLASSIFY = "reclassify"  # 改类 (staff correct the category; the classifier learns from it)


#: What a ticket's audit trail records: its opening (``create``, 制单 by the intake) and every
#: action that changes something (a ``view`` leaves no trace), and ``unreached`` (the bot's note
#: that a message for the resident reached them by no route).
UNREACHED = "unreached"
TRAIL_ACTIONS: tuple[str, ...] = (
    "create", *(a.value for a in Action if a is not Action.VIEW), UNREACHED,
)


class Rating(StrEnum):
    """The resident's answer (评单); ``unrated`` is 未评价, counted apart, never as satisfied."""

    SATISFIED = "satisfied"
    AVERAGE = "average"
    UNSATISFIED = "unsatisfied"
    UNRATED = "unrated"


class Tier(StrEnum):
    """How hard a case is: it sets the resolve deadline and the level a ticket starts at."""

    EASY = "easy"  # 小事
    GENERAL = "general"  # 大事 (and 12345 orders)
    HARD = "hard"  # 难事


class Level(StrEnum):
    """A rung of the escalation ladder, bottom to top; each is worked by the role of its name.

    小事微网格员办、大事网格员办、难事网格长办 … 小事不出村、大事不出乡、难事不出县.
    """

    MICRO = "micro"
    WORKER = "worker"
    LEADER = "leader"
    CENTER = "center"
    COUNTY = "county"


#: The ladder, bottom to top.
LADDER: tuple[Level, ...] = tuple(Level)


class Stage(StrEnum):
    """A clocked stage of the 六单 workflow."""

    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RESOLVE = "resolve"
    RATING = "rating"
