"""Realistic callback payloads, as WeCom builds them, before encryption.

App (XML) builders return a field dict for :meth:`CallbackClient.send_app_xml`, which adds
``ToUserName`` (the corp id) and ``AgentID``; the smart-bot builder returns the decrypted JSON
object for :meth:`CallbackClient.send_aibot_json`. ``to_xml`` renders a field dict the way WeCom
does (CDATA for text, bare numbers), splitting any ``]]>`` so text can never break the XML.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from xml.sax.saxutils import escape

DEFAULT_BOT_NAME = "网格通"


def _msg_id() -> int:
    """A 64-bit-ish message id like WeCom's (19 digits)."""
    return 7_000_000_000_000_000_000 + secrets.randbelow(10**18)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: Any) -> str:
    tag = escape(name)
    if isinstance(value, dict):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    if isinstance(value, bool):
        return f"<{tag}>{int(value)}</{tag}>"
    if isinstance(value, int | float):
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}>{_cdata(str(value))}</{tag}>"


def to_xml(fields: dict[str, Any]) -> str:
    """``<xml>…</xml>`` with one element per field, in order."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def _base(from_user: str, msgtype: str) -> dict[str, Any]:
    return {"FromUserName": from_user, "CreateTime": int(time.time()), "MsgType": msgtype}


def app_text(from_user: str, content: str, msg_id: int | str | None = None) -> dict[str, Any]:
    """A 1:1 text message to the self-built app."""
    return {**_base(from_user, "text"), "Content": content, "MsgId": msg_id or _msg_id()}


def app_image(
    from_user: str,
    pic_url: str = "https://wework.qpic.cn/sim/image.jpg",
    media_id: str | None = None,
    msg_id: int | str | None = None,
) -> dict[str, Any]:
    return {
        **_base(from_user, "image"),
        "PicUrl": pic_url,
        "MediaId": media_id or "MEDIA_" + secrets.token_hex(16),
        "MsgId": msg_id or _msg_id(),
    }


def app_voice(
    from_user: str,
    media_id: str | None = None,
    voice_format: str = "amr",
    msg_id: int | str | None = None,
) -> dict[str, Any]:
    return {
        **_base(from_user, "voice"),
        "MediaId": media_id or "MEDIA_" + secrets.token_hex(16),
        "Format": voice_format,
        "MsgId": msg_id or _msg_id(),
    }


def app_location(
    from_user: str,
    lat: float,
    lon: float,
    label: str = "",
    scale: int = 15,
    msg_id: int | str | None = None,
) -> dict[str, Any]:
    return {
        **_base(from_user, "location"),
        "Location_X": lat,
        "Location_Y": lon,
        "Scale": scale,
        "Label": label,
        "MsgId": msg_id or _msg_id(),
        "AppType": "wxwork",
    }


def app_link(
    from_user: str,
    title: str,
    description: str,
    url: str,
    pic_url: str = "",
    msg_id: int | str | None = None,
) -> dict[str, Any]:
    return {
        **_base(from_user, "link"),
        "Title": title,
        "Description": description,
        "Url": url,
        "PicUrl": pic_url,
        "MsgId": msg_id or _msg_id(),
    }


def app_event(
    from_user: str,
    event: str,
    event_key: str | None = None,
    *,
    task_id: str | None = None,
    card_type: str | None = None,
    response_code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An event: ``enter_agent``, ``click`` (menu), ``template_card_event`` (a card button) …

    Events carry no MsgId (de-duplicate them on a hash of the payload).
    """
    fields: dict[str, Any] = {**_base(from_user, "event"), "Event": event}
    if event_key is not None:
        fields["EventKey"] = event_key
    if task_id is not None:
        fields["TaskId"] = task_id
    if card_type is not None:
        fields["CardType"] = card_type
    if response_code is not None:
        fields["ResponseCode"] = response_code
    fields.update(extra)
    return fields


def template_card_click(
    from_user: str,
    task_id: str,
    button_key: str,
    card_type: str = "button_interaction",
    response_code: str | None = None,
) -> dict[str, Any]:
    """A click on a template card's button (``template_card_event``).

    ``response_code`` is what WeCom issues with the click (``SimulatorState.cards.click``); a
    made-up one is used when none is given (the simulator refuses to update a card with it).
    """
    return app_event(
        from_user,
        "template_card_event",
        button_key,
        task_id=task_id,
        card_type=card_type,
        response_code=response_code or "RC_" + secrets.token_hex(16),
    )


def aibot_text(
    from_user: str,
    chat_id: str | None,
    content: str,
    chattype: str = "group",
    msgid: str | None = None,
    *,
    aibotid: str = "aibot_sim_0001",
    response_url: str | None = None,
    bot_name: str = DEFAULT_BOT_NAME,
) -> dict[str, Any]:
    """The decrypted JSON of a smart-bot text callback.

    In a group the text keeps WeCom's "@网格通 " mention prefix; ``chatid`` is sent for groups only.
    """
    if response_url is None:
        response_url = (
            "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code="
            + secrets.token_urlsafe(24)
        )
    text = f"@{bot_name} {content}" if chattype == "group" else content
    payload: dict[str, Any] = {
        "msgid": msgid or secrets.token_hex(16),
        "aibotid": aibotid,
        "chattype": chattype,
        "from": {"userid": from_user},
        "response_url": response_url,
        "msgtype": "text",
        "text": {"content": text},
    }
    if chattype == "group" and chat_id:
        payload["chatid"] = chat_id
    return payload
