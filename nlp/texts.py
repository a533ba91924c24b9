"""All user-facing Chinese text of the nlp package lives here (the YAML files hold the rest)."""

from __future__ import annotations

#: Shown in explanations when nothing matched.
NO_MATCH = "未匹配到关键词"
#: Category name used when a code is unknown to the rules.
UNKNOWN_CATEGORY = "未知类别"
#: Explanation prefixes.
CHATTER = "闲聊/确认消息，不建工单"
CLOSING = "致谢或已解决的反馈，不建工单"
UNCLEAR = "未识别到类别，也没有求助用语，不建工单"
FAQ = "政策咨询，按常见问题回答"
URGENT = "紧急"
SECOND = "兼"
NEGATED = "否定"
BELOW_THRESHOLD = "分类不确定（低于阈值），转综治中心人工分拣"
