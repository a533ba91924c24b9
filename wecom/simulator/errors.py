"""WeCom's global error codes (企业微信全局错误码) as the simulator answers them.

Messages follow WeCom's own wording, with the ``hint``/``more info`` tail real answers carry.
Callers must branch on ``errcode`` only, never on ``errmsg`` (WeCom's docs say the same).
"""

from __future__ import annotations

import secrets
from typing import Any

SYSTEM_BUSY = -1
OK = 0
INVALID_CREDENTIAL = 40001  # 不合法的secret参数
INVALID_MSGTYPE = 40008  # 不合法的msgtype参数
INVALID_CORPID = 40013  # 不合法的CorpID
INVALID_ACCESS_TOKEN = 40014  # 不合法的access_token
INVALID_CODE = 40029  # 不合法的oauth_code (unknown, spent, or older than five minutes)
INVALID_AGENTID = 40056  # 不合法的agentid
INVALID_PARAMETER = 40058  # 不合法的参数
ACCESS_TOKEN_MISSING = 41001  # 缺少access_token参数
ACCESS_TOKEN_EXPIRED = 42001  # access_token已过期
EMPTY_CONTENT = 44004  # 文本消息content参数为空
API_FREQ_OUT_OF_LIMIT = 45009  # 接口调用超过限制
API_CONCURRENT_OUT_OF_LIMIT = 45033  # 接口并发调用超过限制
API_FORBIDDEN = 48002  # API接口无权限调用
IP_NOT_ALLOWED = 60020  # 不安全的访问IP
ALL_RECIPIENTS_INVALID = 81013  # UserID、部门ID、标签ID全部非法或无权限
CHATID_NOT_EXIST = 86003  # 不存在的群聊 (appchat)
INVALID_WEBHOOK_URL = 93000  # 机器人webhookurl不合法或者机器人已经被移除出群
ROBOT_DISABLED = 93004  # 机器人被停用

# message/update_template_card with a response_code that is unknown, already spent or older than
# 72 hours. The API's reference (developer.work.weixin.qq.com/document/path/94888, 更新模版卡片消息)
# states the rule — one call per code, within 72 hours — but names no error code for breaking it,
# and the global error code list (document/path/90313, as mirrored by WxJava's WxCpErrorMsgEnum)
# has no response_code entry (40068 there is 不合法的标签ID). So the simulator answers the
# generic 40058 不合法的参数 with a detail saying which rule was broken; callers must treat any
# non-zero errcode of this call as final for that code, never match on the message.
INVALID_RESPONSE_CODE = INVALID_PARAMETER

MESSAGES: dict[int, str] = {
    SYSTEM_BUSY: "system busy",
    OK: "ok",
    INVALID_CREDENTIAL: "invalid credential",
    INVALID_MSGTYPE: "invalid message type",
    INVALID_CORPID: "invalid corpid",
    INVALID_ACCESS_TOKEN: "invalid access_token",
    INVALID_CODE: "invalid code",
    INVALID_AGENTID: "invalid agentid",
    INVALID_PARAMETER: "invalid Request Parameter",
    ACCESS_TOKEN_MISSING: "access_token missing",
    ACCESS_TOKEN_EXPIRED: "access_token expired",
    EMPTY_CONTENT: "empty content",
    API_FREQ_OUT_OF_LIMIT: "api freq out of limit",
    API_CONCURRENT_OUT_OF_LIMIT: "api concurrent out of limit",
    API_FORBIDDEN: "api forbidden",
    IP_NOT_ALLOWED: "not allow to access from your ip",
    ALL_RECIPIENTS_INVALID: "user & party & tag all invalid",
    CHATID_NOT_EXIST: "chatid not exist",
    INVALID_WEBHOOK_URL: "invalid webhook url",
    ROBOT_DISABLED: "robot disabled",
}


def error_body(errcode: int, ip: str = "127.0.0.1", detail: str = "") -> dict[str, Any]:
    """A WeCom-shaped JSON answer for ``errcode`` (``{"errcode": 0, "errmsg": "ok"}`` for 0)."""
    if errcode == OK:
        return {"errcode": 0, "errmsg": "ok"}
    message = MESSAGES.get(errcode, "unknown error")
    if detail:
        message = f"{message}, {detail}"
    hint = secrets.token_hex(10)
    return {
        "errcode": errcode,
        "errmsg": (
            f"{message}, hint: [{hint}], from ip: {ip}, "
            f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
        ),
    }
