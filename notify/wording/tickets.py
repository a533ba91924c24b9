"""The wording of ticket notifications: task cards, alerts, resident updates (str.format)."""

WEEKDAYS = "一二三四五六日"
DUE_FORMAT = "{month}月{day}日(周{weekday}) {hh:02d}:{mm:02d}"

DISPATCH_CARD_TITLE = "新工单 #{number}｜{category}"
DISPATCH_CARD_URGENT_TITLE = "【紧急】新工单 #{number}｜{category}"
DISPATCH_CARD_DESC = "{grid} · {reporter}"
DISPATCH_CARD_DUE = "请于 {accept_due} 前接单"
DISPATCH_BUTTON_ACCEPT = "接单"
DISPATCH_BUTTON_DETAIL = "详情"
WORKING_CARD_TITLE = "处理中 #{number}｜{category}"
WORKING_BUTTON_RESOLVE = "办结"
RESOLVED_BY_CARD = "已处理完毕（任务卡片办结）"
CARD_ACCEPT_DUE = "接单时限"
CARD_RESOLVE_DUE = "办结时限"
CARD_LOCATION = "位置"
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
TO_HANDLER_ESCALATED = "工单 #{number} 上报给您处理（由{source}），原因：{reason}"
TO_HANDLER_REOPENED = "工单 #{number} 居民不满意，已重新打开并上报给您。居民意见：{comment}"
TO_PREVIOUS_ESCALATED = "工单 #{number} 已上报{level}{handler}，原因：{reason}"
TO_HANDLER_TRANSFERRED = "工单 #{number} 由{source}转派给您，请及时接单。"
TO_PREVIOUS_TRANSFERRED = "工单 #{number} 已由{source}转派给{handler}。"
TO_CENTER_RETURNED = "工单 #{number} 被{source}退回，原因：{reason}\n请重新派单：派单 {number} 姓名（或网格名）"
TO_HANDLER_SUPPLEMENT = "工单 #{number} 居民补充：{note}"
TO_HANDLER_WITHDRAWN = "工单 #{number} 已被居民撤销，无需再处理。"
TO_HANDLER_RATED = "工单 #{number} 居民评价：{rating}{comment}"
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
