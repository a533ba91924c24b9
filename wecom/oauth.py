"""Sign-in with WeCom: 网页授权 (inside the WeCom client) and 扫码登录 (a QR code on a PC).

The person is sent to WeCom's authorize page (:func:`authorize_url`, :func:`qr_login_url`);
WeCom sends them back to our ``redirect_uri`` with a one-time ``code`` and the ``state`` we gave;
:func:`userid_for_code` turns the code into their WeCom userid with
``GET /cgi-bin/auth/getuserinfo?access_token=…&code=…`` (developer.work.weixin.qq.com 获取访问用户
身份). With ``wecom.api_base`` pointed elsewhere (the simulator), the authorize pages are taken
from the same base, where the simulator serves them.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlencode

from settings.model import WeComSettings

WECOM_API_BASE = "https://qyapi.weixin.qq.com"
AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
QR_LOGIN_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"


class SignInRefused(Exception):
    """WeCom did not vouch for the code: unknown, spent, expired, or not a member of the corp."""

    def __init__(self, reason: str, errcode: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errcode = errcode


class _Client(Protocol):
    def get(self, url: str, **kwargs: Any) -> Any: ...


def _base(settings: WeComSettings, real: str, path: str) -> str:
    api_base = settings.api_base.rstrip("/")
    return real if api_base == WECOM_API_BASE else f"{api_base}{path}"


def authorize_url(settings: WeComSettings, redirect_uri: str, state: str) -> str:
    """网页授权 (snsapi_base): opened inside WeCom, it comes back at once with a code."""
    query = urlencode({"appid": settings.corp_id, "redirect_uri": redirect_uri,
                       "response_type": "code", "scope": "snsapi_base", "state": state,
                       "agentid": settings.agent_id})
    return f"{_base(settings, AUTHORIZE_URL, '/connect/oauth2/authorize')}?{query}#wechat_redirect"


def qr_login_url(settings: WeComSettings, redirect_uri: str, state: str) -> str:
    """扫码登录 of a self-built app (login_type CorpApp): a QR code the person scans in WeCom."""
    query = urlencode({"login_type": "CorpApp", "appid": settings.corp_id,
                       "agentid": settings.agent_id, "redirect_uri": redirect_uri,
                       "state": state})
    return f"{_base(settings, QR_LOGIN_URL, '/wwlogin/sso/login')}?{query}"


def userid_for_code(client: _Client, code: str) -> str:
    """The WeCom userid of the member who signed in with ``code`` (raises SignInRefused)."""
    from wechatpy.exceptions import WeChatClientException

    if not code:
        raise SignInRefused("no code")
    try:
        answer = client.get("auth/getuserinfo", params={"code": code})
    except WeChatClientException as exc:
        raise SignInRefused(str(exc.errmsg or exc), exc.errcode) from exc
    userid = str((answer or {}).get("userid") or (answer or {}).get("UserId") or "")
    if not userid:  # an openid: someone outside the corp
        raise SignInRefused("not a member of the corp")
    return userid
