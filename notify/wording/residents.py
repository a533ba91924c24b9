"""The wording of reaching residents: group @-messages, and what staff hear when a message did
not reach the resident (str.format templates)."""

# A resident reached in their grid group must @ the smart bot to answer (it hears @-mentions only).
GROUP_REPLY_HINT = "（在群里回复请先 @{bot}）"

ROUTE_APP = "应用私信"
ROUTE_WEBHOOK = "网格群「{group}」@居民"
ROUTE_APPCHAT = "网格群「{group}」点名"
UNKNOWN_GROUP = "网格群"

# How a handler's confirmation says the resident will hear of it (the first route planned).
VIA_APP = "通过应用私信"
VIA_GROUP = "在网格群「{group}」@居民"

TO_STAFF_UNREACHED = (
    "⚠ 工单 #{number}：这条消息没能送达居民{resident}——\n「{message}」\n"
    "已尝试：{tried}。\n请电话或上门告知居民。"
)
NO_ROUTE = "没有可用的途径（应用私信不可达，也不知道居民所在的网格群）"
TRIED_ITEM = "{route}（{error}）"
TRIED_JOIN = "；"
ERROR_INVALIDUSER = "居民不在应用的可见范围，企业微信答复 invaliduser"
ERROR_SKIPPED = "企业微信此前已答复 invaliduser，这次未再发送"
ERROR_CODE = "企业微信错误码 {code}"
ERROR_CODES = {
    93000: "群机器人地址无效", 93004: "群机器人已停用", 93008: "群机器人不在群里",
    86003: "群聊不存在", 81013: "居民不在企业或应用的可见范围",
}  # fmt: skip
ERROR_OTHER = "未送达：{error}"
NOTE_UNREACHED = "已尝试：{tried}"
