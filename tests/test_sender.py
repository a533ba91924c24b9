"""The sender: API base from wecom_settings, one token shared by everyone, one refresh, clear results."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import time_machine

from wecom.sender import Sender, WeComClient
from wecom.token_cache import DatabaseTokenCache, MemoryTokenCache, RedisTokenCache

pytest_plugins = ["tests.fixtures.transport"]


@dataclass
class Row:
    """An outbox-row-shaped value (the sender reads only these attributes)."""

    target: str
    channel: str = "app"
    msgtype: str = "text"
    payload: dict[str, Any] = field(default_factory=lambda: {"text": {"content": "你好"}})
    id: int = 1


def test_app_message_goes_to_the_configured_api_base(sim, wecom_settings):
    state, _ = sim
    sender = Sender(wecom_settings)
    for i in range(3):
        assert sender.deliver(Row("zhangsan", payload={"text": {"content": f"m{i}"}})).ok
    assert [m.content for m in state.messages_for("zhangsan")] == ["m0", "m1", "m2"]
    assert state.token_fetches == 1  # gettoken went to the simulator, once
    assert state.messages_for("zhangsan")[0].body["agentid"] == wecom_settings.agent_id


@pytest.mark.parametrize("revoke", ["expire_tokens", "invalidate_tokens"])
def test_token_expiry_mid_run_is_survived_with_one_refresh(sim, wecom_settings, revoke):
    state, _ = sim
    sender = Sender(wecom_settings)
    assert sender.deliver(Row("zhangsan")).ok
    getattr(state, revoke)()  # 42001 / 40014 on the next call
    assert sender.deliver(Row("zhangsan")).ok
    assert sender.deliver(Row("zhangsan")).ok
    assert state.token_fetches == 2
    assert len(state.messages_for("zhangsan")) == 3
    errcodes = [c.errcode for c in state.calls_to("message/send")]
    assert errcodes == [0, 42001 if revoke == "expire_tokens" else 40014, 0, 0]


def test_natural_expiry_refreshes_before_use(sim, wecom_settings):
    state, _ = sim
    state.token_ttl = 120
    with time_machine.travel(time.time(), tick=True) as clock:
        sender = Sender(wecom_settings)
        assert sender.deliver(Row("a")).ok
        clock.shift(121)
        assert sender.deliver(Row("a")).ok
    assert state.token_fetches == 2
    assert all(c.errcode == 0 for c in state.calls_to("message/send"))


def test_refresh_is_bounded_to_once(sim, wecom_settings):
    state, _ = sim
    sender = Sender(wecom_settings)
    sender.deliver(Row("a"))
    state.fail_next(5, 40014, path="message/send")
    result = sender.deliver(Row("a"))
    assert not result.ok and result.retryable and result.errcode == 40014
    assert len(state.calls_to("message/send")) == 3  # first ok, then one call + one retry
    assert len(state.calls_to("gettoken")) == 2


def test_concurrent_clients_fetch_the_token_once(sim, wecom_settings, outbox_db):
    state, _ = sim
    start = threading.Barrier(8)
    results: list[bool] = []

    def process() -> None:  # each "process" has its own engine, cache and client
        cache = DatabaseTokenCache(
            outbox_db.new_factory(), f"{wecom_settings.corp_id}:{wecom_settings.agent_id}"
        )
        sender = Sender(wecom_settings, cache=cache)
        start.wait()
        results.append(sender.deliver(Row("zhangsan")).ok)

    threads = [threading.Thread(target=process) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [True] * 8
    assert state.token_fetches == 1

    state.expire_tokens()  # all at once see 42001: still a single refresh between them
    start.reset()
    results.clear()
    threads = [threading.Thread(target=process) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [True] * 8
    assert state.token_fetches == 2


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


@pytest.mark.skipif(_redis_url() is None, reason="no Redis")
def test_a_process_reads_the_stored_token_once_and_follows_a_replacement(
        sim, wecom_settings, outbox_db):
    """The token is read from the database once per process, not at every send; a token another
    process replaced (WeCom refused it there) is refused here once and the new one read."""
    from sqlalchemy import event

    state, _ = sim
    key = f"{wecom_settings.corp_id}:{wecom_settings.agent_id}"
    first = Sender(wecom_settings, cache=DatabaseTokenCache(outbox_db.new_factory(), key))
    factory = outbox_db.new_factory()
    reads: list[str] = []
    event.listen(factory.kw["bind"], "before_cursor_execute",
                 lambda *a: reads.append(a[2]) if "access_tokens" in a[2] else None)
    second = Sender(wecom_settings, cache=DatabaseTokenCache(factory, key))
    assert first.deliver(Row("zhangsan")).ok
    for _ in range(5):
        assert second.deliver(Row("lisi")).ok
    assert len(reads) == 1 and state.token_fetches == 1
    state.invalidate_tokens()  # 40014 for the token both hold
    assert first.deliver(Row("zhangsan")).ok  # refused, refreshed: a new token stored
    assert second.deliver(Row("lisi")).ok  # refused, and the new one read, not fetched again
    assert second.deliver(Row("lisi")).ok
    assert state.token_fetches == 2
    assert [c.errcode for c in state.calls_to("message/send")][-4:] == [0, 40014, 0, 0]


def test_the_environment_s_proxy_settings_are_read_once_per_host(sim, wecom_settings,
                                                                monkeypatch):
    import requests.sessions

    from wecom.sender import EnvironmentOnce

    state, _ = sim
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    looked: list[str] = []
    real = requests.sessions.get_environ_proxies
    monkeypatch.setattr(requests.sessions, "get_environ_proxies",
                        lambda url, no_proxy=None: looked.append(url) or real(url, no_proxy))
    sender = Sender(wecom_settings)
    for i in range(4):
        assert sender.deliver(Row("zhangsan", payload={"text": {"content": f"m{i}"}})).ok
    assert len(state.messages_for("zhangsan")) == 4
    assert len(looked) == 1  # the simulator's host, once (NO_PROXY: straight to it)
    session = EnvironmentOnce()
    outside = session.merge_environment_settings("http://qyapi.example/cgi-bin/x", {}, None,
                                                 None, None)
    assert outside["proxies"]["http"] == "http://127.0.0.1:9"  # another host: the proxy
    own = session.merge_environment_settings("http://qyapi.example/y", {"http": "http://p:1"},
                                             None, None, None)
    assert own["proxies"]["http"] == "http://p:1"  # a request's own proxies still win


def test_redis_token_cache_shared(sim, wecom_settings):
    state, _ = sim
    key = f"test-{time.time_ns()}"
    caches = [RedisTokenCache(_redis_url(), key) for _ in range(5)]
    start = threading.Barrier(5)
    ok: list[bool] = []

    def run(cache: RedisTokenCache) -> None:
        start.wait()
        ok.append(Sender(wecom_settings, cache=cache).deliver(Row("a")).ok)

    threads = [threading.Thread(target=run, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert ok == [True] * 5 and state.token_fetches == 1
    caches[0].redis.delete(caches[0].key)


def test_invaliduser_all_and_partial(sim, wecom_settings):
    state, _ = sim
    state.known_users = {"zhangsan"}
    sender = Sender(wecom_settings)
    nobody = sender.deliver(Row("ghost"))
    assert not nobody.ok and not nobody.retryable and "ghost" in (nobody.error or "")
    partial = sender.deliver(Row("zhangsan|ghost"))
    assert partial.ok and "ghost" in (partial.error or "")
    state.all_invalid_errcode = 0  # a 200 with errcode 0 whose invaliduser covers everyone
    nobody = sender.deliver(Row("ghost|ghost2"))
    assert not nobody.ok and not nobody.retryable


def test_retryable_and_permanent_errors(sim, wecom_settings):
    state, _ = sim
    sender = Sender(replace(wecom_settings, timeout_seconds=0.5))
    state.fail_next(1, 45009, path="message/send")
    limited = sender.deliver(Row("a"))
    assert limited.retryable and limited.backoff_seconds == 60 and limited.errcode == 45009
    state.fail_next(1, -1, path="message/send")
    busy = sender.deliver(Row("a"))
    assert busy.retryable and busy.outage
    state.fail_next(1, http_status=502, path="message/send")
    assert sender.deliver(Row("a")).outage
    state.hang_seconds = 1.5
    state.outage(seconds=30, mode="hang")
    hung = sender.deliver(Row("a"))
    assert hung.retryable and hung.outage and "timeout" in (hung.error or "").lower()
    state.recover()
    empty = sender.deliver(Row("a", payload={"text": {"content": ""}}))
    assert not empty.ok and not empty.retryable and empty.errcode == 44004
    assert not sender.deliver(Row("a", msgtype="bogus", payload={"bogus": {}})).retryable


def test_outage_on_gettoken_is_retryable(sim, wecom_settings):
    state, _ = sim
    state.outage(seconds=30)
    result = Sender(wecom_settings).deliver(Row("a"))
    assert result.retryable and result.outage
    state.recover()
    bad_secret = Sender(replace(wecom_settings, secret="wrong")).deliver(Row("a"))
    assert bad_secret.retryable and bad_secret.errcode == 40001


def test_other_channels(sim, wecom_settings):
    state, base = sim
    state.robot_keys = {"robot-1"}
    sender = Sender(wecom_settings, cache=MemoryTokenCache())
    md = {"markdown": {"content": "**防汛通知**"}}
    assert sender.deliver(Row("robot-1", channel="webhook", msgtype="markdown", payload=md)).ok
    bad = sender.deliver(Row("robot-x", channel="webhook", msgtype="markdown", payload=md))
    assert not bad.ok and not bad.retryable and bad.errcode == 93000
    assert sender.deliver(Row("wrChat1", channel="appchat")).ok
    url = state.new_response_url(base, chat_id="wrChat2")
    assert sender.deliver(Row(url, channel="response_url", msgtype="markdown", payload=md)).ok
    assert [m.content for m in state.messages_for_robot("robot-1")] == ["**防汛通知**"]
    assert len(state.messages_for_chat("wrChat1")) == 1
    assert len(state.messages_for_chat("wrChat2")) == 1
    state.robot_per_minute = 1
    limited = sender.deliver(Row("robot-1", channel="webhook", msgtype="markdown", payload=md))
    assert limited.retryable and limited.errcode == 45009


def test_client_is_a_wechatpy_client(sim, wecom_settings):
    state, _ = sim
    client = WeComClient(wecom_settings)
    answer = client.message.send_text(wecom_settings.agent_id, "zhangsan", "经由 wechatpy API")
    assert answer["errcode"] == 0
    assert state.messages_for("zhangsan")[0].content == "经由 wechatpy API"
