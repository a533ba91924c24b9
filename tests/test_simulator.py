"""The WeCom simulator answers as WeCom does: tokens, sends, error codes, limits, failures."""

from __future__ import annotations

import time

import requests
import time_machine

from wecom.simulator import SimulatorState

pytest_plugins = ["tests.fixtures.transport"]


def _token(base: str, state: SimulatorState) -> str:
    data = requests.get(
        f"{base}/cgi-bin/gettoken",
        params={"corpid": state.corp_id, "corpsecret": state.secret},
        timeout=5,
    ).json()
    assert data["errcode"] == 0 and 0 < data["expires_in"] <= state.token_ttl
    return str(data["access_token"])


def _send(base: str, token: str | None, body: dict, agent: int = 1000002) -> dict:
    params = {"access_token": token} if token else {}
    return requests.post(
        f"{base}/cgi-bin/message/send",
        params=params,
        json={"agentid": agent, **body},
        timeout=5,
    ).json()


def _text(touser: str, content: str = "你好") -> dict:
    return {"touser": touser, "msgtype": "text", "text": {"content": content}}


def test_gettoken_errors_and_reuse(sim):
    state, base = sim
    url = f"{base}/cgi-bin/gettoken"
    assert (
        requests.get(url, params={"corpid": "nope", "corpsecret": state.secret}, timeout=5).json()[
            "errcode"
        ]
        == 40013
    )
    bad = requests.get(url, params={"corpid": state.corp_id, "corpsecret": "x"}, timeout=5).json()
    assert bad["errcode"] == 40001 and "more info at" in bad["errmsg"]
    first = _token(base, state)
    again = requests.get(
        url, params={"corpid": state.corp_id, "corpsecret": state.secret}, timeout=5
    ).json()
    assert again["access_token"] == first  # WeCom hands out the same token while it is valid
    assert state.token_fetches == 2


def test_token_expiry_invalidation_and_missing(sim):
    state, base = sim
    state.token_ttl = 60
    with time_machine.travel(time.time(), tick=True) as clock:
        token = _token(base, state)
        assert _send(base, token, _text("zhangsan"))["errcode"] == 0
        clock.shift(61)
        assert _send(base, token, _text("zhangsan"))["errcode"] == 42001
        token = _token(base, state)
        assert _send(base, token, _text("zhangsan"))["errcode"] == 0
        state.invalidate_tokens()
        assert _send(base, token, _text("zhangsan"))["errcode"] == 40014
        assert _send(base, None, _text("zhangsan"))["errcode"] == 41001
        assert _send(base, "garbage", _text("zhangsan"))["errcode"] == 40014


def test_message_send_validation(sim):
    state, base = sim
    token = _token(base, state)
    assert _send(base, token, {"touser": "a", "msgtype": "nope"})["errcode"] == 40008
    assert _send(base, token, _text("a", "  "))["errcode"] == 44004
    assert _send(base, token, _text("a"), agent=1)["errcode"] == 40056
    many = "|".join(f"u{i}" for i in range(1001))
    assert _send(base, token, _text(many))["errcode"] == 40058
    card = {
        "touser": "a",
        "msgtype": "template_card",
        "template_card": {"card_type": "button_interaction", "task_id": "t1",
                          "main_title": {"title": "工单 #12"}},
    }  # fmt: skip
    answer = _send(base, token, card)
    assert answer["errcode"] == 0 and answer["response_code"]
    textcard = {"touser": "a", "msgtype": "textcard",
                "textcard": {"title": "t", "description": "d", "url": "https://x"}}  # fmt: skip
    assert _send(base, token, textcard)["errcode"] == 0
    assert [m.msgtype for m in state.messages_for("a")] == ["template_card", "textcard"]
    assert state.messages_for("a")[0].content.startswith("工单 #12")


def test_invaliduser_partial_and_all(sim):
    state, base = sim
    state.known_users = {"zhangsan", "lisi"}
    token = _token(base, state)
    partial = _send(base, token, _text("zhangsan|ghost"))
    assert partial["errcode"] == 0 and partial["invaliduser"] == "ghost"
    everyone_bad = _send(base, token, _text("ghost|ghost2"))  # WeCom: 200, errcode 0, nobody
    assert everyone_bad["errcode"] == 0 and everyone_bad["invaliduser"] == "ghost|ghost2"
    state.all_invalid_errcode = 81013  # the stricter answer some corps see
    everyone_bad = _send(base, token, _text("ghost|ghost2"))
    assert everyone_bad["errcode"] == 81013 and everyone_bad["invaliduser"] == "ghost|ghost2"
    assert len(state.messages_for("zhangsan")) == 1 and state.messages_for("ghost") == []


def test_members_outside_the_apps_visible_range_are_invaliduser(sim):
    state, base = sim
    state.known_users = {"zhangsan", "lisi"}
    state.visible_users = {"zhangsan"}
    token = _token(base, state)
    answer = _send(base, token, _text("lisi"))
    assert answer["errcode"] == 0 and answer["invaliduser"] == "lisi"
    assert state.messages_for("lisi") == [] and state.received()["people"] == {}


def test_robot_records_mentions_and_what_each_person_and_group_received(sim):
    state, base = sim
    state.robot_chats = {"key-1": "wrGroup1"}
    body = {"msgtype": "text", "text": {"content": "请评价", "mentioned_list": ["lisi"]}}
    answer = requests.post(f"{base}/cgi-bin/webhook/send", params={"key": "key-1"}, json=body,
                           timeout=5).json()
    assert answer["errcode"] == 0
    [item] = state.messages_for_chat("wrGroup1")
    assert item.mentioned == ["lisi"] and state.mentions_of("lisi") == [item]
    received = requests.get(f"{base}/_sim/received", timeout=5).json()
    assert received == {"people": {"lisi": ["[群 wrGroup1] 请评价"]},
                        "groups": {"wrGroup1": ["请评价"]}}
    bad = {"msgtype": "text", "text": {"content": "x", "mentioned_list": "lisi"}}
    refused = requests.post(f"{base}/cgi-bin/webhook/send", params={"key": "key-1"}, json=bad,
                            timeout=5).json()
    assert refused["errcode"] == 40058


def test_member_limits_drop_silently(sim):
    state, base = sim
    state.member_per_minute = 3
    state.member_per_hour = 5
    with time_machine.travel(time.time(), tick=True) as clock:
        token = _token(base, state)
        answers = [_send(base, token, _text("zhangsan", f"m{i}")) for i in range(4)]
        assert all(a["errcode"] == 0 for a in answers)  # the 4th looks fine …
        assert len(state.messages_for("zhangsan")) == 3  # … but was dropped
        assert [(d.userid, d.reason) for d in state.dropped] == [("zhangsan", "member_per_minute")]
        clock.shift(61)
        token = _token(base, state)
        for i in range(3):
            _send(base, token, _text("zhangsan", f"n{i}"))
        assert len(state.messages_for("zhangsan")) == 5
        assert state.dropped[-1].reason == "member_per_hour"


def test_robot_webhook(sim):
    state, base = sim
    state.robot_keys = {"key-1", "key-2"}
    state.robot_per_minute = 2
    url = f"{base}/cgi-bin/webhook/send"
    body = {"msgtype": "markdown", "markdown": {"content": "**通知**"}}
    assert (
        requests.post(url, params={"key": "bad"}, json=body, timeout=5).json()["errcode"] == 93000
    )
    codes = [
        requests.post(url, params={"key": "key-1"}, json=body, timeout=5).json()["errcode"]
        for _ in range(3)
    ]
    assert codes == [0, 0, 45009]
    state.disable_robot("key-2")
    assert (
        requests.post(url, params={"key": "key-2"}, json=body, timeout=5).json()["errcode"] == 93004
    )
    assert len(state.messages_for_robot("key-1")) == 2


def test_appchat_and_response_url(sim):
    state, base = sim
    state.chats = {"wrOgChat1"}
    token = _token(base, state)
    url = f"{base}/cgi-bin/appchat/send"
    body = {"chatid": "wrOgChat1", "msgtype": "text", "text": {"content": "群通知"}}
    assert (
        requests.post(url, params={"access_token": token}, json=body, timeout=5).json()["errcode"]
        == 0
    )
    body["chatid"] = "nochat"
    assert (
        requests.post(url, params={"access_token": token}, json=body, timeout=5).json()["errcode"]
        == 86003
    )
    reply_url = state.new_response_url(base, chat_id="wrOgChat1", userid="zhangsan")
    reply = {"msgtype": "markdown", "markdown": {"content": "已受理，工单 #12"}}
    assert requests.post(reply_url, json=reply, timeout=5).json()["errcode"] == 0
    assert requests.post(reply_url, json=reply, timeout=5).json()["errcode"] == 40058  # once only
    assert [m.content for m in state.messages_for_chat("wrOgChat1")] == [
        "群通知",
        "已受理，工单 #12",
    ]
    assert len(state.messages_for_response_url(reply_url)) == 1


def test_outage_failures_and_ip_allow_list(sim):
    state, base = sim
    token = _token(base, state)
    with time_machine.travel(time.time(), tick=True) as clock:
        state.outage(seconds=600)
        res = requests.post(f"{base}/cgi-bin/message/send", params={"access_token": token},
                            json={"agentid": 1000002, **_text("a")}, timeout=5)  # fmt: skip
        assert res.status_code == 503
        state.outage(seconds=600, mode="busy")
        assert _send(base, token, _text("a"))["errcode"] == -1
        clock.shift(601)
        token = _token(base, state)
        assert _send(base, token, _text("a"))["errcode"] == 0
    state.recover()  # back in real time, the outage would still be on
    state.fail_next(2, 45033, path="message/send")
    assert [_send(base, token, _text("a"))["errcode"] for _ in range(3)] == [45033, 45033, 0]
    state.allowed_ips = {"10.0.0.1"}
    assert _send(base, token, _text("a"))["errcode"] == 60020
    assert state.calls_to("message/send")[-1].errcode == 60020


def test_deliveries_feed(sim):
    state, base = sim
    token = _token(base, state)
    _send(base, token, _text("a", "一"))
    _send(base, token, _text("b", "二"))
    feed = requests.get(f"{base}/_sim/deliveries", params={"since": 1}, timeout=5).json()
    assert feed["next"] == 2 and [i["content"] for i in feed["items"]] == ["二"]


def _authorize(base: str, state: SimulatorState, **extra: str) -> requests.Response:
    params = {"appid": state.corp_id, "redirect_uri": "https://grid.example.cn/back?x=1",
              "response_type": "code", "scope": "snsapi_base", "state": "s1", **extra}
    return requests.get(f"{base}/connect/oauth2/authorize", params=params,
                        allow_redirects=False, timeout=5)


def test_sign_in_codes_are_one_use_five_minute_and_name_members(sim):
    state, base = sim
    state.known_users = {"zhaolei"}
    assert _authorize(base, state, appid="wrong", sim_user="zhaolei").status_code == 400
    chooser = _authorize(base, state)
    assert chooser.status_code == 200 and "sim_user=zhaolei" in chooser.text
    back = _authorize(base, state, sim_user="zhaolei")
    assert back.status_code == 302
    location = back.headers["Location"]
    assert location.startswith("https://grid.example.cn/back?x=1&code=") and "state=s1" in location
    code = location.split("code=")[1].split("&")[0]
    token = _token(base, state)
    url = f"{base}/cgi-bin/auth/getuserinfo"
    answer = requests.get(url, params={"access_token": token, "code": code}, timeout=5).json()
    assert answer["errcode"] == 0 and answer["userid"] == "zhaolei"
    again = requests.get(url, params={"access_token": token, "code": code}, timeout=5).json()
    assert again["errcode"] == 40029  # spent
    assert requests.get(url, params={"code": code}, timeout=5).json()["errcode"] in (41001, 40014)
    with time_machine.travel(time.time(), tick=True) as traveller:
        late = state.issue_oauth_code("zhaolei")
        traveller.shift(301)
        stale = requests.get(url, params={"access_token": _token(base, state), "code": late},
                             timeout=5).json()
    assert stale["errcode"] == 40029  # older than five minutes
    outsider = state.issue_oauth_code("someone-else")
    found = requests.get(url, params={"access_token": _token(base, state), "code": outsider},
                         timeout=5).json()
    assert found["errcode"] == 0 and "userid" not in found and found["openid"]
    qr = requests.get(f"{base}/wwlogin/sso/login", allow_redirects=False, timeout=5, params={
        "login_type": "CorpApp", "appid": state.corp_id, "agentid": state.agent_id,
        "redirect_uri": "https://grid.example.cn/back", "state": "q", "sim_user": "zhaolei"})
    assert qr.status_code == 302 and "code=" in qr.headers["Location"]
