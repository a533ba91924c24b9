"""API tokens per system: hashed, scoped, revocable, rate-limited across processes; the CLI."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import requests
from sqlalchemy import select

from store.api_clients import ApiClient, add_client
from store.db import transaction
from tests.harness import Harness

LEGACY = "legacy-token-0123456789"


@pytest.fixture
def api(settings, engine, simulator):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(settings, api_tokens=(LEGACY,),
                               wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    yield harness
    harness.stop()


def _client(harness, name: str, scopes: set[str], **kwargs):  # type: ignore[no-untyped-def]
    with transaction(harness.runtime.session_factory) as session:
        made = add_client(session, name=name, scopes=scopes, **kwargs)
    return made.token


def _get(harness, path: str, token: str) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.get(f"{harness.base_url}{path}", headers={"Authorization": f"Bearer {token}"},
                        timeout=5)


def test_tokens_are_stored_hashed_and_shown_once(api) -> None:  # type: ignore[no-untyped-def]
    token = _client(api, "县平台", {"tickets:read"})
    with api.session() as session:
        row = session.scalar(select(ApiClient).where(ApiClient.name == "县平台"))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.token_hint) and len(row.token_hint) < len(token) // 3


def test_scopes_decide_what_a_token_may_do(api) -> None:  # type: ignore[no-untyped-def]
    reader = _client(api, "县平台", {"tickets:read"})
    notices = _client(api, "宣传部", {"notices:write"})
    refused = _get(api, "/api/v1/notices", reader)
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden_scope" and "notices:write" in refused.json()["reason"]
    assert _get(api, "/api/v1/notices", notices).status_code == 200
    assert _get(api, "/api/v1/notices", LEGACY).status_code == 200  # legacy: every scope


def test_a_revoked_token_is_refused(api) -> None:  # type: ignore[no-untyped-def]
    token = _client(api, "宣传部", {"notices:write"})
    assert _get(api, "/api/v1/notices", token).status_code == 200
    with transaction(api.runtime.session_factory) as session:
        from store.clock import utcnow
        session.scalar(select(ApiClient).where(ApiClient.name == "宣传部")).revoked_at = utcnow()
    got = _get(api, "/api/v1/notices", token)
    assert got.status_code == 401 and got.json()["reason"]


def test_rate_limit_is_shared_by_processes_and_answers_429(  # type: ignore[no-untyped-def]
        api, engine, simulator) -> None:
    token = _client(api, "宣传部", {"notices:write"}, rate_limit=3)
    other = _client(api, "民政", {"notices:write"}, rate_limit=3)
    state, sim_url = simulator
    second = Harness.start(api.settings, engine, state, sim_url)  # another "process", same DB
    try:
        codes = [_get(h, "/api/v1/notices", token).status_code for h in (api, second, api)]
        assert codes == [200, 200, 200]
        refused = _get(second, "/api/v1/notices", token)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"] == "rate_limited" and "每分钟最多 3 次" in refused.json()["reason"]
        assert _get(api, "/api/v1/notices", other).status_code == 200  # budgets are per token
    finally:
        second.stop()


def test_cli_adds_lists_and_revokes(api, tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import yaml

    monkeypatch.delenv("DATABASE_URL", raising=False)  # the environment wins over the file

    import bot
    from tests.conftest import CONFIG

    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw["database"] = {"url": api.settings.database_url}
    raw["classifier"] = {k: str(CONFIG.parent / v) if isinstance(v, str) and "/" in v else v
                         for k, v in raw["classifier"].items()}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert bot.main(["--config", str(config), "api-token", "add", "12345平台", "--scopes",
                     "tickets:read,tickets:write", "--source", "12345"]) == 0
    out = capsys.readouterr().out
    token = out.split("token (shown once, store it now): ")[1].split()[0]
    assert _get(api, "/api/v1/tickets", token).status_code == 200
    assert bot.main(["--config", str(config), "api-token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "12345平台" in listed and token not in listed and "active" in listed
    with pytest.raises(SystemExit):  # argparse refuses an unknown scope
        bot.main(["--config", str(config), "api-token", "add", "x", "--scopes", "bogus"])
    assert bot.main(["--config", str(config), "api-token", "set", "12345平台", "--webhook-url",
                     "https://12345.example/hook", "--rate-limit", "7"]) == 0
    changed = capsys.readouterr().out
    secret = changed.split("webhook secret (shown once): ")[1].split()[0]
    with api.session() as session:
        row = session.scalar(select(ApiClient).where(ApiClient.name == "12345平台"))
        assert (row.webhook_url, row.webhook_secret, row.rate_limit) == (
            "https://12345.example/hook", secret, 7)
    assert bot.main(["--config", str(config), "api-token", "set", "12345平台",
                     "--no-webhook"]) == 0
    with api.session() as session:
        row = session.scalar(select(ApiClient).where(ApiClient.name == "12345平台"))
        assert (row.webhook_url, row.webhook_secret) == (None, None)
    assert bot.main(["--config", str(config), "api-token", "revoke", "12345平台"]) == 0
    assert _get(api, "/api/v1/tickets", token).status_code == 401


@pytest.fixture
def redis_url(tmp_path):  # type: ignore[no-untyped-def]
    """A redis-server of this test's own, on a free port (skipped where none is installed)."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_with_redis_the_window_is_counted_there(api, engine, simulator, redis_url) -> None:  # type: ignore[no-untyped-def]
    from store.api_clients import ApiRateCount

    token = _client(api, "宣传部", {"notices:write"}, rate_limit=2)
    state, sim_url = simulator
    live = dataclasses.replace(api.settings, redis_url=redis_url)
    first = Harness.start(live, engine, state, sim_url)
    second = Harness.start(live, engine, state, sim_url)
    try:
        assert [_get(h, "/api/v1/notices", token).status_code for h in (first, second)] == [200, 200]
        refused = _get(first, "/api/v1/notices", token)
        assert refused.status_code == 429 and refused.headers["Retry-After"]
    finally:
        first.stop()
        second.stop()
    with api.session() as session:
        assert session.scalars(select(ApiRateCount)).all() == []  # nothing counted in the DB
