"""Odd input at the front door: correctly signed payloads of every unexpected shape, and unsigned
garbage. Each is answered 400 (malformed: nothing recorded) or 200 (well-formed: recorded, odd
text normalised, unknown types recorded as unsupported) — never 500, never a traceback in the
log, never a row for a refused request. Runs on SQLite and, with DATABASE_URL, on PostgreSQL,
which refuses what SQLite stores (NUL bytes, over-long varchar values)."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from wecom.simulator.payloads import aibot_text, app_event, app_text, to_xml

BOT = "网格通"


@pytest.fixture(autouse=True)
def _log(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    yield caplog
    troubles = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert troubles == [], [r.getMessage() for r in troubles]


def _aibot(bot, plaintext: str) -> int | None:  # type: ignore[no-untyped-def]
    return bot.aibot_client(max_deliveries=1).send_plaintext(
        "/wecom/aibot", plaintext, json_envelope=True).status


def _app(bot, plaintext: str) -> int | None:  # type: ignore[no-untyped-def]
    return bot.app_client(max_deliveries=1).send_plaintext("/wecom/callback", plaintext).status


def _aibot_json(**changes: object) -> str:
    payload = aibot_text("zhangsan", "wrDSY1", "路灯坏了", msgid="odd-1", bot_name=BOT)
    payload.update(changes)
    return json.dumps(payload, ensure_ascii=False)


def test_unsigned_deep_brackets_are_400_without_a_traceback(bot):
    params = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    for path in ("/wecom/aibot", "/wecom/callback"):
        for body in ("[" * 60000, '{"encrypt": ' + "[" * 30000, "<a>" * 20000):
            got = requests.post(f"{bot.base_url}{path}", params=params, data=body, timeout=10)
            assert got.status_code == 400, (path, body[:20], got.status_code)
            assert "Traceback" not in got.text
    assert bot.inbound() == []


MALFORMED_AIBOT = {
    "text as a string": _aibot_json(text="路灯坏了"),
    "text as a list": _aibot_json(text=["路灯坏了"]),
    "content as a number": _aibot_json(text={"content": 5}),
    "chatid as a number": _aibot_json(chatid=12345),
    "msgid as a number": _aibot_json(msgid=123),
    "from as a string": _aibot_json(**{"from": "zhangsan"}),
    "no from": json.dumps({"msgid": "x", "msgtype": "text", "text": {"content": "hi"}}),
    "group without chatid": _aibot_json(chatid=None),
    "unknown chattype": _aibot_json(chattype="crowd"),
    "user id over 64": _aibot_json(**{"from": {"userid": "u" * 65}}),
    "user id with NUL": _aibot_json(**{"from": {"userid": "zhang\u0000san"}}),
    "chat id over 128": _aibot_json(chatid="wr" + "x" * 127),
    "msgid over 64": _aibot_json(msgid="m" * 65),
    "huge integer": _aibot_json().replace('"msgtype"', '"x": ' + "9" * 5000 + ', "msgtype"'),
    "integer over uint64": _aibot_json(extra=2**70),
    "NaN": _aibot_json().replace('"msgtype"', '"x": NaN, "msgtype"'),
    "Infinity": _aibot_json().replace('"msgtype"', '"x": -Infinity, "msgtype"'),
    "1e999": _aibot_json().replace('"msgtype"', '"x": 1e999, "msgtype"'),
    "deep nesting": _aibot_json().replace('"msgtype"', '"x": ' + "[" * 3000 + "]" * 3000
                                          + ', "msgtype"'),
    "an array": "[1, 2, 3]",
    "not JSON": "{not json",
    "mixed items not a list": _aibot_json(msgtype="mixed", mixed={"msg_item": "x"}),
    "event without eventtype": _aibot_json(msgtype="event", event={}),
    "msgtype with spaces": _aibot_json(msgtype="te xt"),
}


def test_malformed_smart_bot_payloads_are_400_and_record_nothing(bot):
    answers = {case: _aibot(bot, plaintext) for case, plaintext in MALFORMED_AIBOT.items()}
    assert answers == dict.fromkeys(MALFORMED_AIBOT, 400)
    assert bot.inbound() == []


def _app_xml(**fields: object) -> str:
    base = {"ToUserName": "ww0000", **app_text("zhangsan", "路灯坏了", msg_id=4242), "AgentID": 1}
    base.update(fields)
    return to_xml({k: v for k, v in base.items() if v is not None})


MALFORMED_APP = {
    "user id over 64": _app_xml(FromUserName="u" * 65),
    "user id with spaces inside": _app_xml(FromUserName="zhang san"),
    "huge MsgId": _app_xml(MsgId="9" * 200),
    "MsgId over 64": _app_xml(MsgId="1" * 65),
    "CreateTime not a number": _app_xml(CreateTime="yesterday"),
    "AgentID negative": _app_xml(AgentID=-1),
    "text without Content": _app_xml(Content=None),
    "latitude NaN": to_xml({**app_text("zhangsan", ""), "MsgType": "location", "Location_X": "nan",
                            "Location_Y": "1"}),
    "latitude out of range": to_xml({**app_text("zhangsan", ""), "MsgType": "location",
                                     "Location_X": "91", "Location_Y": "1"}),
    "event name too long": to_xml(app_event("zhangsan", "e" * 40)),
    "nested too deep": "<xml>" + "<a>" * 10 + "</a>" * 10 + "</xml>",
    "NUL character reference": _app_xml(Content="x").replace("<![CDATA[x]]>", "&#0;"),
    "NUL byte": _app_xml(Content="x").replace("<![CDATA[x]]>", "\u0000"),
}


def test_malformed_app_payloads_are_400_and_record_nothing(bot):
    answers = {case: _app(bot, plaintext) for case, plaintext in MALFORMED_APP.items()}
    assert answers == dict.fromkeys(MALFORMED_APP, 400)
    assert bot.inbound() == []


def test_nul_and_lone_surrogates_are_removed_from_text(bot):
    text = "路灯\u0000坏了 \\ud800好几天"
    plaintext = _aibot_json(text={"content": f"@{BOT} " + text}).replace("\\\\ud800", "\\ud800")
    assert _aibot(bot, plaintext) == 200
    [row] = bot.inbound()
    assert row.text == "路灯坏了 好几天"
    assert "\u0000" not in json.dumps(row.payload) and "\\ud800" not in json.dumps(row.payload)


def test_over_long_text_is_cut_with_a_note(bot):
    assert _app(bot, _app_xml(Content="楼" * 5000)) == 200
    [row] = bot.inbound()
    assert row.text.startswith("楼" * 2048) and not row.text.startswith("楼" * 2049)
    assert "其余 2952 字已略去" in row.text


UNSUPPORTED = {
    "app unknown msgtype": (_app, to_xml({**app_text("zhangsan", ""), "MsgType": "miniprogram"}),
                  "unsupported:miniprogram"),
    "app unknown event": (_app, to_xml(app_event("zhangsan", "open_approval_change")),
                          "unsupported:event:open_approval_change"),
    "smart bot stream": (_aibot, _aibot_json(msgtype="stream", stream={"id": "s1"}),
                         "unsupported:stream"),
    "smart bot unknown event": (_aibot, _aibot_json(msgtype="event",
                                                    event={"eventtype": "new_thing"}),
                                "unsupported:event:new_thing"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_messages_are_200_and_recorded_as_done(bot, case):
    send, plaintext, outcome = UNSUPPORTED[case]
    assert send(bot, plaintext) == 200
    assert send(bot, plaintext) == 200  # a retry: still one row
    [row] = bot.inbound()
    assert (row.kind, row.status, row.outcome) == ("unsupported", "done", outcome)
    assert bot.process() == 0  # nothing to route
    assert bot.outbox() == []


def test_odd_but_well_formed_messages_are_routed(bot):
    # unknown fields are ignored; a smart-bot image and voice take their own kinds
    assert _aibot(bot, _aibot_json(msgid="odd-2", future_field={"deep": [1, 2]})) == 200
    image = _aibot_json(msgid="odd-3", msgtype="image", image={"url": "https://x/y.jpg"})
    assert _aibot(bot, image) == 200
    bot.process()
    rows = sorted(bot.inbound(), key=lambda r: r.id)
    assert [(r.kind, r.status) for r in rows] == [("text", "done"), ("image", "done")]
    assert "future_field" not in rows[0].payload["raw"]
