"""Every Chinese sentence the chat handlers say, in one place (templates use str.format)."""

INTERNAL_ERROR = "抱歉，系统暂时无法处理这条消息，已记录并通知管理员，请稍后再试。"

TICKET_ACCEPTED = (
    "已受理，工单 #{number}（{category}）。\n"
    "已派给{handler}，{accept_due}前接单；处理进展会在这里告诉您。\n"
    "查询进度请发「查询 {number}」。"
)
TICKET_ACCEPTED_TRIAGE = (
    "已受理，工单 #{number}（{category}）。\n"
    "已转综治中心分派，{dispatch_due}前派到具体负责人。查询进度请发「查询 {number}」。"
)
TICKET_URGENT_SUFFIX = "\n⚠ 已按紧急事项处理，已同时通知网格长。如有人身危险请立即拨打 110/119/120。"
TICKET_PROVISIONAL_SUFFIX = "\n（暂定：节假日安排尚未公布，公布后时限会按实际安排更新）"

FAQ_ANSWER = "{answer}\n\n如需网格员协助办理，请直接说明情况，如「帮我办一下医保缴费，老人腿脚不便」。"

GREETING_1TO1 = (
    "您好，我是{bot}，{township}的网格服务助手。\n"
    "直接告诉我遇到的问题（如「下水道堵了」「楼上漏水」），我会登记工单并派给您的网格员；\n"
    "政策问题（如「医保怎么交」）我也可以解答。发「帮助」查看全部用法。"
)

CLOSING_1TO1 = "不客气！以后遇到问题，随时发给我。"
REPORT_HINT = (
    "没有看出需要办理的事。反映问题请写清是什么事、在哪里，如「3栋2单元楼道灯坏了」；"
    "政策问题直接问，如「医保怎么交」。发「帮助」查看全部用法。"
)

# 帮助: a head and foot per audience; the command lines come from the handlers (handlers.help)
HELP_RESIDENT_HEAD = "【{bot} 使用说明】"
HELP_RESIDENT_REPORT = "· 直接描述问题：如「3栋2单元楼道堆满杂物」，会登记工单并派给网格员"
HELP_RESIDENT_FAQ = "· 政策咨询：如「医保怎么交」「低保要什么材料」"
HELP_STAFF_HEAD = "【{bot} · {role}可用的命令】"
HELP_STAFF_FOOT = "命令里的数字是工单号，写「接单12」「接单 #12」都可以。"
HELP_ITEM = "· {line}"
HELP_NO_COMMANDS = "（您的身份暂无可用的命令，请联系管理员。）"
UNKNOWN_COMMAND = "没有「{command}」这个命令。\n"

# a message whose routing failed on every attempt: the staff's alert (the sender gets
# INTERNAL_ERROR above); ``excerpt`` is masked and cut
ROUTING_FAILED_TO_STAFF = (
    "【系统告警】一条消息多次处理失败，已停止重试\n"
    "消息编号：{id}（{channel}，{received} 收到）\n"
    "发送人：{sender}\n"
    "内容：{excerpt}\n"
    "共处理 {attempts} 次均失败（{reason}），已请发送人稍后再试。"
    "请管理员查看服务日志中 inbound message {id} 的记录。"
)
ROUTING_CHANNELS = {"app": "应用单聊", "aibot": "智能机器人"}
ROUTING_IN_GROUP = "群聊"
