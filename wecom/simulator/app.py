"""The simulator's HTTP face: WeCom's ``/cgi-bin/`` endpoints as a Flask (WSGI) app.

``create_simulator_app(state)`` answers ``gettoken``, ``message/send``,
``message/update_template_card``, ``appchat/send``, ``webhook/send`` and the smart bot's
``aibot/response`` with WeCom's error codes and limits, and sign-in: the authorize pages of
网页授权 (``/connect/oauth2/authorize``) and 扫码登录 (``/wwlogin/sso/login``), which redirect
with a one-time code, and ``auth/getuserinfo``, which turns the code into the member's userid.
``run_simulator_in_thread`` serves it on a local port for tests. ``GET /_sim/deliveries`` lists
what was delivered, ``GET /_sim/dropped`` what was silently dropped over a member's limit,
``GET /_sim/calls`` every call answered (no secrets, no bodies), ``GET /_sim/cards``
how each interactive card looks now (the demo's chat page can poll them) and
``GET /_sim/received`` what each person and group received.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request
from markupsafe import escape
from werkzeug.serving import WSGIRequestHandler, make_server

from wecom.simulator import errors as E
from wecom.simulator.cards import INTERACTIVE_CARDS
from wecom.simulator.state import Call, Delivered, Dropped, Repeated, SimulatorState

APP_MSGTYPES = {
    "text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown",
    "miniprogram_notice", "template_card",
}  # fmt: skip
APPCHAT_MSGTYPES = {
    "text",
    "image",
    "voice",
    "video",
    "file",
    "textcard",
    "news",
    "mpnews",
    "markdown",
}
ROBOT_MSGTYPES = {
    "text",
    "markdown",
    "markdown_v2",
    "image",
    "news",
    "file",
    "voice",
    "template_card",
}
REPLY_MSGTYPES = {"text", "markdown", "template_card", "stream"}


class _Answer(Exception):
    """Stop handling and answer this errcode (HTTP 200, WeCom style)."""

    def __init__(self, errcode: int, detail: str = "", extra: dict[str, Any] | None = None):
        super().__init__(errcode)
        self.errcode = errcode
        self.detail = detail
        self.extra = extra or {}


def _content_error(msgtype: str, body: dict[str, Any]) -> int | None:
    """44004/40058 for a message body WeCom would refuse, else None."""
    part = body.get(msgtype)
    if not isinstance(part, dict):
        return E.INVALID_PARAMETER
    if (
        msgtype in ("text", "markdown", "markdown_v2")
        and not str(part.get("content") or "").strip()
    ):
        return E.EMPTY_CONTENT
    if msgtype == "textcard" and not (
        part.get("title") and part.get("description") and part.get("url")
    ):
        return E.INVALID_PARAMETER
    if msgtype == "template_card":
        if not part.get("card_type"):
            return E.INVALID_PARAMETER
        if part["card_type"] in INTERACTIVE_CARDS and not part.get("task_id"):
            return E.INVALID_PARAMETER
    if msgtype in ("image", "voice", "video", "file") and not (
        part.get("media_id") or part.get("base64")
    ):
        return E.INVALID_PARAMETER
    return None


def _mention_error(msgtype: str, body: dict[str, Any]) -> int | None:
    """40058 for a robot text whose ``mentioned_list`` is not a list of user ids."""
    part = body.get(msgtype)
    mentioned = part.get("mentioned_list") if isinstance(part, dict) else None
    if mentioned is None:
        return None
    if msgtype != "text" or not isinstance(mentioned, list) or not all(
        isinstance(u, str) and u for u in mentioned
    ):
        return E.INVALID_PARAMETER
    return None


def _chooser(path: str, args: dict[str, str], members: list[str]) -> str:
    """The simulator's stand-in for "whoever holds the phone": pick a member to sign in as."""
    links = "".join(
        f'<li><a href="{escape(path)}?{escape(urlencode({**args, "sim_user": userid}))}">'
        f"{escape(userid)}</a></li>" for userid in members)
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in args.items())
    return (f'<!doctype html><meta charset="utf-8"><title>企业微信（模拟）登录</title>'
            f"<h1>企业微信（模拟）· 选择登录成员</h1><ul>{links}</ul>"
            f'<form method="get" action="{escape(path)}">{hidden}'
            f'<input name="sim_user" placeholder="成员 UserID"><button>登录</button></form>')


def create_simulator_app(state: SimulatorState) -> Flask:
    """A WSGI app answering like ``https://qyapi.weixin.qq.com`` for the corp in ``state``."""
    app = Flask("wecom_simulator")

    def ip() -> str:
        return request.remote_addr or "127.0.0.1"

    def body_json() -> dict[str, Any]:
        try:
            data = json.loads(request.get_data() or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Answer(E.INVALID_PARAMETER, "Warning: wrong json format.") from exc
        if not isinstance(data, dict):
            raise _Answer(E.INVALID_PARAMETER, "Warning: wrong json format.")
        return data

    def record(status: int, errcode: int | None, body: Any) -> None:
        params = {k: v for k, v in request.args.items() if k not in ("corpsecret", "access_token")}
        state.record_call(
            Call(request.method, request.path, params, body, status, errcode, time.time())
        )

    def guarded(handler: Callable[[], dict[str, Any]], *, token_api: bool) -> Response:
        """Outage, injected failures, IP allow-list, then the handler; every call recorded."""
        raw: Any = None
        try:
            raw = json.loads(request.get_data() or b"null")
        except (ValueError, UnicodeDecodeError):
            raw = request.get_data(as_text=True)
        mode = state.current_outage()
        if mode == "hang":
            time.sleep(state.hang_seconds)
        if mode == "http503":
            record(503, None, raw)
            return Response("Service Unavailable", status=503, mimetype="text/plain")
        if mode in ("busy", "hang"):
            record(200, E.SYSTEM_BUSY, raw)
            return jsonify(E.error_body(E.SYSTEM_BUSY, ip()))
        failure = state.take_failure(request.path)
        if failure is not None:
            if failure.http_status is not None:
                record(failure.http_status, None, raw)
                return Response("injected failure", status=failure.http_status)
            code = failure.errcode if failure.errcode is not None else E.SYSTEM_BUSY
            record(200, code, raw)
            return jsonify(E.error_body(code, ip()))
        if token_api and state.allowed_ips is not None and ip() not in state.allowed_ips:
            record(200, E.IP_NOT_ALLOWED, raw)
            return jsonify(E.error_body(E.IP_NOT_ALLOWED, ip(), f"from ip: {ip()}"))
        try:
            answer = handler()
        except _Answer as stop:
            answer = {**E.error_body(stop.errcode, ip(), stop.detail), **stop.extra}
        record(200, int(answer.get("errcode", 0)), raw)
        if state.answer_delay:
            time.sleep(state.answer_delay)
        return jsonify(answer)

    def token_agent() -> int:
        code, agent_id = state.check_token(request.args.get("access_token"))
        if code:
            raise _Answer(code)
        assert agent_id is not None
        return agent_id

    # -- gettoken ---------------------------------------------------------------------------

    def gettoken() -> dict[str, Any]:
        if request.args.get("corpid") != state.corp_id:
            raise _Answer(E.INVALID_CORPID)
        secret = request.args.get("corpsecret") or ""
        if state.app_for_secret(secret) is None:
            raise _Answer(E.INVALID_CREDENTIAL)
        token, expires_in = state.issue_token(secret)
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expires_in}

    # -- message/send -----------------------------------------------------------------------

    def message_send() -> dict[str, Any]:
        agent_id = token_agent()
        body = body_json()
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in APP_MSGTYPES:
            raise _Answer(E.INVALID_MSGTYPE)
        try:
            if int(body.get("agentid", -1)) != agent_id:
                raise _Answer(E.INVALID_AGENTID)
        except (TypeError, ValueError) as exc:
            raise _Answer(E.INVALID_AGENTID) from exc
        problem = _content_error(msgtype, body)
        if problem:
            raise _Answer(problem)
        users = [u for u in str(body.get("touser") or "").split("|") if u]
        if "@all" in users:
            users = sorted(state.known_users or [])
        if len(users) > state.max_users_per_send:
            raise _Answer(E.INVALID_PARAMETER, "touser exceeds 1000")
        parties = str(body.get("toparty") or "")
        tags = str(body.get("totag") or "")
        valid = [u for u in users if state.reachable_by_app(u)]
        invalid = [u for u in users if not state.reachable_by_app(u)]
        extra = {
            "invaliduser": "|".join(invalid),
            "invalidparty": parties,  # the simulator has no departments or tags
            "invalidtag": tags,
            "unlicenseduser": "",
        }
        if not valid:
            if state.all_invalid_errcode:
                raise _Answer(state.all_invalid_errcode, extra=extra)
            return {"errcode": 0, "errmsg": "ok", **extra, "msgid": state.next_msgid()}
        now = time.time()
        earlier = state.earlier_send(agent_id, body, now)
        if earlier is not None:  # accepted, not shown again
            state.record_repeat(Repeated(body, now, earlier))
            return {"errcode": 0, "errmsg": "ok", **extra, "msgid": earlier}
        msgid = state.next_msgid()
        state.remember_send(agent_id, body, now, msgid)
        card = body.get("template_card") if msgtype == "template_card" else None
        for userid in valid:
            reason = state.admit_member(userid, now)
            if reason:
                state.record_drop(Dropped(userid, msgtype, reason, now, body))
            else:
                state.record_delivery(Delivered("app", userid, msgtype, body, now, msgid))
                if card is not None:
                    state.cards.record(userid, card)
        answer = {"errcode": 0, "errmsg": "ok", **extra, "msgid": msgid}
        if card is not None and card.get("card_type") in INTERACTIVE_CARDS:
            answer["response_code"] = state.cards.issue(str(card["task_id"]))
        return answer

    # -- message/update_template_card -------------------------------------------------------

    def update_template_card() -> dict[str, Any]:
        agent_id = token_agent()
        body = body_json()
        try:
            if int(body.get("agentid", -1)) != agent_id:
                raise _Answer(E.INVALID_AGENTID)
        except (TypeError, ValueError) as exc:
            raise _Answer(E.INVALID_AGENTID) from exc
        button = body.get("button")
        replacement = body.get("template_card")
        if (button is None) == (replacement is None):
            raise _Answer(E.INVALID_PARAMETER, "either button or template_card")
        replace_name = None
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("replace_name") or "").strip():
                raise _Answer(E.INVALID_PARAMETER, "button.replace_name")
            replace_name = str(button["replace_name"])
        elif _content_error("template_card", {"template_card": replacement}):
            raise _Answer(E.INVALID_PARAMETER, "template_card")
        userids = body.get("userids") or []
        if not isinstance(userids, list) or len(userids) > state.max_users_per_send:
            raise _Answer(E.INVALID_PARAMETER, "userids")
        code = str(body.get("response_code") or "")
        if not code:
            raise _Answer(E.INVALID_PARAMETER, "response_code missing")
        task_id = state.cards.task_of(code)
        if task_id is None:
            raise _Answer(E.INVALID_RESPONSE_CODE, "response_code invalid, used or expired")
        if button is not None and state.cards.card_type(task_id) not in INTERACTIVE_CARDS:
            raise _Answer(E.INVALID_PARAMETER, "only interactive cards have buttons to update")
        recipients = state.cards.recipients(task_id)
        targets = recipients if body.get("atall") else recipients & {str(u) for u in userids}
        invalid = sorted({str(u) for u in userids} - recipients)
        if not targets:
            raise _Answer(E.ALL_RECIPIENTS_INVALID, extra={"invaliduser": invalid})
        if not state.cards.spend(code):  # spent by a concurrent call since task_of
            raise _Answer(E.INVALID_RESPONSE_CODE, "response_code invalid, used or expired")
        state.cards.update(task_id, sorted(targets), replace_name=replace_name, card=replacement)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": invalid}

    # -- appchat/send -----------------------------------------------------------------------

    def appchat_send() -> dict[str, Any]:
        token_agent()
        body = body_json()
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in APPCHAT_MSGTYPES:
            raise _Answer(E.INVALID_MSGTYPE)
        chat_id = str(body.get("chatid") or "")
        if not chat_id or (state.chats is not None and chat_id not in state.chats):
            raise _Answer(E.CHATID_NOT_EXIST)
        problem = _content_error(msgtype, body)
        if problem:
            raise _Answer(problem)
        msgid = state.next_msgid()
        state.record_delivery(Delivered("appchat", chat_id, msgtype, body, time.time(), msgid))
        return {"errcode": 0, "errmsg": "ok"}

    # -- webhook/send (group robot) ---------------------------------------------------------

    def webhook_send() -> dict[str, Any]:
        key = request.args.get("key") or ""
        if not key or (state.robot_keys is not None and key not in state.robot_keys):
            raise _Answer(E.INVALID_WEBHOOK_URL)
        if state.robot_disabled(key):
            raise _Answer(E.ROBOT_DISABLED)
        body = body_json()
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in ROBOT_MSGTYPES:
            raise _Answer(E.INVALID_MSGTYPE)
        problem = _content_error(msgtype, body) or _mention_error(msgtype, body)
        if problem:
            raise _Answer(problem)
        now = time.time()
        if not state.admit_robot(key, now):
            raise _Answer(E.API_FREQ_OUT_OF_LIMIT)
        state.record_delivery(Delivered("webhook", key, msgtype, body, now, state.next_msgid(),
                                        state.robot_chats.get(key)))
        return {"errcode": 0, "errmsg": "ok"}

    # -- aibot/response (smart bot response_url) --------------------------------------------

    def aibot_response() -> dict[str, Any]:
        code = request.args.get("response_code") or ""
        if not code:
            raise _Answer(E.INVALID_PARAMETER, "response_code missing")
        body = body_json()
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in REPLY_MSGTYPES:
            raise _Answer(E.INVALID_MSGTYPE)
        problem = _content_error(msgtype, body) if msgtype != "stream" else None
        if problem:
            raise _Answer(problem)
        allowed, chat_id = state.use_response_code(code)
        if not allowed:
            raise _Answer(E.INVALID_PARAMETER, "response_code expired or already used")
        state.record_delivery(
            Delivered("response_url", code, msgtype, body, time.time(), state.next_msgid(), chat_id)
        )
        return {"errcode": 0, "errmsg": "ok"}

    # -- sign-in: 网页授权 (inside WeCom) and 扫码登录 (the QR code on a PC) ----------------------

    def sign_in() -> Response:
        """WeCom's authorize page: it sends the person back to ``redirect_uri`` with a one-time
        ``code`` and the ``state`` given. Who signs in is whoever holds the WeCom client; here
        that is ``sim_user`` (without it, a page to choose one of the corp's members)."""
        args = request.args
        redirect_uri = args.get("redirect_uri") or ""
        if args.get("appid") != state.corp_id:
            return Response("appid 参数错误", status=400, mimetype="text/plain")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("redirect_uri 参数错误", status=400, mimetype="text/plain")
        userid = args.get("sim_user") or ""
        if not userid:
            return Response(_chooser(request.path, args.to_dict(), sorted(state.known_users or [])),
                            mimetype="text/html")
        agent = args.get("agentid")
        code = state.issue_oauth_code(userid, int(agent) if agent and agent.isdigit() else None)
        back = urlencode({"code": code, "state": args.get("state", "")})
        return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{back}", code=302)

    def auth_getuserinfo() -> dict[str, Any]:
        token_agent()
        userid = state.redeem_oauth_code(request.args.get("code") or "")
        if userid is None:
            raise _Answer(E.INVALID_CODE)
        if not state.is_member(userid):  # not in the corp: WeCom names them by an openid
            return {"errcode": 0, "errmsg": "ok", "openid": f"o{abs(hash(userid)):x}"}
        return {"errcode": 0, "errmsg": "ok", "userid": userid,
                "user_ticket": secrets.token_urlsafe(16)}

    app.add_url_rule("/connect/oauth2/authorize", "oauth_authorize", sign_in, methods=["GET"])
    app.add_url_rule("/wwlogin/sso/login", "sso_login", sign_in, methods=["GET"])
    app.add_url_rule(
        "/cgi-bin/auth/getuserinfo", "auth_getuserinfo",
        lambda: guarded(auth_getuserinfo, token_api=True), methods=["GET"],
    )
    app.add_url_rule(
        "/cgi-bin/gettoken", "gettoken", lambda: guarded(gettoken, token_api=True), methods=["GET"]
    )
    app.add_url_rule(
        "/cgi-bin/message/send",
        "message_send",
        lambda: guarded(message_send, token_api=True),
        methods=["POST"],
    )
    app.add_url_rule(
        "/cgi-bin/message/update_template_card",
        "update_template_card",
        lambda: guarded(update_template_card, token_api=True),
        methods=["POST"],
    )
    app.add_url_rule(
        "/cgi-bin/appchat/send",
        "appchat_send",
        lambda: guarded(appchat_send, token_api=True),
        methods=["POST"],
    )
    app.add_url_rule(
        "/cgi-bin/webhook/send",
        "webhook_send",
        lambda: guarded(webhook_send, token_api=False),
        methods=["POST"],
    )
    app.add_url_rule(
        "/cgi-bin/aibot/response",
        "aibot_response",
        lambda: guarded(aibot_response, token_api=False),
        methods=["POST"],
    )

    @app.get("/_sim/received")
    def received() -> Response:
        return jsonify(state.received())

    @app.get("/_sim/deliveries")
    def deliveries() -> Response:
        since = request.args.get("since", default=0, type=int)
        items = state.delivered[since:]
        return jsonify(
            {
                "next": since + len(items),
                "items": [
                    {
                        "channel": d.channel,
                        "target": d.target,
                        "chat_id": d.chat_id,
                        "msgtype": d.msgtype,
                        "content": d.content,
                        "body": d.body,
                        "mentioned": d.mentioned,
                        "at": d.at,
                        "msgid": d.msgid,
                    }
                    for d in items
                ],
                "dropped": len(state.dropped),
            }
        )

    @app.get("/_sim/calls")
    def calls() -> Response:
        return jsonify({"items": [{"method": c.method, "path": c.path, "params": c.params,
                                   "status": c.status, "errcode": c.errcode, "at": c.at}
                                  for c in state.calls]})

    @app.get("/_sim/dropped")
    def dropped() -> Response:
        return jsonify({"items": [{"userid": d.userid, "msgtype": d.msgtype, "reason": d.reason,
                                   "at": d.at, "body": d.body} for d in state.dropped]})

    @app.get("/_sim/cards")
    def cards() -> Response:
        userid = request.args.get("userid")
        views = state.cards.views_for(userid) if userid else state.cards.all_views()
        return jsonify({"cards": [v.as_dict() for v in views]})

    return app


class _QuietHandler(WSGIRequestHandler):
    """No access log: query strings carry secrets and access tokens."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


# How often a served thread looks for stop(): socketserver's default, 0.5 s, is what every stop()
# waits on average (a test suite stops hundreds of servers); a wake-up every 20 ms costs nothing.
SHUTDOWN_POLL = 0.02


def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, name: str = "wsgi-server",
    request_handler: type[WSGIRequestHandler] | None = None,
) -> tuple[str, Callable[[], None]]:
    """Serve a WSGI ``app`` on ``host:port`` (0 = any free port) in a daemon thread, one thread
    per request.

    Returns ``(base_url, stop)``; ``stop()`` shuts the server down within ``SHUTDOWN_POLL``,
    closes its socket and joins the thread.
    """
    server = make_server(host, port, app, threaded=True, request_handler=request_handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL},
                              name=name, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return f"http://{host}:{server.server_port}", stop


def run_simulator_in_thread(
    state: SimulatorState, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Serve the simulator on ``host:port`` (0 = any free port) in a daemon thread.

    Returns ``(base_url, stop)``; ``stop()`` shuts the server down and joins the thread.
    """
    return serve_in_thread(create_simulator_app(state), host, port, name="wecom-simulator",
                           request_handler=_QuietHandler)
