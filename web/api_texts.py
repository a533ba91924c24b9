"""The Chinese reasons the JSON API gives with its HTTP errors (``{"error", "reason"}``)."""

UNAUTHORIZED = "需要有效的 API 令牌（Bearer）"

# By HTTP status: the error code and its reason, for errors raised outside the API's own checks.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确。"),
    401: ("unauthorized", UNAUTHORIZED),
    403: ("forbidden", "没有权限执行此操作。"),
    404: ("not_found", "没有这个接口或资源，请检查地址。"),
    405: ("method_not_allowed", "此地址不支持该请求方法。"),
    413: ("too_large", "请求内容过大（上限 64 KiB）。"),
    415: ("unsupported_media_type", "请求内容类型不受支持，请使用 application/json。"),
    500: ("internal_error", "服务器内部错误，已记录，请稍后再试。"),
}
OTHER_ERROR = ("http_error", "请求未能完成（HTTP {status}）。")

MISSING_SCOPE = "此令牌没有权限「{scope}」，请联系管理员（bot.py api-token add --scopes）。"
RATE_LIMITED = "请求过于频繁：每个令牌每分钟最多 {limit} 次，请 {wait} 秒后再试。"
