"""The JSON API: bearer-token auth, reasons for bad input, create/list/status/cancel."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine

from tests.harness import Harness

SH = ZoneInfo("Asia/Shanghai")
TOKEN = "test-token-0123456789"


@pytest.fixture
def api(settings, engine, simulator):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(
        settings, api_tokens=(TOKEN,),
        wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    yield harness
    harness.stop()


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


NOTICE = {
    "title": "防汛通知", "body": "**今晚暴雨**，请转移低洼地带群众。",
    "audience": {"grids": ["640323001002"], "roles": ["worker", "resident"]}, "urgent": True,
}


def test_no_or_wrong_token_is_401_and_nothing_is_sent(api) -> None:  # type: ignore[no-untyped-def]
    url = f"{api.base_url}/api/v1/notices"
    assert requests.post(url, json=NOTICE, timeout=5).status_code == 401
    assert requests.post(url, json=NOTICE, headers=_auth("nope"), timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": TOKEN}, timeout=5).status_code == 401
    api.deliver()
    assert api.state.delivered == []


def test_api_closed_when_no_token_is_configured(bot) -> None:  # type: ignore[no-untyped-def]
    got = requests.post(f"{bot.base_url}/api/v1/notices", json=NOTICE, headers=_auth(""),
                        timeout=5)
    assert got.status_code == 401


def test_bad_input_is_400_with_a_reason(api) -> None:  # type: ignore[no-untyped-def]
    url = f"{api.base_url}/api/v1/notices"
    cases = [
        ({**NOTICE, "audience": {"grids": ["999"]}}, "unknown_scope"),
        ({**NOTICE, "audience": {}}, "empty_audience"),
        ({**NOTICE, "title": ""}, "missing_title"),
        ({**NOTICE, "schedule": {"kind": "cron", "cron": "every day"}}, "bad_cron"),
        ({**NOTICE, "schedule": {"kind": "soon"}}, "bad_kind"),
        ({**NOTICE, "deadline": "2026-13-40"}, "bad_date"),
    ]
    for body, code in cases:
        got = requests.post(url, json=body, headers=_auth(), timeout=5)
        assert got.status_code == 400, (body, got.text)
        assert got.json()["error"] == code and got.json()["reason"]
    got = requests.post(url, data="not json", headers=_auth(), timeout=5)
    assert got.status_code == 400 and got.json()["error"] == "bad_json"


def test_create_deliver_status_and_cancel(api) -> None:  # type: ignore[no-untyped-def]
    url = f"{api.base_url}/api/v1/notices"
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=SH), tick=True):
        got = requests.post(url, json=NOTICE, headers=_auth(), timeout=5)
        assert got.status_code == 201, got.text
        created = got.json()
        assert created["plan"]["targets"] == {"groups": 2, "members": 4,
                                              "roles": ["worker", "resident"]}
        api.deliver()
        status = requests.get(f"{url}/{created['notice']['id']}", headers=_auth(), timeout=5).json()
        assert (status["targets"], status["delivered"], status["pending"]) == (6, 6, 0)
        assert [m for m in api.received("wangwu") if "今晚暴雨" in m]

        weekly = requests.post(url, headers=_auth(), timeout=5, json={
            "title": "周报", "body": "请上报", "audience": {"grids": ["640323001"]},
            "schedule": {"kind": "cron", "cron": "0 9 * * mon"}}).json()
        listed = requests.get(url, headers=_auth(), timeout=5).json()["notices"]
        assert [n["id"] for n in listed] == [weekly["notice"]["id"]]  # the sent one is done
        cancelled = requests.post(f"{url}/{weekly['notice']['id']}/cancel", headers=_auth(),
                                  timeout=5)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert requests.get(url, headers=_auth(), timeout=5).json()["notices"] == []
        assert requests.delete(f"{url}/999", headers=_auth(), timeout=5).status_code == 404


def _assert_json_error(got: requests.Response, status: int, code: str) -> None:
    assert got.status_code == status, got.text
    assert got.headers["Content-Type"].startswith("application/json")
    body = got.json()
    assert body["error"] == code
    assert any("\u4e00" <= char <= "\u9fff" for char in body["reason"]), body  # Chinese


def test_every_http_error_is_json_with_a_chinese_reason(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"{api.base_url}/api/v1/notices"
    too_big = {"title": "大", "body": "字" * (70 * 1024)}
    _assert_json_error(requests.post(url, json=too_big, headers=_auth(), timeout=5), 413,
                       "too_large")
    _assert_json_error(requests.get(f"{api.base_url}/api/v1/nothing", headers=_auth(), timeout=5),
                       404, "not_found")
    _assert_json_error(requests.get(f"{url}/abc", headers=_auth(), timeout=5), 404, "not_found")
    put = requests.put(url, json=NOTICE, headers=_auth(), timeout=5)
    _assert_json_error(put, 405, "method_not_allowed")
    assert set(put.headers["Allow"].split(", ")) >= {"GET", "POST"}
    # an id beyond the column's range names no notice, whatever the database
    _assert_json_error(requests.get(f"{url}/99999999999999999999", headers=_auth(), timeout=5),
                       404, "not_found")
    _assert_json_error(requests.get(url, timeout=5), 401, "unauthorized")

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr("web.api.list_notices", broken)
    _assert_json_error(requests.get(url, headers=_auth(), timeout=5), 500, "internal_error")


def test_errors_outside_the_api_keep_their_own_form(api) -> None:  # type: ignore[no-untyped-def]
    got = requests.get(f"{api.base_url}/no-such-page", timeout=5)
    assert got.status_code == 404
    assert not got.headers["Content-Type"].startswith("application/json")
