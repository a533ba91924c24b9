"""Normalise what every WeCom channel delivers into one internal message, :class:`Incoming`.

Each inbound channel is an adapter: it verifies and decrypts its own envelope, then calls one of
the ``from_*`` functions here. Everything after this point (handlers, cases, store) sees only
``Incoming`` and never a WeCom payload, so a new channel (微信客服, 政务微信 …) is one new adapter.

The ``from_*`` functions validate the plaintext against its declared model (``wecom.shapes``)
before reading it: a malformed one raises :class:`MalformedMessage`; a well-formed one of a type
or event GridBot does not handle becomes an ``unsupported`` message, recorded and never routed.
Whatever they return fits the inbox's columns and any database's JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wecom import shapes
from wecom.safe_parse import MalformedMessage, parse_json, parse_xml

UNSUPPORTED = "unsupported"  # a well-formed message of a type or event GridBot does not handle
MESSAGE_KINDS = ("text", "image", "voice", "video", "file", "location", "link", "event",
                 UNSUPPORTED)
MAX_JSON_DEPTH = 8  # the smart bot's deepest payload (a card event's selections) has 5 levels

M = TypeVar("M", bound=BaseModel)

__all__ = ["Incoming", "MalformedMessage", "from_aibot_json", "from_app_xml", "parse_xml"]


@dataclass(frozen=True)
class Incoming:
    """One message or event from anyone, on any channel, as the bot understands it."""

    channel: str  # "app" (self-built app, XML) | "aibot" (smart bot, JSON)
    dedup_key: str  # unique per delivery-independent message: MsgId, or a hash for events
    sender: str  # the sender's WeCom user id
    kind: str  # text|image|voice|video|file|location|link|event|unsupported
    text: str = ""
    chat_id: str | None = None  # the group chat, or None for a 1:1 conversation
    event: str | None = None  # enter_agent|click|template_card_event|…; unsupported: what
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
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    return hashlib.sha256(data).hexdigest()


def _validated(model: type[M], data: object) -> M:
    """``data`` as ``model``, or :class:`MalformedMessage` naming the fields (not their values)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        where = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'message'}: {issue['type']}"
            for issue in error.errors(include_url=False, include_input=False)[:5]
        )
        raise MalformedMessage(f"not a valid {model.__name__}: {where}") from None


def _unsupported(channel: str, dedup_key: str, sender: str, what: str,
                 raw: dict[str, Any]) -> Incoming:
    return Incoming(channel=channel, dedup_key=dedup_key, sender=sender, kind=UNSUPPORTED,
                    event=what, raw=raw)


def from_app_xml(fields: dict[str, str], plaintext: str) -> Incoming:
    """The self-built app's decrypted XML (1:1 messages and events), validated."""
    head = _validated(shapes.AppMessage, fields)
    kind = head.MsgType.lower()
    if head.MsgId and kind != "event":
        dedup = f"app:{head.MsgId}"
    else:
        dedup = f"app-evt:{payload_hash(plaintext)}"
    model = shapes.APP_MESSAGES.get(kind)
    if model is None:
        return _unsupported("app", dedup, head.FromUserName, kind, head.model_dump())
    message = _validated(model, fields)
    raw = message.model_dump(exclude_none=True)
    if isinstance(message, shapes.AppEvent):
        if message.Event not in shapes.APP_EVENTS:
            return _unsupported("app", dedup, head.FromUserName, f"event:{message.Event}", raw)
        location = None
        if message.Event == "LOCATION":
            location = {"lat": message.Latitude, "lon": message.Longitude, "label": ""}
        return Incoming(
            channel="app",
            dedup_key=dedup,
            sender=message.FromUserName,
            kind="event",
            event=message.Event,
            event_key=message.EventKey or None,
            task_id=message.TaskId,
            response_code=message.ResponseCode,
            location=location,
            raw=raw,
        )
    location = None
    if isinstance(message, shapes.AppLocation):
        location = {"lat": message.Location_X, "lon": message.Location_Y,
                    "label": message.Label}
    return Incoming(
        channel="app",
        dedup_key=dedup,
        sender=message.FromUserName,
        kind=kind,
        text=(raw.get("Content") or raw.get("Title") or raw.get("Recognition") or "").strip(),
        media_id=raw.get("MediaId"),
        location=location,
        url=raw.get("Url") or raw.get("PicUrl"),
        raw=raw,
    )


def from_aibot_json(plaintext: str, bot_name: str) -> Incoming:
    """The smart bot's decrypted JSON (group @-mentions and 1:1 chats), validated."""
    data = parse_json(plaintext, max_depth=MAX_JSON_DEPTH)
    if not isinstance(data, dict):
        raise MalformedMessage("the decrypted payload must be a JSON object")
    head = _validated(shapes.AibotMessage, data)
    sender = head.sender.userid
    chat_id = head.chatid if head.chattype == "group" else None
    dedup = f"bot:{head.msgid}" if head.msgid else f"bot-evt:{payload_hash(plaintext)}"
    kind = head.msgtype.lower()
    model = shapes.AIBOT_MESSAGES.get(kind)
    if model is None:
        return _unsupported("aibot", dedup, sender, kind, head.model_dump(by_alias=True))
    message = _validated(model, data)
    raw = message.model_dump(by_alias=True, exclude_none=True)
    text = ""
    event = event_key = task_id = None
    if isinstance(message, shapes.AibotText):
        text = strip_mention(message.text.content, bot_name)
    elif isinstance(message, shapes.AibotVoice):
        text = strip_mention(message.voice.content, bot_name)
    elif isinstance(message, shapes.AibotMixed):
        joined = " ".join(item.text.content for item in message.mixed.msg_item
                          if item.msgtype == "text" and item.text is not None)
        text = strip_mention(shapes.clean_text(joined), bot_name)
        kind = "text" if text else "image"
    elif isinstance(message, shapes.AibotEvent):
        event = message.event.eventtype
        if event not in shapes.AIBOT_EVENTS:
            return _unsupported("aibot", dedup, sender, f"event:{event}", raw)
        card = message.event.template_card_event
        event_key = (card.event_key or None) if card else None
        task_id = card.task_id if card else None
    return Incoming(
        channel="aibot",
        dedup_key=dedup,
        sender=sender,
        kind=kind,
        text=text,
        chat_id=chat_id,
        event=event,
        event_key=event_key,
        task_id=task_id,
        response_url=head.response_url,
        raw=raw,
    )


def strip_mention(content: str, bot_name: str) -> str:
    """Drop the leading "@网格通" (and any other leading @-mentions of the bot) from a group text."""
    text = content.replace("\u2005", " ").strip()
    prefix = f"@{bot_name}"
    while text.startswith(prefix):
        text = text[len(prefix):].strip()
    return text

