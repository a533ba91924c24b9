"""The wording of ticket notifications: task cards, alerts, resident updates (str.format)."""

WEEKDAYS = "一二三四五六日"
DUE_FORMAT = "{month}月{day}日(周{weekday}) {hh:02d}:{mm:02d}"

DISPATCH_CARD_TITLE = "新工单 #{number}｜{category}"
DISPATCH_CARD_URGENT_TITLE = "【紧急】新工单 #{number}｜{category}"
DISPATCH_CARD_DESC = "{grid} · {reporter}"
DISPATCH_CARD_DUE = "请于 {accept_due} 前接单"
DISPATCH_BUTTON_ACCEPT = "接单"
DISPATCH_BUTTON_DETAIL = "详情"
URGENT_ALERT = "【紧急】{grid} 工单 #{number}（{category}）：{text}\n已派给{handler}，请关注。"
