"""Every Chinese sentence the domain core can produce: labels and refusal reasons, in one place.

Refusals are full sentences a resident or a grid worker can read in chat, always naming the
ticket (``工单 #12``) and saying why. The names of roles and ladder levels are the product's one
role vocabulary (``vocab.labels``), re-exported here for the core's callers.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cases.ladder import Level
from cases.model import Action, Rating, Role, Status
from vocab.labels import LEVEL_LABELS, ROLE_LABELS

STATUS_LABELS: Mapping[Status, str] = MappingProxyType(
    {
        Status.CREATED: "待派单",
        Status.DISPATCHED: "待接单",
        Status.ACCEPTED: "处理中",
        Status.RESOLVED: "已办结",
        Status.CLOSED: "已结单",
        Status.RETURNED: "已退回",
        Status.WITHDRAWN: "已撤销",
        Status.MERGED: "已合并",
    }
)

ACTION_LABELS: Mapping[Action, str] = MappingProxyType(
    {
        Action.VIEW: "查看",
        Action.DISPATCH: "派单",
        Action.ACCEPT: "接单",
        Action.PROGRESS: "更新进度",
        Action.RESOLVE: "办结",
        Action.RATE: "评价",
        Action.CLOSE_UNRATED: "结单",
        Action.REOPEN: "重新打开",
        Action.ESCALATE: "上报",
        Action.TRANSFER: "转派",
        Action.RETURN: "退回",
        Action.WITHDRAW: "撤销",
        Action.MERGE: "合并",
        Action.SUPPLEMENT: "补充",
        Action.RECLASSIFY: "改类",
    }
)

RATING_LABELS: Mapping[Rating, str] = MappingProxyType(
    {
        Rating.SATISFIED: "满意",
        Rating.AVERAGE: "一般",
        Rating.UNSATISFIED: "不满意",
        Rating.UNRATED: "未评价",
    }
)

# How a status reads inside "工单 #12 …，不能…".
_STATUS_PHRASES: Mapping[Status, str] = MappingProxyType(
    {
        Status.CREATED: "还未派单",
        Status.DISPATCHED: "还未接单",
        Status.ACCEPTED: "正在处理中",
        Status.RESOLVED: "已办结",
        Status.CLOSED: "已结单",
        Status.RETURNED: "已退回综治中心，正在等待重新派单",
        Status.WITHDRAWN: "已被撤销",
        Status.MERGED: "已合并",
    }
)

_PAST = frozenset({Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN, Status.MERGED})


def ticket_ref(ticket_id: int) -> str:
    """``工单 #12``."""
    return f"工单 #{ticket_id}"


def status_phrase(status: Status, duplicate_of: int | None = None) -> str:
    """How a status reads in a sentence."""
    if status is Status.MERGED and duplicate_of is not None:
        return f"已合并到{ticket_ref(duplicate_of)}"
    return _STATUS_PHRASES[status]


def wrong_status(
    ticket_id: int, status: Status, action: Action, duplicate_of: int | None = None
) -> str:
    """The action does not fit the ticket's status: ``工单 #12 已办结，不能再接单。``"""
    verb = ACTION_LABELS[action]
    if action is Action.ACCEPT and status is Status.ACCEPTED:
        return f"{ticket_ref(ticket_id)} 已接单，无需重复接单。"
    if action in (Action.RESOLVE, Action.PROGRESS) and status is Status.DISPATCHED:
        return f"{ticket_ref(ticket_id)} 还未接单，请先接单再{verb}。"
    if action is Action.RATE and status in (
        Status.CREATED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.RETURNED,
    ):
        return f"{ticket_ref(ticket_id)} 还未办结，暂不能评价。"
    again = "再" if status in _PAST else ""
    return f"{ticket_ref(ticket_id)} {status_phrase(status, duplicate_of)}，不能{again}{verb}。"


def role_cannot(role: Role, action: Action) -> str:
    """The actor's role never does this: ``您的身份（居民）无权接单。``"""
    return f"您的身份（{ROLE_LABELS[role]}）无权{ACTION_LABELS[action]}。"


def not_your_ticket(ticket_id: int, action: Action) -> str:
    """A resident acting on someone else's ticket."""
    return f"{ticket_ref(ticket_id)} 不是您提交的，无法{ACTION_LABELS[action]}。"


def reporter_only(ticket_id: int, action: Action) -> str:
    """Rating and supplementing belong to the reporter."""
    return f"只有报事人本人可以{ACTION_LABELS[action]}{ticket_ref(ticket_id)}。"


def out_of_scope(ticket_id: int, action: Action) -> str:
    """Staff acting outside their grids, department or assignment."""
    return f"{ticket_ref(ticket_id)} 不在您负责的范围内（网格、部门或派给您的工单），无法{ACTION_LABELS[action]}。"


def assigned_to_other(ticket_id: int) -> str:
    """A peer trying to accept a ticket dispatched to someone else."""
    return f"{ticket_ref(ticket_id)} 已派给其他人处理，如需接手请联系网格长转派。"


_NOTE_NEEDED: Mapping[Action, str] = MappingProxyType(
    {
        Action.PROGRESS: "请写明进度内容，例如：进度 {id} 已联系物业。",
        Action.RESOLVE: "请写明办结说明，例如：办结 {id} 已疏通。",
        Action.ESCALATE: "请写明上报原因，例如：上报 {id} 涉及多个部门。",
        Action.RETURN: "请写明退回原因，例如：退回 {id} 不属于本网格。",
        Action.SUPPLEMENT: "请写明补充内容，例如：补充 {id} 漏水在二楼。",
        Action.REOPEN: "请写明重新打开{ref}的原因。",
        Action.RECLASSIFY: "请写明改类原因，例如：改类 {id} 安全隐患 电动车在楼道充电。",
    }
)


def note_needed(ticket_id: int, action: Action) -> str:
    """The action needs an explanation and none was given."""
    return _NOTE_NEEDED[action].format(id=ticket_id, ref=ticket_ref(ticket_id))


def rating_invalid() -> str:
    """The rating could not be understood."""
    return "请回复 1 满意 / 2 一般 / 3 不满意。"


def top_of_ladder(ticket_id: int) -> str:
    """Nothing above county."""
    return f"{ticket_ref(ticket_id)} 已在县级处理，无法继续上报。"


def escalate_not_up(ticket_id: int, current: Level, target: Level) -> str:
    """An escalation must go up."""
    return (
        f"{ticket_ref(ticket_id)} 目前由{LEVEL_LABELS[current]}处理，"
        f"上报只能交给更高一级，不能交给{LEVEL_LABELS[target]}。"
    )


def transfer_needs_target(ticket_id: int) -> str:
    """转派 without a person."""
    return f"请指明把{ticket_ref(ticket_id)}转派给谁，例如：转派 {ticket_id} 张三。"


def transfer_same_person(ticket_id: int) -> str:
    """Transferring to whoever has it already."""
    return f"{ticket_ref(ticket_id)} 已由此人处理，无需转派。"


def transfer_target_out_of_scope(ticket_id: int) -> str:
    """The new handler does not cover the ticket's grid or department."""
    return f"转派对象不负责{ticket_ref(ticket_id)}所在的网格或部门，不能转派给他/她。"


def merge_needs_target(ticket_id: int) -> str:
    """合并 without the original ticket."""
    return f"请指明{ticket_ref(ticket_id)}与哪张工单重复。"


def merge_into_itself(ticket_id: int) -> str:
    """A ticket cannot duplicate itself."""
    return f"{ticket_ref(ticket_id)} 不能合并到自身。"


def reclassify_needs_category(ticket_id: int) -> str:
    """改类 without the new category."""
    return f"请指明把{ticket_ref(ticket_id)}改为哪一类，例如：改类 {ticket_id} 安全隐患 原因。"


def reclassify_unknown_category(ticket_id: int, word: str, names: str) -> str:
    """改类 to a category the township does not have."""
    return f"没有“{word}”这一类，{ticket_ref(ticket_id)}未改类。可选：{names}。"


def reclassify_same_category(ticket_id: int, name: str) -> str:
    """改类 to the category the ticket has already."""
    return f"{ticket_ref(ticket_id)} 已是“{name}”，无需改类。"
