"""The WeCom simulator as a process of its own (``bot.py simulator``), what it says about its
traffic (``/_sim/calls``, ``/_sim/dropped``), and the scheduler's lock TTL from the command line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


def test_bot_py_simulator_serves_wecom_for_the_configured_corp_until_sigterm(
    tmp_path: Path,
) -> None:
    from settings import load_settings

    settings = load_settings(ROOT / "config.yaml", environ={})
    port = _free_port()
    log = (tmp_path / "simulator.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "simulator", "--port",
                             str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _get(f"{base}/_sim/deliveries")["items"] == []
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        w = settings.wecom
        token = _get(f"{base}/cgi-bin/gettoken?corpid={w.corp_id}&corpsecret={w.secret}")
        assert token["errcode"] == 0 and token["access_token"]
        wrong = _get(f"{base}/cgi-bin/gettoken?corpid={w.corp_id}&corpsecret=nope")
        assert wrong["errcode"] == 40001
        robot = settings.groups[0].webhook_key
        request = urllib.request.Request(
            f"{base}/cgi-bin/webhook/send?key={robot}", method="POST",
            data=json.dumps({"msgtype": "text", "text": {"content": "测试"}}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read())["errcode"] == 0
        delivered = _get(f"{base}/_sim/deliveries")["items"]
        assert [(d["channel"], d["chat_id"], d["content"]) for d in delivered] == [
            ("webhook", settings.groups[0].chat_id, "测试")]
        calls = _get(f"{base}/_sim/calls")["items"]
        assert [(c["path"], c["errcode"]) for c in calls] == [
            ("/cgi-bin/gettoken", 0), ("/cgi-bin/gettoken", 40001), ("/cgi-bin/webhook/send", 0)]
        assert all("corpsecret" not in c["params"] for c in calls)
        assert _get(f"{base}/_sim/dropped")["items"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        log.close()


def test_dropped_lists_what_wecom_silently_dropped_over_a_members_limit() -> None:
    from wecom.simulator import SimulatorState, create_simulator_app

    state = SimulatorState(member_per_minute=1)
    client = create_simulator_app(state).test_client()
    token = client.get(f"/cgi-bin/gettoken?corpid={state.corp_id}&corpsecret={state.secret}"
                       ).get_json()["access_token"]
    for n in (1, 2):
        sent = client.post(f"/cgi-bin/message/send?access_token={token}", json={
            "touser": "lijuan", "msgtype": "text", "agentid": state.agent_id,
            "text": {"content": f"第{n}条"}}).get_json()
        assert sent["errcode"] == 0  # WeCom says ok either way
    dropped = client.get("/_sim/dropped").get_json()["items"]
    assert [(d["userid"], d["reason"], d["body"]["text"]["content"]) for d in dropped] == [
        ("lijuan", "member_per_minute", "第2条")]


def test_scheduler_lock_ttl_and_poll_come_from_the_command_line(settings, engine) -> None:  # type: ignore[no-untyped-def]
    import bot
    from runtime import build_runtime
    from schedules.scheduler import SchedulerService

    args = bot.build_parser().parse_args(["scheduler", "--lock-ttl", "4.5", "--poll", "0.25",
                                          "--log-jobs"])
    assert (args.lock_ttl, args.poll, args.log_jobs) == (4.5, 0.25, True)
    service = SchedulerService(build_runtime(settings, engine=engine), lock_ttl=args.lock_ttl,
                               poll_seconds=args.poll)
    assert service.lock.ttl == 4.5 and service.poll_seconds == 0.25
    assert SchedulerService(build_runtime(settings, engine=engine)).lock.ttl in (15.0, 30.0)
