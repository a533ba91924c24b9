"""Benchmark: valid callbacks while hundreds of idle or half-sent connections are held open.

    python bench/idle_connections.py [--idle 200] [--half 30] [--callbacks 10]

Starts ``bot.py serve`` (a temporary SQLite database, the sample township) twice: with the
connection settings ``serve`` had before config.yaml's ``server`` section (waitress's limit of
100 connections and 30 s sweep, idle connections closed after 30 s) and with that section's
defaults. Each time it opens
``--idle`` connections that send nothing and ``--half`` that send half a request and stall, then
posts ``--callbacks`` signed app callbacks one after the other, each on a new connection, as
WeCom would (5 s to answer, no retry here), and prints how long each took to be answered.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_load import free_port, wait_for  # noqa: E402
from settings import load_settings  # noqa: E402
from settings.schema import ServerSection  # noqa: E402
from wecom.simulator import CallbackClient  # noqa: E402
from wecom.simulator.payloads import app_text  # noqa: E402

BEFORE = {"connection_limit": 100, "channel_timeout_seconds": 30,
          "cleanup_interval_seconds": 30}


def config_file(tmp: Path, server: dict[str, Any]) -> Path:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": f"sqlite:///{tmp / 'bench.db'}"}
    for key in ("rules", "faq", "userdict"):
        raw["classifier"][key] = str(ROOT / raw["classifier"][key])
    raw["server"] = server
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def hold(port: int, idle: int, half: int) -> list[socket.socket]:
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(idle)]
    for n in range(half):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /wecom/callback?msg_signature=x&timestamp=1&nonce=2 HTTP/1.1\r\n"
                     b"Host: grid.example.cn\r\nContent-Length: 4000\r\n\r\n<xml>" if n % 2 else
                     b"POST /wecom/callback HTTP/1.1\r\nHost: grid.exa")
        held.append(sock)
    return held


def run(label: str, server: dict[str, Any], args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="gridbot-idle-") as name:
        tmp = Path(name)
        config = config_file(tmp, server)
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_CORP_ID")}
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "--config", str(config), "serve", "--host",
             "127.0.0.1", "--port", str(port), "--migrate"], env=env,
            stdout=(tmp / "serve.log").open("wb"), stderr=subprocess.STDOUT)
        try:
            wait_for(port, "/healthz")
            held = hold(port, args.idle, args.half)
            time.sleep(1)  # accepted by now
            w = load_settings(config, environ={}).wecom
            times: list[float | None] = []
            for n in range(args.callbacks):
                client = CallbackClient(f"http://127.0.0.1:{port}", w.token, w.encoding_aes_key,
                                        w.corp_id, agent_id=w.agent_id, answer_timeout=5.0,
                                        max_deliveries=1, session=requests.Session())
                delivery = client.send_app_xml(
                    "/wecom/callback", app_text("zhangsan", f"楼道灯坏了 {n}", 7700 + n))
                times.append(delivery.last.elapsed if delivery.status == 200 else None)
            for sock in held:
                sock.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    answered = [t for t in times if t is not None]
    shown = ", ".join("none" if t is None else f"{t * 1000:.0f}" for t in times)
    print(f"{label}: {len(answered)}/{len(times)} answered within WeCom's 5 s"
          + (f", median {statistics.median(answered) * 1000:.1f} ms, max "
             f"{max(answered) * 1000:.1f} ms" if answered else "")
          + f" (ms each: {shown})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--half", type=int, default=30)
    parser.add_argument("--callbacks", type=int, default=10)
    args = parser.parse_args()
    print(f"{args.idle} idle + {args.half} half-sent connections held open; "
          f"{args.callbacks} callbacks", flush=True)
    run(f"as before {BEFORE}", BEFORE, args)
    defaults = ServerSection().model_dump()
    run(f"GridBot's server defaults {defaults}", defaults, args)


if __name__ == "__main__":
    main()
