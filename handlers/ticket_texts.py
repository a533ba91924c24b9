"""Every Chinese sentence the ticket commands answer with (str.format templates).

Refusal reasons come from ``cases.wording`` (the core); what others are told is in
``notify.wording.tickets``. This file is what the person who typed the command reads.
"""

USAGE_ACCEPT = "用法：接单 工单号，例如：接单 12"
USAGE_PROGRESS = "用法：进度 工单号 内容，例如：进度 12 已联系物业，明天上午疏通"
USAGE_RESOLVE = "用法：办结 工单号 说明，例如：办结 12 已疏通，现场照片已上传"
USAGE_ESCALATE = "用法：上报 工单号 原因，例如：上报 12 涉及多个部门"
USAGE_TRANSFER = "用法：转派 工单号 姓名，例如：转派 12 张伟"
USAGE_RETURN = "用法：退回 工单号 原因，例如：退回 12 不属于本网格"
USAGE_DETAIL = "用法：详情 工单号，例如：详情 12"
USAGE_SUPPLEMENT = "用法：补充 工单号 内容，例如：补充 12 漏水在二楼"
USAGE_WITHDRAW = "用法：撤销 工单号，例如：撤销 12"
USAGE_RATE = "用法：评价 工单号 满意/一般/不满意 [意见]，例如：评价 12 满意"
USAGE_DISPATCH = "用法：派单 工单号 姓名或网格名，例如：派单 12 李娟 或 派单 12 东顺苑第一网格"

NOT_FOUND = "没有找到工单 #{number}，请核对工单号。"
STAFF_ONLY = "「{verb}」是工作人员的命令，您的身份（居民）无权使用。"
NOBODY_NAMED = "没有找到叫「{name}」的工作人员或网格，请写姓名或网格名。"
NO_HANDLER_IN_GRID = "「{name}」暂无在岗的网格员，请直接写要派给的人的姓名。"

DONE_ACCEPT = "已接单：工单 #{number}，请于 {due} 前办结。"
DONE_PROGRESS = "已记录工单 #{number} 的进度，并告知居民。"
DONE_RESOLVE = "工单 #{number} 已办结，已请居民评价。"
DONE_ESCALATE = "工单 #{number} 已上报{level}{handler}。"
DONE_TRANSFER = "工单 #{number} 已转派给{handler}。"
DONE_RETURN = "工单 #{number} 已退回综治中心重新分派。"
DONE_DISPATCH = "工单 #{number} 已派给{handler}（{grid}），{due}前接单。"
DONE_SUPPLEMENT = "已把补充内容加到工单 #{number}，并转告处理人。"
DONE_WITHDRAW = "工单 #{number} 已撤销。"
DONE_RATE = "感谢您的评价（{rating}），工单 #{number} 已结单。"
DONE_RATE_UNSATISFIED = (
    "抱歉处理结果没有让您满意。工单 #{number} 已重新打开，并上报{level}{handler}处理。"
)
DONE_ATTACHED = "已把{kind}补充到工单 #{number}。"

DETAIL = (
    "工单 #{number}｜{category}｜{status}\n"
    "内容：{text}\n"
    "网格：{grid}　报事人：{reporter}\n"
    "处理：{level}{handler}\n"
    "时限：派单 {dispatch_due}；接单 {accept_due}；办结 {resolve_due}{provisional}\n"
    "分类依据：{explain}\n"
    "记录：\n{events}"
)
DETAIL_EVENT = "· {when} {who} {action}{note}"
DETAIL_PROVISIONAL = "（暂定）"
RESIDENT_DETAIL = (
    "工单 #{number}｜{category}｜{status}\n"
    "内容：{text}\n"
    "处理：{handler}{due}\n"
    "最近进展：\n{events}"
)
RESIDENT_DUE = "，{label} {due}"
DUE_LABELS = {"dispatch": "派单时限", "accept": "接单时限", "resolve": "预计办结"}
MY_TICKETS_HEAD = "您的工单（最近 {count} 张）："
MY_TICKET_LINE = "#{number} {category}｜{status}｜{text}"
MY_TICKETS_NONE = "您还没有提交过工单。直接描述遇到的问题即可登记。"
MY_TICKETS_TAIL = "发「查询 工单号」看详情。"
TASKS_HEAD = "您的待办（{count} 张，最急的在前）："
TASK_LINE = "#{number} {category}｜{status}｜{label} {due}{overdue}"
TASK_OVERDUE = " ⚠已超时"
TASKS_NONE = "您目前没有待办工单。"
SYSTEM_NAME = "系统"
CENTER_NAME = "综治中心"
NO_EXPLANATION = "—"

RATING_WORDS = {
    "1": "satisfied", "满意": "satisfied", "非常满意": "satisfied",
    "2": "average", "一般": "average", "基本满意": "average",
    "3": "unsatisfied", "不满意": "unsatisfied",
}

DUPLICATE_LINKED = (
    "您反映的问题与工单 #{number}（{category}）是同一件事，已并入该工单一并处理，"
    "办结时会通知您。您的登记号 #{own}，查询请发「查询 {own}」。"
)
