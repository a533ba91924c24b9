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

# Tickets: bad input, by pydantic's error type (the field named by its path, e.g. contact.phone)
FIELD_ERRORS: dict[str, str] = {
    "missing": "缺少字段 {field}。",
    "extra_forbidden": "未知字段 {field}。",
    "string_too_long": "字段 {field} 过长（最多 {max_length} 个字符）。",
    "string_too_short": "字段 {field} 不能为空。",
    "string_pattern_mismatch": "字段 {field} 格式不正确。",
    "string_type": "字段 {field} 应为字符串。",
    "bool_type": "字段 {field} 应为 true 或 false。",
    "bool_parsing": "字段 {field} 应为 true 或 false。",
}
FIELD_ERROR = "字段 {field} 不正确。"
NOT_JSON = "请求体应为 JSON 对象。"
ORDER_ERRORS: dict[str, str] = {
    "unknown_category": "未知的分类代码「{category}」，请用 /open311/v2/services.json 中的代码，或不填由系统分类。",
    "unknown_grid": "未知的网格编码「{grid}」。",
    "wrong_source": "此令牌只能代表来源「{allowed}」提交或处理工单。",
    "no_source": "缺少字段 source（来源系统名称，如 12345）。",
    "nul_character": "字段中不能含有 NUL 字符。",
}
TICKET_NOT_FOUND = "没有工单 #{id}。"
NOT_AN_ORDER = "工单 #{id} 不是外部系统的工单，只能由居民在聊天中补充或撤销。"
EVENT_TYPES = "type 应为 补充（supplement）、撤销（withdraw）或 评价（rate）。"
EVENT_RATING = "评价需要 rating：满意、一般 或 不满意。"
EVENT_REFUSED = "工单 #{id} 现在不能{action}：{reason}"
BAD_FILTER = "查询参数 {name} 不正确：{value}"

# Open311 GeoReport v2 (errors are [{"code", "description"}])
OPEN311_JURISDICTION = "未知的 jurisdiction_id「{value}」，本系统为「{expected}」。"
OPEN311_NO_KEY = "需要有效的 api_key。"
OPEN311_SERVICE = "未知的 service_code「{value}」，请见 services.json。"
OPEN311_MISSING = "缺少参数 {name}。"
OPEN311_LOCATION = "请提供位置：lat 和 long，或 address_string，或 address_id。"
OPEN311_BAD = "参数 {name} 不正确：{value}"
OPEN311_NOT_FOUND = "没有编号为 {id} 的诉求。"
OPEN311_FORMAT = "只支持 JSON 格式（.json）。"
OPEN311_NOTICE = "已受理，{grid}将在{due}前处理。"
OPEN311_NOTICE_TRIAGE = "已受理，由{township}综治中心分派。"
