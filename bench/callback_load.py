"""Load on the WeCom callback: GridBot's full path against the floor of cost for this stack.

Runs two servers in subprocesses, each under waitress with W threads:

* **full**: ``bot.py serve`` — verify, decrypt, parse, normalise and record the message under its
  unique key (WeCom's answer), with routing (classify, open and dispatch the ticket, queue the
  replies) done after the answer: by a thread of ``serve`` itself (``--topology inline``, the
  default: one host as the README deploys it, on SQLite or PostgreSQL), by a ``bot.py worker``
  process on the same cores at the same time (``--topology split``), or by a worker started after
  the load, to measure the callback path and the routing rate each alone (``--topology
  deferred``);
* **bare**: a Flask handler that only verifies the signature, decrypts and answers an empty 200.

Throughput: N unique, pre-encrypted app callbacks per server (a realistic mix of reports and
chatter) at concurrency C, as fast as each answers, in R rounds that alternate bare and full.
Before each next round the full server's routing backlog is drained, so every round starts on a
quiet machine and the two servers share its slow drifts; the medians are compared. Latency: then
a fixed open-loop rate (default 200 messages/s). Prints throughput, p50/p99 latency, the
full/bare ratio, and how fast messages were routed end to end.

    python bench/callback_load.py                       # N=5000 in 5 rounds, C=16, W=8, SQLite
    python bench/callback_load.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from settings import load_settings  # noqa: E402
from wecom import crypto  # noqa: E402
from wecom.simulator.payloads import app_text, to_xml  # noqa: E402

MESSAGES = [
    "我家门口的下水道堵了，污水都冒到路面上了",
    "楼上卫生间漏水，我家天花板都湿了",
    "小区门口的路灯坏了好几天了",
    "楼道里堆满了杂物，堵住了消防通道",
    "有人在楼道里给电动车充电，太危险了",
    "垃圾桶满了三天没人清运，味道很大",
    "7号楼电梯又坏了，老人上不了楼",
    "晚上工地施工噪音太大，孩子没法睡觉",
    "收到",
    "好的，谢谢",
    "城乡居民医保怎么交费",
    "邻居家狗天天叫，沟通了也没用",
]

BARE_APP = '''
import sys
from flask import Flask, Response, request
sys.path.insert(0, {root!r})
from wecom import crypto
from wecom.inbound import parse_xml

TOKEN, KEY, CORP = {token!r}, {key!r}, {corp!r}
app = Flask("bare")

@app.post("/wecom/callback")
def callback():
    envelope = parse_xml(request.get_data().decode("utf-8"))
    encrypted = envelope["Encrypt"]
    crypto.verify(TOKEN, request.args["timestamp"], request.args["nonce"], encrypted,
                  request.args["msg_signature"])
    parse_xml(crypto.decrypt(KEY, encrypted, CORP))
    return Response("", status=200)

if __name__ == "__main__":
    import logging
    from waitress import serve
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # no "Task queue depth" lines
    serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]), _quiet=True)
'''


def bench_database(url: str | None, tmp: Path) -> tuple[str, Callable[[], None]]:
    """A temporary SQLite file, or a fresh schema on the given PostgreSQL server."""
    if not url:
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text

    schema = f"gridbot_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", drop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, path: str = "/", seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def make_requests(n: int, token: str, key: str, corp: str, users: list[str], tag: str) -> list[tuple[str, bytes]]:
    """N unique encrypted app callbacks: (path with signed query, body)."""
    out = []
    for i in range(n):
        fields = {"ToUserName": corp, **app_text(users[i % len(users)], MESSAGES[i % len(MESSAGES)],
                                                  msg_id=f"{tag}{i}"), "AgentID": 1000002}
        encrypted = crypto.encrypt(key, to_xml(fields), corp)
        ts, nonce = crypto.timestamp(), crypto.nonce()
        query = urlencode({"msg_signature": crypto.sign(token, ts, nonce, encrypted),
                           "timestamp": ts, "nonce": nonce})
        body = f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        out.append((f"/wecom/callback?{query}", body.encode()))
    return out


def run_load(port: int, reqs: list[tuple[str, bytes]], concurrency: int,
             rate: float | None) -> tuple[float, list[float], int]:
    """Send every request; returns (wall seconds, latencies in s, non-200 count)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    index = [0]
    start = time.perf_counter()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = index[0]
                if i >= len(reqs):
                    break
                index[0] += 1
            if rate:
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            path, body = reqs[i]
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors[0]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def backlog(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(messages waiting to be routed, messages recorded) in the full server's inbox."""
    from sqlalchemy import case, func, select

    from store.models import InboundMessage

    with engine.connect() as connection:
        waiting, total = connection.execute(
            select(func.sum(case((InboundMessage.status == "received", 1), else_=0)),
                   func.count())
        ).one()
    return int(waiting or 0), int(total)


def wait_routed(engine, timeout: float = 600) -> float:  # type: ignore[no-untyped-def]
    """Wait until every recorded message is routed; the seconds it took."""
    started = time.perf_counter()
    deadline = started + timeout
    while backlog(engine)[0] and time.perf_counter() < deadline:
        time.sleep(0.1)
    return time.perf_counter() - started


def report(name: str, args, thr: list[float], lat: list[float], paced: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    rounds = ", ".join(f"{t:.0f}" for t in thr)
    print(f"{name:5s}: {statistics.median(thr):8.1f} msg/s at C={args.concurrency} (median of "
          f"rounds: {rounds}; p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms); at "
          f"{args.rate:.0f} msg/s offered: {paced['rate_achieved']:.1f} msg/s, p50 "
          f"{paced['rate_p50']:.1f} ms, p99 {paced['rate_p99']:.1f} ms; non-200: "
          f"{int(paced['errors'])}", flush=True)


def paced_run(port: int, settings, args, tag: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Latency at a fixed offered rate (open loop)."""
    paced = requests_for(settings, int(args.rate * args.rate_seconds), f"{tag}rate")
    wall, lat, errors = run_load(port, paced, args.concurrency, args.rate)
    return {"rate_achieved": len(paced) / wall, "rate_p50": pct(lat, 50),
            "rate_p99": pct(lat, 99), "errors": errors}


def requests_for(settings, n: int, tag: str) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    users = [p.userid for p in settings.roster if p.role == "resident"] + ["visitor01", "visitor02"]
    w = settings.wecom
    return make_requests(n, w.token, w.encoding_aes_key, w.corp_id, users, tag)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000,
                        help="unique callbacks for throughput, per server, over all rounds")
    parser.add_argument("-r", "--rounds", type=int, default=5,
                        help="alternating bare/full throughput rounds (median reported)")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("-w", "--workers", type=int, default=8,
                        help="waitress threads of each server (default 8: serve's default)")
    parser.add_argument("--rate", type=float, default=200.0, help="offered rate for latency")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--topology", choices=("inline", "split", "deferred"), default="inline",
                        help="inline (default, one host as the README deploys it): `serve` "
                             "routes in a thread of its own; split: `serve --no-process` records, "
                             "a `worker --nice 10` process on the same cores routes at the same "
                             "time; deferred: the worker starts after the load (the callback "
                             "path alone, then the routing rate alone)")
    parser.add_argument("--router", choices=("process", "thread"), default="process",
                        help="inline: serve's router process (default) or thread")
    args = parser.parse_args()

    settings = load_settings(ROOT / "config.yaml", environ={})
    tmp = Path(tempfile.mkdtemp(prefix="gridbot-bench-"))
    database_url, drop_schema = bench_database(args.database_url, tmp)
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    for name in ("WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_CORP_ID"):
        env.pop(name, None)
    print(f"GridBot callback load: N={args.n}, C={args.concurrency}, W={args.workers} threads, "
          f"database {env['DATABASE_URL'].split('://')[0]}, routing {args.topology}"
          f"{f' ({args.router})' if args.topology == 'inline' else ''}, "
          f"{os.cpu_count()} cores", flush=True)

    bare_port, full_port = free_port(), free_port()
    bare_file = tmp / "bare.py"
    bare_file.write_text(BARE_APP.format(root=str(ROOT), token=settings.wecom.token,
                                         key=settings.wecom.encoding_aes_key,
                                         corp=settings.wecom.corp_id))
    subprocess.run([sys.executable, str(ROOT / "bot.py"), "db", "upgrade"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, str(bare_file), str(bare_port),
                                       str(args.workers)], env=env))
        serve_args = ["--no-process"] if args.topology != "inline" else ["--router", args.router]
        worker = [sys.executable, str(ROOT / "bot.py"), "worker", "--threads", "1", "--nice",
                  "10"]
        procs.append(subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "serve", "--host", "127.0.0.1", "--port",
             str(full_port), "--threads", str(args.workers), *serve_args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if args.topology == "split":
            procs.append(subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        wait_for(bare_port)
        wait_for(full_port, "/healthz")
        from store.db import make_engine

        inbox_engine = make_engine(env["DATABASE_URL"])
        for port, tag in ((bare_port, "bw"), (full_port, "fw")):  # warm both
            run_load(port, requests_for(settings, 200, tag), args.concurrency, None)
        routes = args.topology != "deferred"
        if routes:
            wait_routed(inbox_engine)
        per_round = max(1, args.n // args.rounds)
        bare_thr: list[float] = []
        full_thr: list[float] = []
        bare_lat: list[float] = []
        full_lat: list[float] = []
        routing: list[tuple[int, float]] = []
        # Rounds alternate bare and full on a quiet machine: the full server's routing backlog
        # is drained before the next bare round starts, so neither measurement carries the
        # other's work, and slow drifts of the machine fall on both alike.
        for r in range(args.rounds):
            for port, thr, lat in ((bare_port, bare_thr, bare_lat), (full_port, full_thr, full_lat)):
                reqs = requests_for(settings, per_round, f"{'bf'[port == full_port]}{r}t")
                started = time.perf_counter()
                wall, latencies, errors = run_load(port, reqs, args.concurrency, None)
                if errors:
                    raise SystemExit(f"{errors} requests failed on port {port}")
                thr.append(len(reqs) / wall)
                lat.extend(latencies)
                if port == full_port and routes:
                    wait_routed(inbox_engine)
                    routing.append((per_round, time.perf_counter() - started))
        bare_paced = paced_run(bare_port, settings, args, "b")
        paced_started = time.perf_counter()
        full_paced = paced_run(full_port, settings, args, "f")
        report("bare", args, bare_thr, bare_lat, bare_paced)
        report("full", args, full_thr, full_lat, full_paced)
        if not routes:  # route the whole backlog only now, alone on the machine
            procs.append(subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            time.sleep(0.5)
            routing.append((backlog(inbox_engine)[1], wait_routed(inbox_engine) + 0.5))
        else:
            wait_routed(inbox_engine)
            routing.append((int(args.rate * args.rate_seconds),
                            time.perf_counter() - paced_started))
        waiting, total = backlog(inbox_engine)
        inbox_engine.dispose()
        rates = ", ".join(f"{n / seconds:.0f}" for n, seconds in routing)
        print(f"routing: {total - waiting} of {total} recorded messages routed (tickets, replies, "
              f"task cards queued); end to end, from the first callback to the last message "
              f"routed: {rates} msg/s per round{' (the last: the paced run)' if routes else ''}",
              flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        drop_schema()
    ratios = [f / b for f, b in zip(full_thr, bare_thr, strict=True)]
    ratio = statistics.median(full_thr) / statistics.median(bare_thr)
    print(f"ratio full/bare throughput: {ratio:.2f} (target >= 0.50; per round: "
          f"{', '.join(f'{x:.2f}' for x in ratios)}); full p99 at {args.rate:.0f} msg/s: "
          f"{full_paced['rate_p99']:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    sys.exit(main())
