"""The Chinese wording the WeCom boundary adds to what it receives."""

TRUNCATED = "……（消息过长，其余 {dropped} 字已略去）"
