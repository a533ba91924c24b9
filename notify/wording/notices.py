"""Every Chinese word of the notices feature: chat usage and replies, refusals, confirmations,
the messages people receive, and the reasons the API and CLI give for refusing input.

A leaf module (it imports only the vocabulary, below every layer) so ``notify`` and ``web`` may
use it too. The audience's role words are the product's one role vocabulary (``vocab.labels``).
"""

from __future__ import annotations

from vocab import PERSON_ROLES
from vocab.labels import ROLE_BY_WORD, ROLE_LABELS

#: role code → its name in an audience (``对象：网格员、居民``)
ROLE_NAMES: dict[str, str] = {role.value: ROLE_LABELS[role] for role in PERSON_ROLES}
#: a word typed after 对象: → role code (labels, and the aliases vocab.labels knows)
ROLE_WORDS: dict[str, str] = {word: role.value for word, role in ROLE_BY_WORD.items()}
WHOLE_TOWNSHIP_WORDS = ("全街道", "全镇", "全乡", "全部", "全体")
URGENT_WORD = "紧急"

USAGE_DEADLINE = "用法：截止提醒 2026-12-31 城乡居民医保缴费 范围:全街道 [提前:7,3,1] [内容:…]"
USAGE_SCHEDULED = "用法：定时通知 每周一 09:00 范围:东顺苑社区 内容:… （也可：2026-12-01 09:00）"
USAGE_NOW = "用法：立即通知 范围:西湖社区 内容:… [对象:网格员,居民] [紧急]"
USAGE_CANCEL = "用法：取消通知 5"

# 帮助: the notice commands' lines (centre staff and admins)
HELP_LINES = (
    "截止提醒 2026-12-31 标题 范围:全街道 [提前:7,3,1] [内容:…]",
    "定时通知 每周一 09:00 范围:社区或网格 内容:…（或 2026-12-01 09:00）",
    "立即通知 范围:社区或网格 内容:… [标题:…] [对象:网格员,居民] [紧急]",
    "通知列表：进行中的通知",
    "取消通知 5 · 通知状态 5",
)

REFUSED = "抱歉，只有综治中心或管理员可以发布通知（您的身份：{role}）。"
NOT_FOUND = "没有找到通知 #{id}。"
ALREADY_CANCELLED = "通知 #{id} 已经取消。"
CANCELLED = "已取消通知 #{id}「{title}」，尚未发出的 {pending} 条消息不再发送。"
NO_NOTICES = "目前没有进行中的通知。"
LIST_HEAD = "进行中的通知（{count}）："
LIST_LINE = "#{id} {title} · {when} · {scope}"

CONFIRM_HEAD = "已登记通知 #{id}「{title}」{urgent}"
CONFIRM_SCOPE = "范围：{scope}"
CONFIRM_TARGETS = "对象：{groups} 个网格群，{members} 人（{roles}）"
CONFIRM_NOW = "发送：立即发送"
CONFIRM_DEFERRED = "发送：现在是休息时段或非工作日，将于 {at} 发送"
CONFIRM_ONCE = "发送：{at}"
CONFIRM_CRON = "发送：{phrase}（接下来：{next}）"
CONFIRM_CRON_DEFER = "休息时段或非工作日遇到的轮次，顺延到下一个工作日 09:00。"
CONFIRM_DEADLINE = "截止日期：{deadline}"
CONFIRM_REMINDERS = "提醒：{items}"
CONFIRM_REMINDER_ITEM = "{date}（提前 {n} 个工作日）"
CONFIRM_REMINDERS_NONE = "提醒：截止前的提醒日期都已过去，不再安排提醒。"
CONFIRM_PROVISIONAL = "（{year} 年节假日尚未公布，日期按周一至周五估算，公布后请核对）"
CONFIRM_FOOT = "发送“取消通知 {id}”可撤回。"
URGENT_TAG = "（紧急）"

# What people receive.
MESSAGE_NOTICE = "### 【{township}通知】{title}{urgent}\n{body}"
MESSAGE_REMINDER = (
    "### 【截止提醒】{title}{urgent}\n截止日期：**{deadline}**，还有 {n} 个工作日。\n{body}"
)
MESSAGE_FOOT = "\n> 发布：{author}"

# Status (CLI and API share the numbers; the CLI prints these).
STATUS_LINE = (
    "#{id} {title} [{status}] 对象 {targets} · 已送达 {delivered} · 失败 {failed} · "
    "待发送 {pending} · 已取消 {cancelled}"
)
STATUS_RUN = "  {run_key} 计划 {slot} 发送 {deliver_at}：{recipients} 个对象"

STATUS_WORDS = {"active": "进行中", "done": "已完成", "cancelled": "已取消"}

# Why input was refused (chat, CLI and API).
ERRORS: dict[str, str] = {
    "empty_audience": "请写明范围，例如“范围:全街道”或“范围:东顺苑社区”。",
    "unknown_scope": "不认识的范围：{names}。可用：全街道、社区或网格的名称或编码。",
    "unknown_role": "不认识的对象：{roles}。可用：网格员、网格长、联户长、居民、部门。",
    "unknown_chat": "没有这个群：{names}。",
    "unknown_user": "没有这些人员：{names}。",
    "audience_field": "范围字段 {field} 必须是文字列表。",
    "bad_schedule": "看不懂时间“{text}”，例如：每周一 09:00、每天 08:30、每月1日 09:00。",
    "bad_cron": "cron 表达式无效：{text}（例如 0 9 * * mon）。",
    "bad_time": "看不懂时间“{text}”，请写成 2026-12-01 09:00。",
    "past_time": "发送时间 {text} 已经过去。",
    "bad_date": "看不懂日期“{text}”，请写成 2026-12-31。",
    "past_deadline": "截止日期 {text} 已经过去。",
    "bad_offset": "提前天数“{offset}”无效，例如 7,3,1（工作日）。",
    "missing_title": "请写明通知标题或内容。",
    "missing_body": "请写明通知内容（内容:…）。",
    "bad_kind": "schedule.kind 只能是 now、once、cron 或 none。",
    "no_schedule": "请给出发送时间（立即、某个时间或周期）或截止日期。",
    "too_long": "内容太长（最多 {limit} 字）。",
    "bad_json": "请求体必须是 JSON 对象。",
}


def error_text(code: str, detail: dict[str, object] | None = None) -> str:
    """The Chinese reason for a refused notice."""
    detail = dict(detail or {})
    for key, value in list(detail.items()):
        if isinstance(value, list | tuple):
            detail[key] = "、".join(str(v) for v in value)
    template = ERRORS.get(code, code)
    try:
        return template.format(**detail)
    except (KeyError, IndexError):
        return template


def role_names(roles: tuple[str, ...] | list[str]) -> str:
    return "、".join(ROLE_NAMES.get(r, r) for r in roles) or "无"

WHEN_DEADLINE = "截止 {deadline}"
