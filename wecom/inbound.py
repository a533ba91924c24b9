"""Normalise what every WeCom channel delivers into one internal message, :class:`Incoming`.

Each inbound channel is an adapter: it verifies and decrypts its own envelope, then calls one of
the ``from_*`` functions here. Everything after this point (handlers, cases, store) sees only
``Incoming`` and never a WeCom payload, so a new channel (微信客服, 政务微信 …) is one new adapter.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree as SafeET

MESSAGE_KINDS = ("text", "image", "voice", "video", "file", "location", "link", "event")


class MalformedMessage(ValueError):
    """The decrypted payload is not a message we can understand (answered with 400)."""


@dataclass(frozen=True)
class Incoming:
    """One message or event from anyone, on any channel, as the bot understands it."""

    channel: str  # "app" (self-built app, XML) | "aibot" (smart bot, JSON)
    dedup_key: str  # unique per delivery-independent message: MsgId, or a hash for events
    sender: str  # the sender's WeCom user id
    kind: str  # text|image|voice|video|file|location|link|event
    text: str = ""
    chat_id: str | None = None  # the group chat, or None for a 1:1 conversation
    event: str | None = None  # enter_agent|click|template_card_event|…
    event_key: str | None = None  # the menu key or the card button key
    media_id: str | None = None
    location: dict[str, Any] | None = None  # {"lat", "lon", "label"}
    url: str | None = None
    response_url: str | None = None  # smart bot: where a reply to this message is posted
    task_id: str | None = None  # template card task id (to update the card)
    response_code: str | None = None  # a card click's code for message/update_template_card
    raw: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict that :meth:`from_json` turns back into the same message."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incoming:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def in_group(self) -> bool:
        return self.chat_id is not None

    @property
    def command_text(self) -> str:
        """What the router reads: the text, or for a card button the command it stands for."""
        if self.kind == "event" and self.event == "template_card_event" and self.event_key:
            return self.event_key
        if self.kind == "event" and self.event == "click" and self.event_key:
            return self.event_key
        return self.text


def payload_hash(payload: bytes | str) -> str:
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return hashlib.sha256(data).hexdigest()


def parse_xml(text: str) -> dict[str, str]:
    """A flat dict of a WeCom XML document; DTDs and entities are refused, never expanded."""
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as error:  # defusedxml raises several types; all mean "bad input"
        raise MalformedMessage(f"not acceptable XML: {type(error).__name__}") from None
    if root.tag != "xml":
        raise MalformedMessage("the root element must be <xml>")
    result: dict[str, str] = {}
    for child in root:
        if len(child):
            # Nested elements (e.g. SendLocationInfo, SelectedItems) keep their leaves flat.
            for leaf in child.iter():
                if leaf is not child and not len(leaf):
                    result[f"{child.tag}.{leaf.tag}"] = (leaf.text or "").strip()
        else:
            result[child.tag] = child.text or ""
    return result


def from_app_xml(fields: dict[str, str], plaintext: str) -> Incoming:
    """The self-built app's decrypted XML (1:1 messages and events)."""
    sender = fields.get("FromUserName", "").strip()
    kind = fields.get("MsgType", "").strip().lower()
    if not sender or not kind:
        raise MalformedMessage("FromUserName and MsgType are required")
    if kind not in MESSAGE_KINDS:
        raise MalformedMessage(f"unknown MsgType {kind!r}")
    msg_id = fields.get("MsgId", "").strip()
    dedup = f"app:{msg_id}" if msg_id and kind != "event" else f"app-evt:{payload_hash(plaintext)}"
    location = None
    if kind == "location":
        location = {
            "lat": _float(fields.get("Location_X")),
            "lon": _float(fields.get("Location_Y")),
            "label": fields.get("Label", ""),
        }
    if kind == "event":
        event = fields.get("Event", "").strip()
        if not event:
            raise MalformedMessage("an event needs Event")
        if event.upper() == "LOCATION":
            location = {
                "lat": _float(fields.get("Latitude")),
                "lon": _float(fields.get("Longitude")),
                "label": "",
            }
        return Incoming(
            channel="app",
            dedup_key=dedup,
            sender=sender,
            kind="event",
            event=event,
            event_key=fields.get("EventKey") or None,
            task_id=fields.get("TaskId") or None,
            response_code=fields.get("ResponseCode") or None,
            location=location,
            raw=dict(fields),
        )
    if kind == "text" and "Content" not in fields:
        raise MalformedMessage("a text message needs Content")
    return Incoming(
        channel="app",
        dedup_key=dedup,
        sender=sender,
        kind=kind,
        text=(fields.get("Content") or fields.get("Title") or fields.get("Recognition") or "").strip(),
        media_id=fields.get("MediaId") or None,
        location=location,
        url=fields.get("Url") or fields.get("PicUrl") or None,
        raw=dict(fields),
    )


def from_aibot_json(plaintext: str, bot_name: str) -> Incoming:
    """The smart bot's decrypted JSON (group @-mentions and 1:1 chats)."""
    try:
        data = json.loads(plaintext)
    except json.JSONDecodeError:
        raise MalformedMessage("the decrypted payload is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedMessage("the decrypted payload must be a JSON object")
    sender = (data.get("from") or {}).get("userid") if isinstance(data.get("from"), dict) else None
    kind = str(data.get("msgtype") or "").lower()
    if not sender or not kind:
        raise MalformedMessage("from.userid and msgtype are required")
    chattype = data.get("chattype", "single")
    chat_id = data.get("chatid") if chattype == "group" else None
    if chattype == "group" and not chat_id:
        raise MalformedMessage("a group message needs chatid")
    msgid = str(data.get("msgid") or "")
    dedup = f"bot:{msgid}" if msgid else f"bot-evt:{payload_hash(plaintext)}"
    text = ""
    event = event_key = task_id = None
    if kind == "text":
        content = (data.get("text") or {}).get("content")
        if not isinstance(content, str):
            raise MalformedMessage("text.content is required")
        text = strip_mention(content, bot_name)
    elif kind == "mixed":
        parts = (data.get("mixed") or {}).get("msg_item") or []
        text = strip_mention(
            " ".join(p.get("text", {}).get("content", "") for p in parts if p.get("msgtype") == "text"),
            bot_name,
        )
        kind = "text" if text else "image"
    elif kind == "event":
        body = data.get("event") or {}
        event = str(body.get("eventtype") or "")
        card = body.get("template_card_event") or {}
        event_key = card.get("event_key") or None
        task_id = card.get("task_id") or None
    return Incoming(
        channel="aibot",
        dedup_key=dedup,
        sender=str(sender),
        kind=kind if kind in MESSAGE_KINDS else "text",
        text=text,
        chat_id=chat_id,
        event=event,
        event_key=event_key,
        task_id=task_id,
        response_url=data.get("response_url") or None,
        raw=data,
    )


def strip_mention(content: str, bot_name: str) -> str:
    """Drop the leading "@网格通" (and any other leading @-mentions of the bot) from a group text."""
    text = content.replace("\u2005", " ").strip()
    prefix = f"@{bot_name}"
    while text.startswith(prefix):
        text = text[len(prefix):].strip()
    return text


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None
