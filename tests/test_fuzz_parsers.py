"""Property-based tests (hypothesis) of what parses untrusted text: the bounded XML and JSON
parsers, both callbacks' plaintext validation, and the chat command parser.

The promise checked for every input: an accepted message fits the database (ids within their
columns, no NUL or lone surrogate anywhere, numbers finite, the whole payload strict JSON) and
anything else is refused with :class:`MalformedMessage` — no other exception, ever.
"""

from __future__ import annotations

import json
import math
import unicodedata
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handlers.base import CommandHandler, normalise
from handlers.commands import command_handlers
from store.ids import MAX_ID, fits_id
from wecom.inbound import Incoming, from_aibot_json, from_app_xml
from wecom.safe_parse import MalformedMessage, json_depth_within, parse_json, parse_xml
from wecom.shapes import MAX_TEXT, clean_text
from wecom.simulator.payloads import aibot_text, app_event, app_text, to_xml

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Strings of every kind: NUL, lone surrogates, CJK, digits, ASCII punctuation, very long runs.
odd_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Lo", "Nd", "Zs", "Po"]), max_size=50),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "9" * 30, "x" * 3000, "nan", "1e999",
                     "-1", "🙂", "网格通", "@网格通 ", "]]>", "\u2005"]),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), odd_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=20,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def assert_storable(message: Incoming) -> None:
    """What the inbox row needs: ids within their columns, text and payload clean, strict JSON."""
    assert 1 <= len(message.sender) <= 64 and message.sender.isascii()
    assert message.chat_id is None or 1 <= len(message.chat_id) <= 128
    assert len(message.dedup_key) <= 128
    kind = message.kind if message.kind != "event" else f"event:{message.event}"
    assert len(kind) <= 32
    encoded = json.dumps(message.to_json(), ensure_ascii=False, allow_nan=False)
    encoded.encode("utf-8")  # no lone surrogate anywhere
    assert "\x00" not in encoded and "\\u0000" not in encoded
    assert "\x00" not in message.text
    assert len(message.text) <= MAX_TEXT + 40  # the cap, and its note


# -- the bounded parsers ---------------------------------------------------------------------


@FUZZ
@given(st.text(alphabet='[]{}"\\:,1a ', max_size=400))
@example("[" * 100000)
@example('"' + "\\" * 99 + '"[[[')
def test_json_depth_scan_never_fails_and_bounds_the_decoder(text):
    within = json_depth_within(text, 8)
    try:
        value = parse_json(text, max_depth=8)
    except MalformedMessage:
        return
    assert within and _depth(value) <= 8


@FUZZ
@given(json_values)
def test_json_depth_scan_agrees_with_the_real_depth(value):
    text = json.dumps(value)
    for limit in (0, 1, 2, 3, 8):
        assert json_depth_within(text, limit) == (_depth(value) <= limit)


@FUZZ
@given(json_values)
def test_parse_json_returns_only_finite_bounded_values(value):
    try:
        parsed = parse_json(json.dumps(value), max_depth=8)
    except MalformedMessage:
        return

    def check(item: Any) -> None:
        if isinstance(item, float):
            assert math.isfinite(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            assert len(str(abs(item))) <= 20
        elif isinstance(item, list):
            for inner in item:
                check(inner)
        elif isinstance(item, dict):
            for inner in item.values():
                check(inner)

    check(parsed)


@FUZZ
@given(st.text(max_size=300))
@example("<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>")
@example('<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>')
def test_parse_xml_returns_a_flat_dict_or_refuses(text):
    try:
        fields = parse_xml(text, max_depth=5)
    except MalformedMessage:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


# -- the smart bot's JSON --------------------------------------------------------------------

AIBOT_KEYS = ["msgid", "aibotid", "chattype", "chatid", "from", "response_url", "msgtype", "text",
              "mixed", "image", "voice", "file", "event"]
aibot_msgtypes = st.sampled_from(["text", "mixed", "image", "voice", "file", "event", "stream",
                                  "TEXT", "", "x" * 40])


@st.composite
def mutated_aibot(draw: st.DrawFn) -> dict[str, Any]:
    """A real smart-bot payload with some fields replaced, removed or added."""
    payload: dict[str, Any] = aibot_text(
        draw(st.sampled_from(["zhangsan", "u" * 64, "u" * 65])),
        draw(st.sampled_from(["wrDSY1", None])),
        draw(odd_text),
        chattype=draw(st.sampled_from(["group", "single"])),
        msgid=draw(st.sampled_from(["m-1", "m" * 64, "m" * 65])),
    )
    payload["msgtype"] = draw(aibot_msgtypes)
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(AIBOT_KEYS) | odd_text)
        if draw(st.booleans()):
            payload.pop(key, None)
        else:
            payload[key] = draw(json_values | st.fixed_dictionaries({
                "content": odd_text, "eventtype": odd_text, "userid": odd_text,
                "msg_item": st.lists(st.fixed_dictionaries(
                    {"msgtype": st.just("text"), "text": st.fixed_dictionaries(
                        {"content": odd_text})}), max_size=3),
                "template_card_event": st.fixed_dictionaries(
                    {"event_key": odd_text, "task_id": odd_text}),
            }))
    return payload


@FUZZ
@given(mutated_aibot())
def test_smart_bot_payloads_are_storable_or_refused(payload):
    plaintext = json.dumps(payload, ensure_ascii=True)  # lone surrogates travel as \\udxxx
    try:
        message = from_aibot_json(plaintext, "网格通")
    except MalformedMessage:
        return
    assert_storable(message)


@FUZZ
@given(json_values)
def test_any_json_as_a_smart_bot_payload_is_storable_or_refused(value):
    try:
        message = from_aibot_json(json.dumps(value), "网格通")
    except MalformedMessage:
        return
    assert_storable(message)


@FUZZ
@given(odd_text)
def test_smart_bot_text_is_cleaned_and_otherwise_kept(content):
    payload = aibot_text("zhangsan", None, content, chattype="single", msgid="m-1")
    message = from_aibot_json(json.dumps(payload), "网格通")
    assert_storable(message)
    assert message.kind == "text"
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in message.text)
    if clean_text(content) == content and not content.lstrip().startswith("@网格通"):
        assert message.text == content.replace("\u2005", " ").strip()


# -- the app's XML ---------------------------------------------------------------------------

APP_KEYS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "AgentID", "MsgId", "Content",
            "PicUrl", "MediaId", "Format", "Recognition", "Location_X", "Location_Y", "Scale",
            "Label", "Title", "Description", "Url", "Event", "EventKey", "TaskId", "CardType",
            "ResponseCode", "Latitude", "Longitude", "Precision"]


def _xml_char(char: str) -> bool:
    """Whether XML 1.0 can carry ``char`` at all (it cannot carry NUL, controls, surrogates)."""
    code = ord(char)
    return char in "\t\n\r" or (code >= 0x20 and not 0xD800 <= code <= 0xDFFF
                                   and code not in (0xFFFE, 0xFFFF))


xml_safe_text = odd_text.map(lambda s: "".join(c for c in s if _xml_char(c)))


@st.composite
def mutated_app(draw: st.DrawFn) -> dict[str, Any]:
    """A real app message or event with some fields replaced, removed or added."""
    fields = draw(st.sampled_from([
        app_text("zhangsan", "路灯坏了", msg_id=123),
        app_event("zhangsan", "enter_agent"),
        app_event("lijuan", "template_card_event", "接单 12", task_id="t-1", card_type="button"),
        app_event("zhangsan", "LOCATION", Latitude="37.7", Longitude="107.3", Precision="15"),
        {**app_text("zhangsan", ""), "MsgType": "location", "Location_X": "37", "Location_Y": "1"},
    ]))
    fields = dict(fields)
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(APP_KEYS))
        if draw(st.booleans()):
            fields.pop(key, None)
        else:
            fields[key] = draw(xml_safe_text | st.sampled_from(
                ["nan", "inf", "-1", "9" * 25, "1e400", "u" * 65, "text", "event", "video",
                 "miniprogram", "unknown_event", "LOCATION"]))
    return fields


@FUZZ
@given(mutated_app())
def test_app_messages_are_storable_or_refused(fields):
    plaintext = to_xml(fields)
    try:
        message = from_app_xml(parse_xml(plaintext, max_depth=5), plaintext)
    except MalformedMessage:
        return
    assert_storable(message)
    if message.location:
        assert all(v is None or math.isfinite(v) for k, v in message.location.items()
                   if k != "label")


@FUZZ
@given(st.dictionaries(st.sampled_from(APP_KEYS), xml_safe_text, max_size=8))
def test_any_app_fields_are_storable_or_refused(fields):
    plaintext = to_xml(fields)
    try:
        message = from_app_xml(parse_xml(plaintext, max_depth=5), plaintext)
    except MalformedMessage:
        return
    assert_storable(message)


# -- the chat command parser -----------------------------------------------------------------

COMMANDS = [h for h in command_handlers() if isinstance(h, CommandHandler)]
VERBS = sorted({verb for handler in COMMANDS for verb in handler.verbs})
PARSERS = [CommandHandler(h.verbs, h.callback) for h in COMMANDS]  # parsing only, no permission


def _parse(text: str) -> list[Any]:
    ctx = SimpleNamespace(text=normalise(text))
    return [parser.check(ctx) for parser in PARSERS]  # type: ignore[arg-type]


command_like = st.builds(
    lambda verb, sep, digits, rest: f"{verb}{sep}{digits}{rest}",
    st.sampled_from(VERBS),
    st.sampled_from(["", " ", "#", " # ", "\u3000", "：", "/"]),
    st.text(alphabet="0123456789０１２３٣", max_size=6000),
    odd_text,
)


@FUZZ
@given(st.one_of(odd_text, command_like))
@example("接单 " + "9" * 5000)
@example("/" + "进度" + "1" * 20 + " 已联系")
def test_the_command_parser_never_fails(text):
    for parser, found in zip(PARSERS, _parse(text), strict=True):
        if found is not None:
            assert found.verb in parser.verbs
            assert found.number is None or fits_id(found.number)
            assert found.number is None or found.unknown_number is None


@FUZZ
@given(st.sampled_from(VERBS), st.integers(1, MAX_ID),
       st.text(alphabet="已联系物业明天修好楼道灯", max_size=30),
       st.sampled_from([" ", "", "#", " #", "\u3000"]))
def test_a_command_with_a_number_parses_back(verb, number, rest, sep):
    text = unicodedata.normalize("NFKC", f"{verb}{sep}{number} {rest}")
    parsed = {(found.verb, found.number, found.rest) for found in _parse(text) if found}
    assert (verb, number, rest) in parsed, text


@FUZZ
@given(st.sampled_from(VERBS), st.integers(MAX_ID + 1, 10**30))
def test_a_number_no_row_can_have_is_kept_as_unknown(verb, number):
    parsed = [found for found in _parse(f"{verb} {number}") if found and found.verb == verb]
    assert parsed and all(
        (found.number, found.unknown_number) == (None, str(number)) for found in parsed)
