"""End to end on one host: residents' reports in, tickets and dispatch cards out, under floods.

One host as the README deploys it: ``bot.py serve`` (callbacks; routing in its router process,
or ``--router thread``) and ``bot.py scheduler`` (outbox delivery), sending to the WeCom
simulator (a process of its own, WeCom's per-member caps lifted: the sample township has four
grid workers, who would otherwise get 30 cards a minute). ``--workers N`` adds N ``bot.py worker``
processes (routing only) beside them.

For each offered rate (default 50, 100, 200, 400 msg/s) the bench sends DISTINCT resident
reports — real grid-chat and complaint texts, each given its own address and detail — from
registered residents (their grid known, so each report opens a ticket and a dispatch card goes
to the grid's worker) as signed, encrypted app callbacks, open loop, for ``--seconds`` each;
then it waits until the backlog is routed and every queued message has reached the simulator.

Printed per rate: offered and achieved callback rate, callback p50/p99, messages routed per
second during the load (and the slowest 5-second window), the routing rate after the load (no
callbacks; delivery still at work), their ratio, the backlog at the end of the load, the seconds
until it was routed, and until every queued message (dispatch cards included) had reached the
simulator. Last, per database, routing's best rate (during or after any load: its own maximum
on this host) and what share of it routing kept during each load.

    python bench/end_to_end.py --seconds 20                     # SQLite and PostgreSQL
    python bench/end_to_end.py --database pg --workers 1 --seconds 20
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402
from callback_load import bench_database, free_port, pct, run_load, wait_for  # noqa: E402
from seeding import PG_DEFAULT  # noqa: E402

from wecom import crypto  # noqa: E402
from wecom.simulator.payloads import app_text, to_xml  # noqa: E402

DATA = [ROOT / "tests/data/grid_chat_dev.csv", ROOT / "tests/data/grid_chat_test.csv",
        ROOT / "tests/data/grid_messages.csv", Path("/work/shared/data/tipdm2020c_titles_dev.csv")]
NOT_REPORTS = {"chatter", "faq", "other", "label"}
ESTATES = ["东顺苑", "西湖小区", "幸福里", "锦绣花园", "盐州新村", "花马池小区", "南关社区", "振兴家园"]
WHEN = ["", "今天早上", "昨天晚上", "这几天", "已经一个星期了，", "刚才", "周末", "最近"]
ASK = ["", "，麻烦尽快处理", "，请网格员来看看", "，谢谢", "，希望有人管管", "，急！"]
RESIDENTS = 3000
SIMULATOR = '''
import sys, time
sys.path.insert(0, {root!r})
from wecom.simulator import SimulatorState
from wecom.simulator.app import create_simulator_app
from waitress import serve
state = SimulatorState(corp_id={corp!r}, secret={secret!r}, agent_id={agent!r},
                       member_per_minute=10**9, member_per_hour=10**9, robot_per_minute=10**9)
serve(create_simulator_app(state), host="127.0.0.1", port={port}, threads=8, _quiet=True)
'''


def base_reports() -> list[str]:
    """Resident reports of every category: labelled grid-chat messages and complaint titles."""
    texts = []
    for path in DATA:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("label") not in NOT_REPORTS and len(row.get("text", "")) >= 6:
                    texts.append(row["text"].strip())
    return texts


def distinct_reports(n: int, seed: int, taken: set[str]) -> list[str]:
    """``n`` reports none of which was sent before: a base text with its own place and detail."""
    rng = random.Random(seed)
    bases = base_reports()
    out: list[str] = []
    while len(out) < n:
        place = (f"{rng.choice(ESTATES)}{rng.randint(1, 40)}栋{rng.randint(1, 6)}单元"
                 f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}")
        text = f"{rng.choice(WHEN)}{rng.choice(bases)}{rng.choice(ASK)}（{place}）"
        if text not in taken:
            taken.add(text)
            out.append(text)
    return out


def signed_requests(texts: list[str], senders: list[str], w, tag: str):  # type: ignore[no-untyped-def]
    out = []
    for i, text in enumerate(texts):
        fields = {"ToUserName": w.corp_id, **app_text(senders[i], text, msg_id=f"{tag}{i}"),
                  "AgentID": w.agent_id}
        encrypted = crypto.encrypt(w.encoding_aes_key, to_xml(fields), w.corp_id)
        ts, nonce = crypto.timestamp(), crypto.nonce()
        query = urlencode({"msg_signature": crypto.sign(w.token, ts, nonce, encrypted),
                           "timestamp": ts, "nonce": nonce})
        body = (f"<xml><ToUserName><![CDATA[{w.corp_id}]]></ToUserName><Encrypt><![CDATA["
                f"{encrypted}]]></Encrypt></xml>")
        out.append((f"/wecom/callback?{query}", body.encode()))
    return out


def seed_residents(database_url: str) -> list[str]:
    """Registered residents spread over the sample township's grids (their reports dispatch)."""
    from sqlalchemy import insert, select

    from store.db import make_engine
    from store.models import Grid, Person

    engine = make_engine(database_url)
    with engine.begin() as connection:
        grids = list(connection.scalars(select(Grid.id).where(Grid.level == "grid")))
        rows = [{"userid": f"res{n:05d}", "name": f"居民{n}", "role": "resident",
                 "grid_id": grids[n % len(grids)], "active": True, "enrolled_via": "app",
                 "app_reachable": True} for n in range(RESIDENTS)]
        connection.execute(insert(Person), rows)
    engine.dispose()
    return [row["userid"] for row in rows]


class Inbox:
    """The bench's read-only view of the inbox and the outbox."""

    def __init__(self, database_url: str) -> None:
        from store.db import make_engine

        self.engine = make_engine(database_url)

    def counts(self) -> tuple[int, int, int]:
        """(received, routed, outgoing messages not yet sent)."""
        from sqlalchemy import func, select

        from store.models import InboundMessage, OutboxMessage

        with self.engine.connect() as connection:
            by_status = dict(connection.execute(
                select(InboundMessage.status, func.count()).group_by(InboundMessage.status)).all())
            unsent = connection.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_(("pending", "failed")))) or 0
        received = by_status.get("received", 0)
        return received, sum(by_status.values()) - received, unsent


CPU_GROUPS = (("--wake-stdin", "router"), (" serve", "callbacks"), (" worker", "workers"),
              (" scheduler", "scheduler"), ("simulator.py", "simulator"), ("postgres", "postgres"))


def cpu_by_group(bench_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the processes of the host, grouped by their part: serve's
    callbacks, its router process, extra workers, the scheduler, the simulator, PostgreSQL and
    the bench itself (the residents' side: signing is done before, sending is not)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == bench_pid:
            group = "bench"
        elif "postgres" in cmdline and "bot.py" not in cmdline:
            group = "postgres"
        elif "bot.py" in cmdline or "simulator.py" in cmdline:
            group = next((name for mark, name in CPU_GROUPS if mark in cmdline), "other")
        else:
            continue
        totals[group] = totals.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def simulator_cards(port: int, since: int) -> tuple[int, int]:
    """(template cards delivered since the cursor ``since``, the next cursor)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/_sim/deliveries?since={since}")
    data = json.loads(conn.getresponse().read())
    cards = sum(1 for item in data["items"] if item["msgtype"] == "template_card")
    return cards, data["next"]


def run_rate(rate: float, args, w, senders, inbox, sim_port, port, taken, cursor):  # type: ignore[no-untyped-def]
    n = int(rate * args.seconds)
    texts = distinct_reports(n, seed=int(rate), taken=taken)
    chosen = [senders[(int(rate) * 7 + i) % len(senders)] for i in range(n)]
    requests = signed_requests(texts, chosen, w, f"e2e{int(rate)}r")
    _, routed_before, _ = inbox.counts()
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter(), inbox.counts()[1]))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    cpu_before = cpu_by_group(os.getpid())
    started = time.perf_counter()
    sampler.start()
    wall, latencies, errors = run_load(port, requests, args.concurrency, rate)
    load_end = time.perf_counter()
    cpu_after = cpu_by_group(os.getpid())
    stop.set()
    sampler.join()
    backlog, routed_at_end, _ = inbox.counts()
    routed_in_load = routed_at_end - routed_before
    # the router alone: the drain after the load
    drain_started = time.perf_counter()
    drained_at = None
    while time.perf_counter() - drain_started < args.drain_timeout:
        received, routed, unsent = inbox.counts()
        if received == 0 and drained_at is None:
            drained_at = time.perf_counter()
        if received == 0 and unsent == 0:
            break
        time.sleep(0.2)
    drained = received == 0 and unsent == 0
    delivered_at = time.perf_counter()
    cards, cursor = simulator_cards(sim_port, cursor)
    drain_seconds = (drained_at or delivered_at) - drain_started
    alone = backlog / drain_seconds if backlog and drain_seconds > 0.5 else None
    windows = []
    for (t0, r0), (t1, r1) in zip(samples, samples[5:], strict=False):
        windows.append((r1 - r0) / (t1 - t0))
    during = routed_in_load / (load_end - started)
    result = {
        "rate": rate, "sent": len(requests), "achieved": len(requests) / wall, "errors": errors,
        "p50": pct(latencies, 50), "p99": pct(latencies, 99), "routed_per_s": during,
        "slowest_window": min(windows) if windows else during, "alone_per_s": alone,
        "backlog": backlog, "drained_s": drain_seconds, "cards": cards,
        "cards_s": delivered_at - load_end, "drained": drained,
        "cpu": {group: (cpu_after[group] - cpu_before.get(group, 0.0)) / (load_end - started)
                for group in sorted(cpu_after)},
    }
    return result, cursor


def warm_up(port, w, senders, inbox, log_path: Path, routers: int) -> None:  # type: ignore[no-untyped-def]
    """Wait for every routing process to start, then route a few reports (loads the classifier
    and the caches), so that the first rate measures routing, not start-up."""
    deadline = time.monotonic() + 300
    while log_path.read_text(encoding="utf-8").count("routing the inbox") < routers:
        if time.monotonic() > deadline:
            raise SystemExit("the routing processes did not start")
        time.sleep(0.2)
    texts = distinct_reports(20, seed=1, taken=set())
    run_load(port, signed_requests(texts, senders[-20:], w, "warm"), 4, None)
    while inbox.counts()[0] or inbox.counts()[2]:
        if time.monotonic() > deadline:
            raise SystemExit("the warm-up messages were not routed")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load per offered rate")
    parser.add_argument("--rates", default="50,100,200,400", help="offered msg/s, comma list")
    parser.add_argument("--database", choices=("sqlite", "pg", "both"), default="both")
    parser.add_argument("--database-url", default=PG_DEFAULT, help="PostgreSQL server")
    parser.add_argument("--workers", type=int, default=0,
                        help="extra `bot.py worker` routing processes (PostgreSQL)")
    parser.add_argument("--router", choices=("process", "thread"), default="process",
                        help="serve's router (default: its router process)")
    parser.add_argument("--request-nice", type=int, default=None,
                        help="serve's server.request_nice (default: config.yaml's)")
    parser.add_argument("--serve-threads", type=int, default=None,
                        help="serve's request threads (default: config.yaml's server.threads)")
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    databases = ["sqlite", "pg"] if args.database == "both" else [args.database]
    print(f"GridBot end to end: offered {', '.join(f'{r:.0f}' for r in rates)} msg/s for "
          f"{args.seconds:.0f} s each, serve (router: {args.router}) + scheduler + simulator"
          f"{f' + {args.workers} worker(s)' if args.workers else ''}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    for database in databases:
        if database == "pg" or args.workers == 0:
            run_database(database, rates, args)
        else:
            print("sqlite: --workers applies to PostgreSQL only; running without", flush=True)
            run_database(database, rates, argparse.Namespace(**{**vars(args), "workers": 0}))
    return 0


def run_database(database: str, rates: list[float], args) -> None:  # type: ignore[no-untyped-def]
    from settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="gridbot-e2e-"))
    database_url, drop = bench_database(args.database_url if database == "pg" else None, tmp)
    sim_port, port = free_port(), free_port()
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["wecom"]["limits"].update(member_per_minute=10**9, member_per_hour=10**9,
                                  robot_per_minute=10**9)
    raw["wecom"]["api_base"] = f"http://127.0.0.1:{sim_port}"
    if args.request_nice is not None:
        raw.setdefault("server", {})["request_nice"] = args.request_nice
    if args.serve_threads is not None:
        raw.setdefault("server", {})["threads"] = args.serve_threads
    for key in ("classifier", "faq"):  # relative paths: beside the sample config
        if isinstance(raw.get(key), dict):
            for name, value in raw[key].items():
                if isinstance(value, str) and not value.startswith("/"):
                    candidate = ROOT / value
                    if candidate.exists():
                        raw[key][name] = str(candidate)
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    settings = load_settings(config, environ={})
    w = settings.wecom
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1",
           "GRIDBOT_CONFIG": str(config)}
    for name in ("WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_CORP_ID", "WECOM_API_BASE"):
        env.pop(name, None)
    bot = [sys.executable, str(ROOT / "bot.py"), "--config", str(config)]
    subprocess.run([*bot, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    senders = seed_residents(database_url)
    log = (tmp / "server.log").open("w")
    procs: list[subprocess.Popen[bytes]] = []
    sim_file = tmp / "simulator.py"
    sim_file.write_text(SIMULATOR.format(root=str(ROOT), corp=w.corp_id, secret=w.secret,
                                         agent=w.agent_id, port=sim_port))
    try:
        procs.append(subprocess.Popen([sys.executable, str(sim_file)], env=env))
        procs.append(subprocess.Popen(
            [*bot, "serve", "--host", "127.0.0.1", "--port", str(port), "--router", args.router],
            env=env, stdout=log, stderr=log))
        procs.append(subprocess.Popen([*bot, "scheduler"], env=env, stdout=log, stderr=log))
        for _ in range(args.workers):
            procs.append(subprocess.Popen([*bot, "worker", "--threads", "0"], env=env,
                                          stdout=log, stderr=log))
        wait_for(port, "/healthz")
        inbox = Inbox(database_url)
        routers = (1 if args.router == "process" else 0) + args.workers
        warm_up(port, w, senders, inbox, tmp / "server.log", routers)
        print(f"{database}: {len(senders)} residents; rate  achieved  p50 ms  p99 ms  routed/s "
              f"(slowest 5 s)  after/s  during/after  backlog  routed-after s  cards  "
              f"cards-after s", flush=True)
        taken: set[str] = set()
        cursor = 0
        results = []
        for rate in rates:
            result, cursor = run_rate(rate, args, w, senders, inbox, sim_port, port, taken,
                                      cursor)
            alone = result["alone_per_s"]
            ratio = f"{result['routed_per_s'] / alone:.2f}" if alone else "  -  "
            print(f"{database:6s} {rate:5.0f} {result['achieved']:8.1f} {result['p50']:7.1f} "
                  f"{result['p99']:7.1f} {result['routed_per_s']:9.1f} "
                  f"({result['slowest_window']:6.1f}) {alone or 0:8.1f} {ratio:>12s} "
                  f"{result['backlog']:8d} {result['drained_s']:14.1f} {result['cards']:6d} "
                  f"{result['cards_s']:13.1f}"
                  f"{'  non-200: ' + str(result['errors']) if result['errors'] else ''}",
                  flush=True)
            print(f"{'':6s} {'':5s} CPU during the load (cores): " + ", ".join(
                f"{group} {share:.2f}" for group, share in result["cpu"].items()), flush=True)
            results.append(result)
        best = max([r["routed_per_s"] for r in results]
                   + [r["alone_per_s"] or 0 for r in results])
        shares = ", ".join(f"{r['rate']:.0f}: {r['routed_per_s'] / best:.2f}" for r in results)
        drained = all(r["drained"] for r in results)
        print(f"{database}: routing's best rate {best:.1f} msg/s; routed during each load as a "
              f"share of it: {shares}; "
              f"{'every backlog routed and every message delivered after each load' if drained else 'NOT DRAINED within --drain-timeout after some load'}",
              flush=True)
        inbox.engine.dispose()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
        drop()
        print(f"{database}: server log {tmp / 'server.log'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
