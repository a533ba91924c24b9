"""The simulator's message/update_template_card, and the sender's call of it: codes from the
send answer and from clicks, one use each, 72 hours, buttons greyed out or the card replaced;
the same token refresh and back-off as message/send."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import time_machine

from wecom.sender import Sender
from wecom.simulator import SimulatorState
from wecom.simulator.cards import CardNotClickable
from wecom.simulator.errors import ALL_RECIPIENTS_INVALID, INVALID_AGENTID, INVALID_RESPONSE_CODE

pytest_plugins = ["tests.fixtures.transport"]

CARD = {
    "card_type": "button_interaction", "task_id": "ticket-12-dispatch-5-1700000000",
    "main_title": {"title": "新工单 #12｜市政设施", "desc": "东顺苑第一网格 · 张三"},
    "button_list": [{"text": "接单", "style": 1, "key": "接单 12"},
                    {"text": "详情", "style": 2, "key": "详情 12"}],
}  # fmt: skip


def _token(base: str, state: SimulatorState) -> str:
    return str(requests.get(f"{base}/cgi-bin/gettoken", timeout=5, params={
        "corpid": state.corp_id, "corpsecret": state.secret}).json()["access_token"])


def _post(base: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return requests.post(f"{base}/cgi-bin/{path}", params={"access_token": token}, json=body,
                         timeout=5).json()


def _send_card(base: str, token: str, touser: str = "lijuan|zhoudama") -> str:
    answer = _post(base, token, "message/send", {
        "touser": touser, "agentid": 1000002, "msgtype": "template_card", "template_card": CARD})
    assert answer["errcode"] == 0
    return str(answer["response_code"])


def _update(base: str, token: str, code: str, **body: Any) -> dict[str, Any]:
    body.setdefault("userids", ["lijuan"])
    body.setdefault("agentid", 1000002)
    if "template_card" not in body:
        body.setdefault("button", {"replace_name": "已接单·李娟"})
    return _post(base, token, "message/update_template_card", {"response_code": code, **body})


def test_the_send_answers_code_greys_the_buttons_out_once(sim):
    state, base = sim
    token = _token(base, state)
    code = _send_card(base, token)
    assert state.cards.view("lijuan", CARD["task_id"]).buttons == ["接单", "详情"]

    assert _update(base, token, code)["errcode"] == 0
    seen = state.cards.view("lijuan", CARD["task_id"])
    assert seen.replace_name == "已接单·李娟" and seen.buttons == [] and not seen.clickable
    assert state.cards.view("zhoudama", CARD["task_id"]).clickable  # not listed: unchanged

    again = _update(base, token, code, userids=["zhoudama"])
    assert again["errcode"] == INVALID_RESPONSE_CODE and "used or expired" in again["errmsg"]
    assert state.cards.view("zhoudama", CARD["task_id"]).clickable
    listed = requests.get(f"{base}/_sim/cards", params={"userid": "lijuan"}, timeout=5).json()
    assert [c["replace_name"] for c in listed["cards"]] == ["已接单·李娟"]


def test_a_click_code_is_issued_per_click_and_refused_once_the_buttons_are_grey(sim):
    state, base = sim
    token = _token(base, state)
    _send_card(base, token)
    first, second = (state.cards.click("lijuan", CARD["task_id"]) for _ in range(2))
    assert first != second
    assert _update(base, token, first)["errcode"] == 0
    with pytest.raises(CardNotClickable):
        state.cards.click("lijuan", CARD["task_id"])
    assert _update(base, token, second, button={"replace_name": "已办结"})["errcode"] == 0
    assert state.cards.view("lijuan", CARD["task_id"]).replace_name == "已办结"
    assert _update(base, token, "made-up")["errcode"] == INVALID_RESPONSE_CODE


def test_a_code_expires_after_72_hours(sim):
    state, base = sim
    with time_machine.travel(time.time(), tick=True) as clock:
        token = _token(base, state)
        early, late = _send_card(base, token), _send_card(base, token)
        clock.shift(72 * 3600 - 60)
        token = _token(base, state)  # the first token expired long ago
        assert _update(base, token, early)["errcode"] == 0
        clock.shift(120)
        assert _update(base, token, late)["errcode"] == INVALID_RESPONSE_CODE


def test_update_validation_and_atall_and_whole_card_replacement(sim):
    state, base = sim
    token = _token(base, state)
    code = _send_card(base, token)
    assert _update(base, token, code, agentid=1)["errcode"] == INVALID_AGENTID
    both = _update(base, token, code, template_card=CARD, button={"replace_name": "x"})
    assert both["errcode"] == INVALID_RESPONSE_CODE  # 40058, bad parameters
    assert _update(base, token, code, button={"replace_name": " "})["errcode"] == 40058
    nobody = _update(base, token, code, userids=["wangwu"])
    assert nobody["errcode"] == ALL_RECIPIENTS_INVALID and nobody["invaliduser"] == ["wangwu"]
    # none of the refused calls spent the code
    done = {**CARD, "main_title": {"title": "工单 #12 已办结"}, "button_list": []}
    assert _update(base, token, code, userids=[], atall=1, template_card=done)["errcode"] == 0
    for userid in ("lijuan", "zhoudama"):
        seen = state.cards.view(userid, CARD["task_id"])
        assert seen.text.startswith("工单 #12 已办结") and not seen.clickable


@dataclass
class Row:
    """An outbox-row-shaped card update."""

    payload: dict[str, Any]
    target: str = "lijuan"
    channel: str = "card_update"
    msgtype: str = "update_template_card"
    id: int = 1


def _row(code: str, caption: str = "已接单·李娟", target: str = "lijuan") -> Row:
    return Row({"response_code": code, "button": {"replace_name": caption}}, target)


def test_the_sender_updates_cards_with_one_token_refresh_and_backs_off_on_limits(
    sim, wecom_settings
):
    state, base = sim
    code = _send_card(base, _token(base, state))
    sender = Sender(wecom_settings)
    assert sender.deliver(Row({"text": {"content": "你好"}}, channel="app", msgtype="text")).ok
    state.expire_tokens()  # the sender's cached token answers 42001 from now on
    assert sender.deliver(_row(code)).ok
    assert [c.errcode for c in state.calls_to("update_template_card")] == [42001, 0]
    assert state.cards.view("lijuan", CARD["task_id"]).replace_name == "已接单·李娟"

    second = state.cards.click("zhoudama", CARD["task_id"])
    transferred = _row(second, "已转派·周大妈", target="zhoudama")
    state.fail_next(1, 45009, path="update_template_card")
    limited = sender.deliver(transferred)
    assert limited.retryable and limited.backoff_seconds == 60.0 and limited.errcode == 45009
    assert sender.deliver(transferred).ok
    assert state.cards.view("zhoudama", CARD["task_id"]).replace_name == "已转派·周大妈"

    spent = sender.deliver(_row(code))
    assert not spent.ok and not spent.retryable and spent.errcode == INVALID_RESPONSE_CODE
    state.outage(mode="http503")
    down = sender.deliver(_row(state.cards.issue(CARD["task_id"])))
    assert down.retryable and down.outage
