"""The declared shape of both channels' decrypted plaintexts, as pydantic models.

A plaintext is validated against the model of its message type before anything reads it. The
bounds are those of the columns the message is stored in (``inbound_messages``: sender
``varchar(64)``, chat id ``varchar(128)``, de-duplication key ``varchar(128)``, kind
``varchar(32)``, outcome ``varchar(64)``) and of WeCom's documentation (user ids of 1–64 of the
characters ``A-Za-z0-9_-@.``; text content up to 2,048 bytes; ``MsgId`` a 64-bit number):

* identifiers (user ids, chat ids, message ids, task ids) are printable ASCII without spaces,
  within their column — anything else is malformed;
* text is normalised, never refused: NUL and lone surrogates (which PostgreSQL will not store)
  are removed, and text longer than its limit is cut there, with a note saying so;
* numbers are finite and within range (latitudes, longitudes, times);
* a message type or event name is a short ASCII word (it becomes part of the ``kind`` column).

The app's XML arrives as strings, so its models convert ("1000002" → 1000002); the smart bot's
JSON is typed, so its models are strict (a number where a string belongs is malformed).
Unknown fields are ignored: WeCom adds fields over time. A message type or event without a
model here is *unsupported* — well-formed, recorded, not routed.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from wecom import texts

MAX_TEXT = 2048  # WeCom's limit for a text message's content

_REMOVED = re.compile("[\x00\ud800-\udfff]")  # NUL; any surrogate left in a str is a lone one


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """``value`` without NUL or lone surrogates, cut at ``limit`` characters with a note."""
    value = _REMOVED.sub("", value)
    if len(value) <= limit:
        return value
    return value[:limit] + texts.TRUNCATED.format(dropped=len(value) - limit)


def _text(limit: int) -> Any:
    return Annotated[str, AfterValidator(partial(clean_text, limit=limit))]


def _token(max_length: int, pattern: str = r"^[!-~]+$") -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=max_length, pattern=pattern)]


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


UserId = _token(64)  # inbound_messages.sender, people.userid: varchar(64)
ChatId = _token(128)  # inbound_messages.chat_id: varchar(128)
MessageId = _token(64)  # "app:" / "bot:" + id in inbound_messages.dedup_key: varchar(128)
Ident = _token(128)  # task ids, media ids, response codes, corp and bot ids
Url = _token(2048)
Name = _token(26, r"^[A-Za-z0-9_.\-]+$")  # a msgtype or an event ("event:" + it in varchar(32))
Text = _text(MAX_TEXT)
ShortText = _text(256)
Lat = Annotated[Annotated[float, Field(ge=-90, le=90)] | None, BeforeValidator(_blank_is_none)]
Lon = Annotated[Annotated[float, Field(ge=-180, le=180)] | None,
                BeforeValidator(_blank_is_none)]
Count = Annotated[Annotated[int, Field(ge=0, le=2**63 - 1)] | None,
                  BeforeValidator(_blank_is_none)]
CorpId = _token(64)
# A menu or card button key (the command it stands for): cleaned, but never cut — a longer key
# is no key GridBot made.
ButtonKey = Annotated[str, StringConstraints(max_length=1024), AfterValidator(clean_text)]
CardResponseCode = _token(512)
OptionalIdent = Annotated[Ident | None, BeforeValidator(_blank_is_none)]
OptionalUrl = Annotated[Url | None, BeforeValidator(_blank_is_none)]
OptionalName = Annotated[Name | None, BeforeValidator(_blank_is_none)]


# -- the self-built app (XML) ----------------------------------------------------------------


class AppMessage(BaseModel):
    """The fields every app callback carries; what is validated before the type is known."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    ToUserName: Annotated[CorpId | None, BeforeValidator(_blank_is_none)] = None
    FromUserName: UserId
    CreateTime: Count = None
    MsgType: Name
    AgentID: Count = None
    MsgId: Annotated[MessageId | None, BeforeValidator(_blank_is_none)] = None


class AppText(AppMessage):
    Content: Text


class AppImage(AppMessage):
    PicUrl: OptionalUrl = None
    MediaId: OptionalIdent = None


class AppVoice(AppMessage):
    MediaId: OptionalIdent = None
    Format: OptionalName = None
    Recognition: Text = ""


class AppVideo(AppMessage):
    MediaId: OptionalIdent = None
    ThumbMediaId: OptionalIdent = None


class AppFile(AppMessage):
    MediaId: OptionalIdent = None
    Title: ShortText = ""


class AppLocation(AppMessage):
    Location_X: Lat = None
    Location_Y: Lon = None
    Scale: Count = None
    Label: ShortText = ""


class AppLink(AppMessage):
    Title: ShortText = ""
    Description: Text = ""
    Url: OptionalUrl = None
    PicUrl: OptionalUrl = None


class AppEvent(AppMessage):
    Event: Name
    EventKey: Annotated[ButtonKey | None, BeforeValidator(_blank_is_none)] = None
    TaskId: OptionalIdent = None
    CardType: OptionalName = None
    ResponseCode: Annotated[CardResponseCode | None, BeforeValidator(_blank_is_none)] = None
    Latitude: Lat = None
    Longitude: Lon = None
    Precision: Annotated[Annotated[float, Field(ge=0, le=1e7)] | None,
                         BeforeValidator(_blank_is_none)] = None


APP_MESSAGES: dict[str, type[AppMessage]] = {
    "text": AppText,
    "image": AppImage,
    "voice": AppVoice,
    "video": AppVideo,
    "file": AppFile,
    "location": AppLocation,
    "link": AppLink,
    "event": AppEvent,
}

# The app events GridBot knows (their fields are those of AppEvent); others are unsupported.
APP_EVENTS = frozenset({
    "subscribe", "unsubscribe", "enter_agent", "LOCATION", "click", "view",
    "template_card_event", "template_card_menu_event",
})


# -- the smart bot (JSON) --------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)


class AibotSender(_Strict):
    userid: UserId


class TextBody(_Strict):
    content: Text


class UrlBody(_Strict):
    url: Url | None = None


class MixedItem(_Strict):
    msgtype: Name
    text: TextBody | None = None
    image: UrlBody | None = None


class MixedBody(_Strict):
    msg_item: list[MixedItem] = Field(default_factory=list, max_length=32)


class CardEvent(_Strict):
    card_type: Name | None = None
    event_key: ButtonKey | None = None
    task_id: Ident | None = None


class EventBody(_Strict):
    eventtype: Name
    template_card_event: CardEvent | None = None


class AibotMessage(_Strict):
    """The fields every smart-bot callback carries; validated before the type is known."""

    msgid: MessageId | None = None
    aibotid: Ident | None = None
    chattype: Literal["single", "group"] = "single"
    chatid: ChatId | None = None
    sender: AibotSender = Field(alias="from")
    response_url: Url | None = None
    msgtype: Name

    @model_validator(mode="after")
    def _group_has_chat(self) -> AibotMessage:
        if self.chattype == "group" and self.chatid is None:
            raise ValueError("a group message needs chatid")
        return self


class AibotText(AibotMessage):
    text: TextBody


class AibotMixed(AibotMessage):
    mixed: MixedBody


class AibotImage(AibotMessage):
    image: UrlBody


class AibotVoice(AibotMessage):
    voice: TextBody


class AibotFile(AibotMessage):
    file: UrlBody


class AibotEvent(AibotMessage):
    event: EventBody


AIBOT_MESSAGES: dict[str, type[AibotMessage]] = {
    "text": AibotText,
    "mixed": AibotMixed,
    "image": AibotImage,
    "voice": AibotVoice,
    "file": AibotFile,
    "event": AibotEvent,
}

AIBOT_EVENTS = frozenset({"enter_chat", "template_card_event", "feedback_event"})
