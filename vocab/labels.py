"""The one Chinese name of every role, and the other words people type for one.

Every role→Chinese table in GridBot is derived from :data:`ROLE_LABELS`: the core's refusals
(``您的身份（网格员）无权派单``), the ladder's level names (each level is named after the role that
works it: ``已上报网格长王红``), a handler's title (``联户长周大妈``) and the notice audiences
(``对象:网格员,居民``). ``微网格员`` and ``联户长`` are one role, called 联户长 everywhere (the word
of the 网格化+十户联防 model); 微网格员 is still understood when typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from vocab.people import PERSON_ROLES, Role
from vocab.tickets import Level

ROLE_LABELS: Mapping[Role, str] = MappingProxyType(
    {
        Role.RESIDENT: "居民",
        Role.MICRO: "联户长",
        Role.WORKER: "网格员",
        Role.LEADER: "网格长",
        Role.CENTER: "综治中心",
        Role.COUNTY: "县综治中心",
        Role.DEPARTMENT: "部门",
        Role.ADMIN: "管理员",
        Role.SYSTEM: "系统",
    }
)

#: Other words for a role that people type (a notice's 对象), besides its label.
ROLE_ALIASES: Mapping[str, Role] = MappingProxyType(
    {"微网格员": Role.MICRO, "镇综治中心": Role.CENTER, "县级": Role.COUNTY}
)

#: Every word that names a person's role: its label or an alias.
ROLE_BY_WORD: Mapping[str, Role] = MappingProxyType(
    {**{ROLE_LABELS[role]: role for role in PERSON_ROLES}, **ROLE_ALIASES}
)

#: A ladder level is named after the role that works it (``目前由网格长处理``).
LEVEL_LABELS: Mapping[Level, str] = MappingProxyType(
    {level: ROLE_LABELS[Role(level.value)] for level in Level}
)


def role_label(role: str) -> str:
    """The Chinese name of a role code (``"micro"`` → ``联户长``); an unknown code as it is."""
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def role_title(role: str) -> str:
    """The title before a handler's name: the ladder roles' labels (``网格员``李娟); residents,
    departments and admins go by their names alone."""
    try:
        Level(role)
    except ValueError:
        return ""
    return ROLE_LABELS[Role(role)]
