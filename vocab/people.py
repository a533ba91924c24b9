"""Who people are: their roles, and the levels of the grid tree they work on."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role (config.yaml ``roster[].role``; a staff duty on a grid node), or the bot.

    Five roles work on the escalation ladder, bottom to top, each at the ``Level`` of the same
    name: micro → worker → leader → center → county.
    """

    RESIDENT = "resident"  # 居民: reports, checks, rates
    MICRO = "micro"  # 联户长: leads a micro-grid (十户联防) of ten to thirty households
    WORKER = "worker"  # 网格员: handles dispatched tickets for one or more grids
    LEADER = "leader"  # 网格长: hard cases and escalations from workers
    CENTER = "center"  # 综治中心 of the township: triage, escalations, broadcasts
    COUNTY = "county"  # 县综治中心: the top of the ladder (难事不出县)
    DEPARTMENT = "department"  # 部门 (民政, 医保 …): tickets whose category routes to it
    ADMIN = "admin"  # 管理员: configuration, roster, notices, reports
    SYSTEM = "system"  # the bot itself (sweeps, auto-dispatch): acts, but is nobody's role


#: The roles a person can have (config.yaml accepts exactly these): every role but the bot's.
PERSON_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
#: The roles that hold duties on grid nodes and handle tickets: everyone but residents.
STAFF_ROLES: tuple[Role, ...] = tuple(r for r in PERSON_ROLES if r is not Role.RESIDENT)


class GridLevel(StrEnum):
    """A level of the grid tree (统一编码), root first: each node sits below a higher level."""

    COUNTY = "county"  # 县
    TOWNSHIP = "township"  # 乡镇/街道
    VILLAGE = "village"  # 村/社区
    GRID = "grid"  # 网格
    MICRO = "micro"  # 微网格/联防组


class PromptKind(StrEnum):
    """What the bot asked a person and still waits an answer to (``store.prompts``)."""

    RATING = "rating"  # 评单: 1 满意 / 2 一般 / 3 不满意 for one ticket
    CHOICE = "choice"  # which of their tickets an answer is for


class Enrolment(StrEnum):
    """How a resident outside the roster was enrolled: by their first message, and where."""

    GROUP = "group"  # in a grid group chat (its grid is theirs)
    APP = "app"  # 1:1 to the self-built app
    AIBOT = "aibot"  # 1:1 to the smart bot
    SYSTEM = "system"  # an outside system whose orders come in by the API (12345 …): no chat
