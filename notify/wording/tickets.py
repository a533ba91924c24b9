"""Every Chinese sentence of the tickets feature (str.format templates), in one place.

Task cards and alerts, what residents and handlers are told as a ticket moves, and the replies
to the ticket commands (usage, confirmations, details, lists). The core's refusal reasons and
status labels are in :mod:`cases.wording`, below chat.
"""

WEEKDAYS = "一二三四五六日"
DUE_FORMAT = "{month}月{day}日(周{weekday}) {hh:02d}:{mm:02d}"

DUE_PROVISIONAL = "{due}（暂定）"

DISPATCH_CARD_TITLE = "新工单 #{number}｜{category}"
CARD_TITLES = {
    "new": DISPATCH_CARD_TITLE,
    "reopened": "重办工单 #{number}｜{category}",
    "escalated": "上报工单 #{number}｜{category}",
}
CARD_URGENT_PREFIX = "【紧急】"
CARD_FROM_LEVEL = "来自"
CARD_NOTE_KEYS = {"reopened": "居民意见", "escalated": "上报原因"}
CARD_VALUE_LIMIT = 26  # WeCom shows about this many characters of a horizontal_content value
DISPATCH_CARD_DESC = "{grid} · {reporter}"
UNSURE_MARK = "（待人工分类）"
DISPATCH_CARD_DUE = "请于 {accept_due} 前接单"
DISPATCH_BUTTON_ACCEPT = "接单"
DISPATCH_BUTTON_DETAIL = "详情"
WORKING_CARD_TITLE = "处理中 #{number}｜{category}"
WORKING_BUTTON_RESOLVE = "办结"
RESOLVED_BY_CARD = "已处理完毕（任务卡片办结）"
CARD_ACCEPT_DUE = "接单时限"
CARD_RESOLVE_DUE = "办结时限"
CARD_LOCATION = "位置"
CARD_SOURCE = "来源"
CARD_CONTACT = "来电人"
# an order from another system (12345 hotline platform …): its name and its own order number
SOURCE_LABEL = "{source} 工单 {external_id}"
DETAIL_SOURCE = "来源：{label}"
# What a task card's buttons are replaced with once its ticket has moved on (greyed out).
CARD_STATE_ACCEPTED = "已接单·{name}"
CARD_STATE_TRANSFERRED = "已转派·{name}"
CARD_STATE_ESCALATED = "已上报·{name}"
CARD_STATE_NEWER = "已更新·请看新卡片"
CARD_STATE_FINAL = {
    "resolved": "已办结",
    "closed": "已结单",
    "returned": "已退回",
    "created": "已退回",
    "withdrawn": "已撤销",
    "merged": "已合并",
}
NO_GRID = "未定网格"
URGENT_ALERT = "【紧急】{grid} 工单 #{number}（{category}）：{text}\n已派给{handler}，请关注。"

# -- the ticket lifecycle (issue 3): what residents and handlers are told ----------------------
RATING_PROMPT = "请对工单 #{number} 的处理结果评价：回复 1 满意 / 2 一般 / 3 不满意"
TO_RESIDENT_ACCEPTED = "您的工单 #{number} 已由{handler}接单，将于 {due} 前办结。"
TO_RESIDENT_PROGRESS = "工单 #{number} 进展（{handler}）：{note}"
TO_RESIDENT_RESOLVED = "工单 #{number} 已办结：{note}\n" + RATING_PROMPT
TO_RESIDENT_ESCALATED = "工单 #{number} 已上报{level}{handler}处理，原因：{reason}"
TO_RESIDENT_TRANSFERRED = "工单 #{number} 已转由{handler}处理。"
TO_RESIDENT_DISPATCHED = "工单 #{number} 已派给{handler}处理，{due}前接单。"
TO_RESIDENT_RETURNED = "工单 #{number} 已交回综治中心重新分派。"
TO_RESIDENT_CLOSED_UNRATED = "工单 #{number} 未在 {days} 个工作日内评价，已结单（未评价）。"
TO_DUPLICATE_RESOLVED = "您反映的问题（工单 #{own}，已并入工单 #{number}）已办结：{note}"
TO_HANDLER_ESCALATED = (
    "上报工单 #{number}：由{source}从{level}上报给您处理，原因：{reason}\n请于 {due} 前接单。"
)
TO_HANDLER_REOPENED = (
    "重办工单 #{number}：居民不满意（原由{level}办理），已重新打开交给您。居民意见：{comment}\n"
    "请于 {due} 前接单。"
)
NO_COMMENT = "（未填写）"
TO_PREVIOUS_ESCALATED = "工单 #{number} 已上报{level}{handler}，原因：{reason}"
TO_HANDLER_TRANSFERRED = "工单 #{number} 由{source}转派给您，请及时接单。"
TO_PREVIOUS_TRANSFERRED = "工单 #{number} 已由{source}转派给{handler}。"
TO_CENTER_RETURNED = "工单 #{number} 被{source}退回，原因：{reason}\n请重新派单：派单 {number} 姓名（或网格名）"
TO_HANDLER_SUPPLEMENT = "工单 #{number} 居民补充：{note}"
TO_HANDLER_WITHDRAWN = "工单 #{number} 已被居民撤销，无需再处理。"
TO_HANDLER_SUPPLEMENT_FROM = "工单 #{number} {source}补充：{note}"
TO_HANDLER_WITHDRAWN_FROM = "工单 #{number} 已被{source}撤销（{reason}），无需再处理。"
NO_REASON = "未说明原因"
# 关闭 by staff (the web console): the ticket is withdrawn on the resident's behalf, with a reason
TO_HANDLER_CLOSED = "工单 #{number} 已由{source}关闭（{reason}），无需再处理。"
TO_RESIDENT_CLOSED = "您反映的问题（工单 #{number}）已由{source}关闭：{reason}"
TO_HANDLER_RATED = "工单 #{number} 居民评价：{rating}{comment}"
TO_HANDLER_RATED_FROM = "工单 #{number} {source}回访评价：{rating}{comment}"
TO_HANDLER_ATTACHMENT = "工单 #{number} 居民补充了{kind}。"
REMINDER = "⏰ 提醒：工单 #{number}（{category}）须在 {due} 前{verb}。"
DEADLINE_MOVED = "工单 #{number} 的时限已按公布的节假日安排更新为 {due}。"
OVERDUE_REASONS = {"dispatch": "超过派单时限", "accept": "超过接单时限", "resolve": "超过办结时限"}
STAGE_VERBS = {"dispatch": "派单", "accept": "接单", "resolve": "办结"}
ATTACHMENT_KINDS = {"image": "图片", "voice": "语音", "location": "位置", "video": "视频",
                    "file": "文件"}
SYSTEM_SOURCE = "系统"
CENTER_NAME = "综治中心"

# -- the way out: an admin alert when a message could not be delivered -------------------------
DELIVERY_DEAD_ALERT = (
    "【网格通】消息投递失败：outbox #{id}（{channel}，{msgtype}）重试 {attempts} 次仍未送达。"
    "最后错误：{error}"
)

# -- the ticket commands: what the person who typed the command reads -------------------------
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
USAGE_RECLASSIFY = "用法：改类 工单号 类别 原因，例如：改类 12 安全隐患 电动车在楼道充电"
USAGE_DISPATCH = "用法：派单 工单号 姓名或网格名，例如：派单 12 李娟 或 派单 12 东顺苑第一网格"

# 帮助: one line per command (handlers.help shows each role the lines of its commands)
HELP_TASKS = "任务：我的待办（最急的在前）"
HELP_ACCEPT = "接单 12：接下派给您的工单"
HELP_PROGRESS = "进度 12 内容：记录进展并告知居民"
HELP_RESOLVE = "办结 12 说明：办结并请居民评价"
HELP_ESCALATE = "上报 12 原因：上报上一级处理"
HELP_TRANSFER = "转派 12 姓名：转给其他负责人"
HELP_RETURN = "退回 12 原因：不属于本网格，退回综治中心"
HELP_DISPATCH = "派单 12 姓名或网格名：分派待派单或退回的工单"
HELP_RECLASSIFY = "改类 12 类别 原因：纠正工单类别（用于改进自动分类）"
HELP_DETAIL = "详情 12：工单详情和全部记录（详情 12 2 看第 2 页，详情 12 全部）"
HELP_QUERY = "查询：我的工单；查询 12：工单进度"
HELP_SUPPLEMENT = "补充 12 内容：补充情况"
HELP_WITHDRAW = "撤销 12：撤销工单"
HELP_RATE = "评价 12 满意/一般/不满意 [意见]"

NOT_FOUND = "没有找到工单 #{number}，请核对工单号。"
STAFF_ONLY = "「{verb}」是工作人员的命令，您的身份（居民）无权使用。"
NOBODY_NAMED = "没有找到叫「{name}」的工作人员或网格，请写姓名或网格名。"
NO_HANDLER_IN_GRID = "「{name}」暂无在岗的网格员，请直接写要派给的人的姓名。"

DONE_ACCEPT = "已接单：工单 #{number}，请于 {due} 前办结。"
DONE_PROGRESS = "已记录工单 #{number} 的进度，将{via}告知居民。"
DONE_PROGRESS_UNREACHED = "已记录工单 #{number} 的进度，但无法告知居民：{why}。"
DONE_RESOLVE = "工单 #{number} 已办结，评价邀请将{via}发给居民；如未送达，会再告诉您。"
# an order from another system: it hears by webhook, not in chat
DONE_FOR_SOURCE = {
    "progress": "已记录工单 #{number} 的进度。",
    "resolve": "工单 #{number} 已办结，结果将回传{source}。",
}
DONE_RESOLVE_UNREACHED = (
    "工单 #{number} 已办结，但评价邀请发不出去：{why}。请电话或上门告知居民处理结果并请其评价。"
)
DONE_ESCALATE = "工单 #{number} 已上报{level}{handler}。"
DONE_RECLASSIFY = "工单 #{number} 已由“{source}”改为“{target}”，已记为分类纠正，用于改进自动分类。"
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
    "时限：派单 {dispatch_due}；接单 {accept_due}；办结 {resolve_due}\n"
    "分类依据：{explain}"
)
DETAIL_TRAIL_HEAD = "记录（共 {count} 条）："
DETAIL_TRAIL_PAGE_HEAD = "记录（共 {count} 条，第 {page}/{pages} 页）："
DETAIL_TRAIL_MORE = "下一页：详情 {number} {next}　全部：详情 {number} 全部"
DETAIL_TRAIL_LAST = "全部记录：详情 {number} 全部"
DETAIL_NO_PAGE = "工单 #{number} 的记录共 {pages} 页，没有第 {page} 页。"
DETAIL_ALL_WORDS = ("全部", "所有", "all")
RESIDENT_DETAIL = (
    "工单 #{number}｜{category}｜{status}\n"
    "内容：{text}\n"
    "处理：{handler}{due}\n"
    "最近进展：\n{events}"
)
RESIDENT_EARLIER = "（更早的 {count} 条记录从略）"

# -- the trail of a ticket (详情, 查询): one line per event ---------------------------------------
TRAIL_LINE = "· {when} {who} {what}"
TRAIL_NOTE = "{label}：{note}"
TRAIL_VIA_CONSOLE = "（经控制台）"
TRAIL_HANDED = "{label} → {handler}"
TRAIL_ESCALATED = "上报：{source} → {target}，原因：{reason}"
TRAIL_RECLASSIFIED = "改类：{source} → {target}，原因：{reason}"
TRAIL_RATED = "评价：{rating}"
TRAIL_RATING_COMMENT = "，意见：{comment}"
TRAIL_REOPENED = "；工单重新打开，上报{target}"
TRAIL_REOPENED_SAME = "；工单重新打开，仍由{target}办理"
TRAIL_CLOSED_UNRATED = "结单（未评价）"
TRAIL_MERGED = "合并到工单 #{number}"
TRAIL_OTHER_ACTIONS = {"create": "制单", "attach": "补充附件", "unreached": "消息未送达居民"}
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
