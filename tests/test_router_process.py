"""``serve``'s router process: woken through its stdin, stopped when stdin closes, started again
when it dies; and the real ``bot.py worker --wake-stdin`` it runs routes a recorded message."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from runtime.router_process import RouterProcess

ROOT = Path(__file__).resolve().parents[1]

# a stand-in child: counts wake-ups into a file, exits at EOF
COUNTER = """
import sys
path = sys.argv[1]
count = 0
while sys.stdin.buffer.read1(4096):
    count += 1
    open(path, "w").write(str(count))
open(path, "w").write("eof")
"""


def wait_until(check, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_the_child_is_woken_and_stops_when_serve_stops(tmp_path):
    out = tmp_path / "count"
    router = RouterProcess([sys.executable, "-c", COUNTER, str(out)]).start()
    try:
        assert read(out) == ""
        router.wake()
        assert wait_until(lambda: read(out) not in ("", "eof"))
    finally:
        router.stop(timeout=10)
    assert read(out) == "eof"  # it saw its stdin close and ended by itself
    assert router._process is not None and router._process.returncode == 0


def test_a_child_that_dies_is_started_again(tmp_path):
    out = tmp_path / "count"
    router = RouterProcess([sys.executable, "-c", COUNTER, str(out)], restart_pause=0.1).start()
    try:
        first = router._process
        assert first is not None
        first.kill()
        assert wait_until(lambda: router._process is not first)
        router.wake()
        assert wait_until(lambda: read(out) not in ("", "eof"))
    finally:
        router.stop(timeout=10)


def test_the_worker_woken_through_stdin_routes_and_stops_at_eof(settings, engine, tmp_path):
    from sqlalchemy import select

    from store import inbox
    from store.models import InboundMessage
    from wecom.inbound import Incoming

    message = Incoming(channel="app", dedup_key="app:stdin:1", sender="zhangsan", kind="text",
                       text="小区门口的路灯坏了好几天了")
    inbox.record_many(engine, [{
        "dedup_key": message.dedup_key, "channel": "app", "sender": "zhangsan", "chat_id": None,
        "kind": "text", "text": message.text, "payload": message.to_json(),
        "status": "received", "attempts": 0, "outcome": None, "processed_at": None}])
    env = {"DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"}
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "--config", str(ROOT / "config.yaml"), "worker",
         "--threads", "0", "--wake-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        assert child.stdin is not None
        child.stdin.write(b"\n")
        child.stdin.flush()

        def routed() -> bool:
            with engine.connect() as connection:
                return connection.scalar(select(InboundMessage.status)) == "done"

        assert wait_until(routed, 60)
        child.stdin.close()
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
