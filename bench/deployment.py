"""A real multi-process deployment under load, with a process of each kind killed on the way.

On PostgreSQL + Redis, in a fresh schema of the given database, starts:

* the WeCom simulator as a process of its own (``bot.py simulator``): everything GridBot sends
  goes there, with WeCom's codes and limits;
* W web processes (``bot.py serve --no-process``, default 4) behind a tiny round-robin proxy (a
  subprocess of this script: a backend that refuses the connection is skipped, as nginx skips a
  server it has marked failed; one that dies with the request in it makes a 502, which WeCom
  answers by re-delivering: ``docs/nginx-gridbot.conf`` never retries a callback upstream);
* K workers (``bot.py worker``, default 2): routing and outbox delivery;
* two schedulers (``bot.py scheduler``): the leader and a standby waiting for the leader lock.

Then drives an open-loop load of distinct residents' reports (smart-bot group messages from
enrolled residents of the four grid groups; texts from the labelled corpus that open a ticket,
no two alike enough to be merged as duplicates) through :class:`CallbackClient`, which behaves
as WeCom: it re-delivers the same bytes (same MsgId) when no answer comes within 5 s or the
answer is a 5xx, up to three deliveries; and a share of callbacks is delivered twice anyway (an
answer WeCom did not get in time), one copy shortly after the other, to another web process.
During the load it kills (SIGKILL) one web process, just after a burst of callbacks, then one
worker the moment it holds leased messages or outgoing rows — each restarted a second later —
then the leading scheduler, which is not restarted: the standby must take over. Half of each
burst comes in pairs from residents writing for the first time, so two workers may enrol one
resident at the same moment.

At the end, once the inbox and outbox are drained, it checks the database and the simulator:

* every accepted report became exactly one ticket (lost: none; doubled: none; no stray ticket);
* every ticket's dispatch card was delivered (repeats counted: a delivery is at-least-once only
  across a kill between WeCom's answer and the commit; each repeat is checked to fall in such a
  window), and what WeCom refused or silently dropped is counted apart;
* scheduled jobs ran once per slot: from both schedulers' logs (``--log-jobs``), no job ran the
  same scheduled time twice; and a notice firing every minute fired each minute once, delivered
  once per firing;
* how long the standby took to lead after the leader died; callback latency p50/p99.

    python bench/deployment.py                      # 40 s at 4 reports/s on deploy_test
    python bench/deployment.py --seconds 20 --rate 3 --database-url postgresql+psycopg://…/db

Prints the figures; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/deploy_test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
CORPUS = [ROOT / "tests/data/grid_chat_dev.csv", ROOT / "tests/data/grid_chat_test.csv"]
NOTICE_TITLE = "部署巡检通知"
WEB_KILL, WORKER_KILL, SCHEDULER_KILL = 0.2, 0.4, 0.6  # when, as fractions of the load
_MSGID = re.compile(r"dep-\d+-\d{5}")
_JOB_RUN = re.compile(r'Running job "(?P<job>[^ "]+) .*" \(scheduled at (?P<slot>[^)]+)\)')


# -- the round-robin proxy (a subprocess: ``deployment.py --proxy PORT HOST:PORT,…``) ----------


def run_proxy(port: int, backends: list[tuple[str, int]]) -> None:
    """Forward each request to the next backend; skip one that refuses the connection."""
    turn = [0]
    lock = threading.Lock()

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

        def _answer(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            with lock:
                start = turn[0]
                turn[0] += 1
            for k in range(len(backends)):
                host, bport = backends[(start + k) % len(backends)]
                conn = http.client.HTTPConnection(host, bport, timeout=10)
                try:
                    conn.connect()
                except OSError:
                    continue  # not listening: nothing was sent, the next one may take it
                try:
                    headers = {"Content-Type": self.headers.get("Content-Type", "text/plain")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    res = conn.getresponse()
                    data = res.read()
                except OSError:
                    self._answer(502)  # sent and no answer: the caller decides (WeCom retries)
                    return
                finally:
                    conn.close()
                self._answer(res.status, data, res.getheader("Content-Type") or "text/plain")
                return
            self._answer(502)

        do_GET = do_POST = _forward

    server = ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever(poll_interval=0.05)


# -- the processes -------------------------------------------------------------------------


@dataclass
class Proc:
    """One process of the deployment (restarts get a new ``popen`` and a new log file)."""

    name: str
    argv: list[str]
    logdir: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> Proc:
        self.incarnation += 1
        log = self.logdir / f"{self.name}.{self.incarnation}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=out,
                                          stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill9(self) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def log_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}{path} within {seconds:.0f} s")


def wait_log(proc: Proc, needle: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in proc.logs[-1].read_text(encoding="utf-8", errors="replace"):
            return
        if proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited: {proc.log_text()[-2000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not say {needle!r} within {seconds:.0f} s")


@contextmanager
def own_schema(server_url: str) -> Iterator[str]:
    """A fresh schema on ``server_url``'s database, dropped afterwards; yields its URL."""
    from sqlalchemy import create_engine, text

    schema = f"deploy_{os.getpid()}_{int(time.time())}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- the load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    msgid: str
    sender: str
    chat_id: str
    text: str
    at: float  # seconds after the load starts


def pick_texts(settings: Any, n: int, groups: int, seed: int) -> list[list[str]]:
    """Per group, corpus reports that open a ticket for the grid's worker (not urgent: no alert
    to the leader; not unsure: no triage), none similar enough to another of its group to be
    merged as a duplicate."""
    from cases.duplicates import THRESHOLD, similarity
    from services.container import build_services

    classifier = build_services(settings).classifier
    rows: list[str] = []
    for path in CORPUS:
        with path.open(encoding="utf-8") as f:
            rows += [r["text"] for r in csv.DictReader(f)
                     if r["label"] not in ("chatter", "faq", "other")]
    random.Random(seed).shuffle(rows)
    per_group: list[list[str]] = [[] for _ in range(groups)]
    wanted = -(-n // groups)
    for text in rows:
        c = classifier.classify(text)
        if not c.opens_ticket or c.urgent or c.unsure:
            continue
        for chosen in sorted(per_group, key=len):
            if len(chosen) < wanted and all(
                    similarity(text, other) < THRESHOLD - 0.1 for other in chosen):
                chosen.append(text)
                break
        if all(len(chosen) >= wanted for chosen in per_group):
            break
    if sum(len(c) for c in per_group) < n:
        raise SystemExit(f"the corpus has only {sum(len(c) for c in per_group)} distinct "
                         f"reports for {n}: lower --rate or --seconds")
    return per_group


@dataclass
class Sent:
    report: Report
    deliveries: list[Any] = field(default_factory=list)  # CallbackDelivery records

    @property
    def accepted(self) -> bool:
        return any(d.status == 200 for d in self.deliveries)


@dataclass
class Kill:
    kind: str
    name: str
    pid: int
    at: float  # time.time()
    restarted_at: float | None = None
    back_after: float | None = None  # seconds from the kill until the new process served
    held: tuple[int, int] = (0, 0)  # inbox and outbox rows leased to it when it died


@dataclass
class Figures:
    """What the run measured (see :func:`print_figures`)."""

    reports_sent: int = 0
    accepted: int = 0
    unanswered: int = 0
    deliveries: int = 0  # HTTP deliveries of callbacks (WeCom's retries and doubles included)
    extra_copies: int = 0  # callbacks deliberately delivered twice
    retries: int = 0  # WeCom's re-deliveries after no answer or a 5xx
    tickets: int = 0
    lost: int = 0
    doubled: int = 0
    stray_tickets: int = 0
    inbox_errors: int = 0
    cards_expected: int = 0
    cards_delivered: int = 0
    cards_missing: int = 0
    card_repeats: int = 0
    repeats_outside_kill_windows: int = 0
    other_repeats: int = 0
    acks_repeated: int = 0  # a reply URL refused as used: the resident's group copy went too
    wecom_refused: int = 0
    wecom_dropped: int = 0
    outbox_left: int = 0
    outbox_dead: int = 0
    outbox_failed: int = 0  # refused for good (e.g. a smart-bot reply URL already used)
    takeover_seconds: float | None = None  # until the standby held the leader lock
    first_job_after_kill: float | None = None  # until the new leader ran a job
    job_runs: dict[str, int] = field(default_factory=dict)
    job_slots_doubled: int = 0
    notice_runs: int = 0
    notice_slots_missed: int = 0
    notice_deliveries: int = 0
    callback_p50_ms: float = 0.0
    callback_p99_ms: float = 0.0
    drain_seconds: float = 0.0
    kills: list[Kill] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


class Deployment:
    """The processes of one run, their environment, and the run itself."""

    def __init__(self, args: argparse.Namespace, database_url: str, logdir: Path) -> None:
        from schedules.context import context_key
        from settings import load_settings

        self.args = args
        self.database_url = database_url
        self.logdir = logdir
        self.sim_port, self.proxy_port = free_port(), free_port()
        self.web_ports = [free_port() for _ in range(args.web)]
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.env = {
            **os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url,
            "WECOM_API_BASE": self.sim_url, "PYTHONUNBUFFERED": "1",
            # a corp of its own: the access token in Redis is keyed by corp and agent
            "WECOM_CORP_ID": f"wwdeploy{os.getpid()}",
        }
        self.env.pop("GRIDBOT_CONFIG", None)
        self.settings = load_settings(ROOT / "config.yaml", environ=self.env)
        self.leader_key = (f"gridbot:leader:{context_key(database_url)}:gridbot-scheduler")
        py, bot = sys.executable, str(ROOT / "bot.py")
        sched = [py, bot, "scheduler", "--log-jobs", "--lock-ttl", str(args.lock_ttl),
                 "--poll", str(args.poll)]
        self.simulator = Proc("simulator", [py, bot, "simulator", "--port", str(self.sim_port)],
                              logdir, self.env)
        self.webs = [Proc(f"web{i}", [py, bot, "serve", "--host", "127.0.0.1", "--port",
                                      str(port), "--no-process", "--threads", "8"],
                          logdir, self.env) for i, port in enumerate(self.web_ports)]
        self.workers = [Proc(f"worker{i}", [py, bot, "worker"], logdir, self.env)
                        for i in range(args.workers)]
        self.schedulers = [Proc(f"scheduler{i}", sched, logdir, self.env) for i in range(2)]
        backends = ",".join(f"127.0.0.1:{p}" for p in self.web_ports)
        self.proxy = Proc("proxy", [py, str(Path(__file__).resolve()), "--proxy",
                                    str(self.proxy_port), backends], logdir, self.env)
        self.all = [self.simulator, self.proxy, *self.webs, *self.workers, *self.schedulers]
        import redis

        self.redis = redis.Redis.from_url(args.redis_url, socket_timeout=5)
        from store.db import make_engine

        self.engine = make_engine(database_url)

    # -- start and stop ----------------------------------------------------------------------

    def start(self) -> None:
        py, bot = sys.executable, str(ROOT / "bot.py")
        subprocess.run([py, bot, "db", "upgrade"], env=self.env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        self.simulator.start()
        self.proxy.start()
        for proc in self.webs:
            proc.start()
        for proc in self.workers:
            proc.start()
        self.schedulers[0].start()
        wait_http(self.sim_port, "/_sim/deliveries")
        for port in self.web_ports:
            wait_http(port, "/healthz")
        for proc in self.workers:
            wait_log(proc, "delivering the outbox")
        self.wait_leader(exclude=None, seconds=300)
        self.schedulers[1].start()
        wait_log(self.schedulers[1], "waiting for the leader lock")
        subprocess.run(
            [py, bot, "notice", "add", "--title", NOTICE_TITLE, "--body", "每分钟一次的巡检通知",
             "--every", "* * * * *", "--chats", self.settings.groups[-1].chat_id, "--urgent"],
            env=self.env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        for proc in reversed(self.all):
            proc.stop()
        self.redis.close()
        self.engine.dispose()

    def leader_pid(self) -> int | None:
        holder = self.redis.get(self.leader_key)
        return int(holder.decode().split(":")[1]) if holder else None

    def wait_leader(self, exclude: int | None, seconds: float) -> float | None:
        """Seconds until a scheduler other than pid ``exclude`` holds the lock (None: never)."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            pid = self.leader_pid()
            if pid is not None and pid != exclude:
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    # -- the load ----------------------------------------------------------------------------

    def reports(self) -> list[Report]:
        """The load: report i is due at ``i / rate`` s, from one of ``--residents`` residents
        of its group; except a burst of ``--burst`` just before the web process and the
        worker die, sent at once, half of it in pairs from residents writing for the first
        time (two workers may then enrol the same new resident at the same moment)."""
        args = self.args
        n = int(args.rate * args.seconds)
        groups = [g for g in self.settings.groups if g.grid]
        texts = pick_texts(self.settings, n, len(groups), args.seed)
        run = f"{os.getpid()}{int(time.time()) % 10000}"
        out = []
        for i in range(n):
            g = i % len(groups)
            at = i / args.rate
            resident = f"res{run}g{g}r{(i // len(groups)) % args.residents}"
            for fraction in (WEB_KILL, WORKER_KILL):
                moment = fraction * args.seconds
                k = int(round((at - moment) * args.rate))  # place in the burst
                if 0 <= k < args.burst:
                    at = moment - 0.05
                    if (k // len(groups)) % 2 == 0:
                        continue
                    # with the report one group-round earlier: the same new resident
                    resident = f"new{run}f{fraction}k{k - len(groups)}"
                    out[i - len(groups)] = dataclasses.replace(out[i - len(groups)],
                                                               sender=resident)
            out.append(Report(f"dep-{run}-{i:05d}", resident, groups[g].chat_id,
                              texts[g][i // len(groups)], at))
        return out

    def drive(self, reports: list[Report], figures: Figures) -> list[Sent]:
        """Send the reports open-loop at ``--rate`` while the chaos thread kills processes."""
        from wecom.simulator import CallbackClient, aibot_text

        args = self.args
        rng = random.Random(args.seed)
        aibot = self.settings.aibot
        local = threading.local()

        def client() -> CallbackClient:
            if not hasattr(local, "client"):
                local.client = CallbackClient(f"http://127.0.0.1:{self.proxy_port}", aibot.token,
                                              aibot.encoding_aes_key, "", retry_on_5xx=True)
            return local.client

        sent = [Sent(r) for r in reports]
        doubles = {i for i in range(len(reports)) if rng.random() < args.double_share}
        figures.extra_copies = len(doubles)

        def send(i: int) -> None:
            report = reports[i]
            payload = aibot_text(report.sender, report.chat_id, report.text, msgid=report.msgid,
                                 response_url=f"{self.sim_url}/cgi-bin/aibot/response?"
                                              f"response_code={report.msgid}")
            c = client()
            body, params, ctype = c.sealed(json.dumps(payload, ensure_ascii=False),
                                           json_envelope=True)
            sent[i].deliveries.append(c.deliver("/wecom/aibot", body, params, ctype))
            if i in doubles:  # WeCom did not get the answer in time: the same bytes again
                time.sleep(rng.uniform(0.0, 1.5))
                sent[i].deliveries.append(c.deliver("/wecom/aibot", body, params, ctype))

        order = sorted(range(len(reports)), key=lambda i: reports[i].at)
        started = time.monotonic()
        chaos = threading.Thread(target=self.chaos, args=(figures, started), name="chaos")
        chaos.start()
        with ThreadPoolExecutor(max_workers=48) as pool:
            for i in order:
                delay = started + reports[i].at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, i)
        chaos.join()
        return sent

    def leases_of(self, pid: int) -> tuple[int, int]:
        """(inbox rows, outbox rows) leased now to the process ``pid``."""
        from sqlalchemy import func, select

        from store.clock import utcnow
        from store.models import InboundMessage, OutboxMessage

        holder = f"%:{pid}:%"
        with self.engine.connect() as c:
            inbox = c.execute(select(func.count()).where(
                InboundMessage.status == "received", InboundMessage.locked_by.like(holder),
                InboundMessage.locked_until > utcnow())).scalar_one()
            outbox = c.execute(select(func.count()).where(
                OutboxMessage.status == "pending", OutboxMessage.locked_by.like(holder),
                OutboxMessage.locked_until > utcnow())).scalar_one()
        return int(inbox), int(outbox)

    def chaos(self, figures: Figures, t0: float) -> None:
        """Kill a web process, then a worker (each restarted a second later), then the leading
        scheduler (not restarted: the standby must lead)."""
        seconds = self.args.seconds

        def at(fraction: float) -> None:
            time.sleep(max(0.0, t0 + fraction * seconds - time.monotonic()))

        for fraction, proc, kind in ((WEB_KILL, self.webs[1], "web"),
                                     (WORKER_KILL, self.workers[0], "worker")):
            at(fraction)
            held = (0, 0)
            if kind == "worker":  # the moment it holds leases (within 5 s)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not any(held := self.leases_of(proc.pid)):
                    time.sleep(0.01)
            kill = Kill(kind, proc.name, proc.pid, time.time(), held=held)
            proc.kill9()
            figures.kills.append(kill)
            time.sleep(1.0)
            proc.start()
            kill.restarted_at = time.time()
        at(SCHEDULER_KILL)
        leader = self.leader_pid()
        victim = next((p for p in self.schedulers if p.pid == leader), None)
        if victim is None:
            figures.problems.append(f"no scheduler leads (lock holder pid {leader})")
            return
        figures.kills.append(Kill("scheduler", victim.name, victim.pid, time.time()))
        victim.kill9()
        figures.takeover_seconds = self.wait_leader(exclude=victim.pid,
                                                    seconds=self.args.lock_ttl * 3 + 30)
        if figures.takeover_seconds is None:
            figures.problems.append("the standby scheduler did not take over")

    def back_up(self, figures: Figures) -> None:
        """Wait for the restarted web process and worker to serve again; note how long."""
        for kill in figures.kills:
            if kill.restarted_at is None:
                continue
            proc = next(p for p in self.all if p.name == kill.name)
            if kill.kind == "web":
                wait_http(self.web_ports[self.webs.index(proc)], "/healthz")
            else:
                wait_log(proc, "delivering the outbox")
            kill.back_after = time.time() - kill.at

    # -- the end -----------------------------------------------------------------------------

    def drain(self, seconds: float) -> float:
        """Wait until nothing is left to route or to send; the seconds it took."""
        from sqlalchemy import func, select

        from store.models import InboundMessage, OutboxMessage

        started = time.monotonic()
        while time.monotonic() - started < seconds:
            with self.engine.connect() as c:
                waiting = c.execute(select(func.count()).where(
                    InboundMessage.status == "received")).scalar_one()
                unsent = c.execute(select(func.count()).where(
                    OutboxMessage.status == "pending")).scalar_one()
            if not waiting and not unsent:
                break
            time.sleep(0.5)
        return time.monotonic() - started

    def wait_notice_after(self, moment: float, seconds: float) -> None:
        """Wait until the notice has fired a slot later than ``moment`` (the new leader's)."""
        from sqlalchemy import func, select

        from store.notice_models import NoticeRun

        deadline = time.monotonic() + seconds
        after = datetime.fromtimestamp(moment, tz=UTC)
        while time.monotonic() < deadline:
            with self.engine.connect() as c:
                if c.execute(select(func.count()).where(NoticeRun.fired_at > after)
                             ).scalar_one():
                    return
            time.sleep(1.0)

    def sim(self, path: str) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.sim_port, timeout=30)
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())

    def verify(self, sent: list[Sent], figures: Figures) -> None:
        from sqlalchemy import func, select

        from notify.tickets import ticket_number_of
        from store.models import InboundMessage, OutboxMessage, Person, Ticket
        from store.notice_models import Notice, NoticeRun

        figures.reports_sent = len(sent)
        figures.accepted = sum(s.accepted for s in sent)
        figures.unanswered = sum(not s.accepted for s in sent)
        figures.deliveries = sum(a.status is not None for s in sent for d in s.deliveries
                                 for a in d.attempts)
        figures.retries = sum(d.count - 1 for s in sent for d in s.deliveries)
        latencies = [a.elapsed for s in sent for d in s.deliveries for a in d.attempts
                     if a.status is not None]
        figures.callback_p50_ms, figures.callback_p99_ms = pct(latencies, 50), pct(latencies, 99)

        with self.engine.connect() as c:
            rows = c.execute(select(Ticket.id, InboundMessage.dedup_key, Person.userid,
                                    Ticket.dispatched_at)
                             .join(InboundMessage, Ticket.source_message_id == InboundMessage.id,
                                   isouter=True)
                             .join(Person, Ticket.assignee_id == Person.id, isouter=True)).all()
            figures.inbox_errors = c.execute(select(func.count()).where(
                InboundMessage.status == "error")).scalar_one()
            figures.outbox_left = c.execute(select(func.count()).where(
                OutboxMessage.status == "pending")).scalar_one()
            figures.outbox_failed = c.execute(select(func.count()).where(
                OutboxMessage.status == "failed")).scalar_one()
            figures.outbox_dead = c.execute(select(func.count()).where(
                OutboxMessage.status == "dead")).scalar_one()
            notice_id = c.execute(select(Notice.id).where(Notice.title == NOTICE_TITLE)
                                  ).scalar_one()
            created = c.execute(select(Notice.created_at).where(Notice.id == notice_id)
                                ).scalar_one()
            slots = sorted(c.execute(select(NoticeRun.scheduled_for).where(
                NoticeRun.notice_id == notice_id)).scalars())

        # tickets: one per accepted report
        tickets_of: dict[str, list[int]] = defaultdict(list)
        for ticket_id, dedup_key, _assignee, _at in rows:
            tickets_of[dedup_key or ""].append(ticket_id)
        msgids = {s.report.msgid for s in sent}
        per_report: Counter[str] = Counter()
        for key, ticket_ids in tickets_of.items():
            found = _MSGID.search(key)
            msgid = found.group(0) if found else None
            if msgid not in msgids:
                figures.stray_tickets += len(ticket_ids)
            else:
                per_report[msgid] += len(ticket_ids)
        figures.tickets = len(rows)
        figures.lost = sum(1 for s in sent if s.accepted and per_report[s.report.msgid] == 0)
        figures.doubled = sum(1 for n in per_report.values() if n > 1)

        # what WeCom delivered
        delivering_kills = [k.at for k in figures.kills if k.kind in ("worker", "scheduler")]
        deliveries = self.sim("/_sim/deliveries")["items"]
        figures.wecom_dropped = len(self.sim("/_sim/dropped")["items"])
        calls = self.sim("/_sim/calls")["items"]
        figures.wecom_refused = sum(1 for call in calls if call["errcode"] not in (0, None)
                                    and "gettoken" not in call["path"])
        # a reply URL used twice: the first use got through, by a process that died before it
        # could record so; the row fails for good and the resident's group copy goes out too
        answered = {item["target"]: item["at"] for item in deliveries
                    if item["channel"] == "response_url"}
        refused_codes = {call["params"].get("response_code") for call in calls
                         if call["path"].endswith("aibot/response") and call["errcode"]}
        for code in refused_codes & answered.keys():
            figures.acks_repeated += 1
            if not any(answered[code] <= k <= answered[code] + 15 for k in delivering_kills):
                figures.repeats_outside_kill_windows += 1
        cards: dict[int, list[dict[str, Any]]] = defaultdict(list)
        seen: Counter[str] = Counter()
        notice_deliveries = 0
        for item in deliveries:
            card = item["body"].get("template_card") if item["msgtype"] == "template_card" else None
            if card and "-dispatch-" in str(card.get("task_id")):
                number = ticket_number_of(str(card["task_id"]))
                if number is not None:
                    cards[number].append(item)
                continue
            if NOTICE_TITLE in item["content"]:
                notice_deliveries += 1
                continue
            seen[json.dumps([item["channel"], item["target"], item["body"]], sort_keys=True,
                            ensure_ascii=False)] += 1
        figures.other_repeats = sum(n - 1 for n in seen.values() if n > 1)
        dispatched = [r for r in rows if r[3] is not None]
        figures.cards_expected = len(dispatched)
        figures.cards_delivered = sum(len(cards[r[0]]) for r in dispatched)
        figures.cards_missing = sum(1 for r in dispatched if not cards[r[0]])
        for items in cards.values():
            if len(items) > 1:
                figures.card_repeats += len(items) - 1
                first = items[0]["at"]
                # a repeat is the price of a kill between WeCom's answer and the commit
                if not any(first <= k <= first + 15 for k in delivering_kills):
                    figures.repeats_outside_kill_windows += 1

        # the notice firing every minute: each minute from creation to the end, once
        figures.notice_runs = len(slots)
        figures.notice_deliveries = notice_deliveries
        if slots:
            minutes = {s.replace(second=0, microsecond=0) for s in slots}
            first = created.replace(second=0, microsecond=0)
            last = max(minutes)
            expected = int((last - first).total_seconds() // 60)
            figures.notice_slots_missed = max(0, expected - len(minutes))

        # the scheduled jobs, from both schedulers' logs
        runs: Counter[tuple[str, str]] = Counter()
        for proc in self.schedulers:
            for match in _JOB_RUN.finditer(proc.log_text()):
                runs[(match["job"], match["slot"])] += 1
        figures.job_runs = dict(Counter(job for job, _slot in runs.elements()))
        figures.job_slots_doubled = sum(n - 1 for n in runs.values() if n > 1)
        # the new leader's first job run after the kill (log times are this host's local time)
        kill = next((k for k in figures.kills if k.kind == "scheduler"), None)
        if kill is not None:
            for proc in self.schedulers:
                if proc.incarnation and proc.pid != kill.pid:
                    for line in proc.log_text().splitlines():
                        if "Running job" in line:
                            at = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
                            at += int(line[20:23]) / 1000
                            if at > kill.at:
                                figures.first_job_after_kill = at - kill.at
                                break

    def check(self, figures: Figures) -> None:
        f = figures
        for ok, what in (
            (f.unanswered == 0, f"{f.unanswered} reports never answered"),
            (f.lost == 0, f"{f.lost} accepted reports became no ticket"),
            (f.doubled == 0, f"{f.doubled} reports became more than one ticket"),
            (f.stray_tickets == 0, f"{f.stray_tickets} tickets from no report"),
            (f.inbox_errors == 0, f"{f.inbox_errors} messages failed in routing"),
            (f.cards_missing == 0, f"{f.cards_missing} dispatch cards never delivered"),
            (f.repeats_outside_kill_windows == 0,
             f"{f.repeats_outside_kill_windows} cards repeated with no kill to explain it"),
            (f.outbox_left == 0, f"{f.outbox_left} outbox rows left unsent"),
            (f.outbox_dead == 0, f"{f.outbox_dead} outbox rows dead"),
            (f.takeover_seconds is not None, "the standby did not take over"),
            (f.job_slots_doubled == 0, f"{f.job_slots_doubled} job slots ran twice"),
            (f.notice_deliveries == f.notice_runs,
             f"notice: {f.notice_runs} runs but {f.notice_deliveries} deliveries"),
            (f.notice_slots_missed == 0, f"notice: {f.notice_slots_missed} minutes not fired"),
        ):
            if not ok:
                f.problems.append(what)


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> Figures:
    """Start the deployment, load it, kill, verify; the figures (``problems`` lists failures)."""
    figures = Figures()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="gridbot-deploy-"))
    logdir.mkdir(parents=True, exist_ok=True)
    with own_schema(args.database_url) as database_url:
        deployment = Deployment(args, database_url, logdir)
        try:
            reports = deployment.reports()
            t = time.monotonic()
            deployment.start()
            out(f"deployment up in {time.monotonic() - t:.1f} s: simulator, proxy, "
                f"{args.web} web, {args.workers} workers, 2 schedulers (logs: {logdir})")
            sent = deployment.drive(reports, figures)
            deployment.back_up(figures)
            figures.drain_seconds = deployment.drain(args.drain)
            if args.notice_after_takeover and figures.kills:
                deployment.wait_notice_after(figures.kills[-1].at, 75)
                deployment.drain(args.drain)
            deployment.verify(sent, figures)
            deployment.check(figures)
        finally:
            deployment.stop()
    return figures


def print_figures(f: Figures, out: Callable[[str], None] = print) -> None:
    kills = "; ".join(
        f"{k.kind} {k.name} at {datetime.fromtimestamp(k.at).strftime('%H:%M:%S')}"
        + (f" holding {k.held[0]} inbox + {k.held[1]} outbox leases" if k.kind == "worker"
           else "")
        + (f", serving again after {k.back_after:.1f} s" if k.back_after else "")
        for k in f.kills)
    takeover = f"{f.takeover_seconds:.2f} s" if f.takeover_seconds is not None else "never"
    jobs = ", ".join(f"{job} {n}" for job, n in sorted(f.job_runs.items()))
    for line in (
        f"reports sent: {f.reports_sent} ({f.deliveries} HTTP deliveries: {f.extra_copies} "
        f"delivered twice on purpose, {f.retries} WeCom retries after no answer or a 5xx); "
        f"accepted {f.accepted}, never answered {f.unanswered}",
        f"tickets: {f.tickets}; lost {f.lost}, doubled {f.doubled}, from no report "
        f"{f.stray_tickets}; routing errors {f.inbox_errors}",
        f"dispatch cards: {f.cards_expected} expected, {f.cards_delivered} delivered, missing "
        f"{f.cards_missing}, repeats {f.card_repeats} (outside a kill's window: "
        f"{f.repeats_outside_kill_windows}); other messages repeated: {f.other_repeats}; "
        f"acknowledgements repeated (reply URL already used): {f.acks_repeated}",
        f"WeCom side: refused {f.wecom_refused} calls, silently dropped {f.wecom_dropped}; "
        f"outbox left {f.outbox_left}, refused for good {f.outbox_failed}, dead {f.outbox_dead}; "
        f"drained in {f.drain_seconds:.1f} s",
        f"kills: {kills}",
        f"standby scheduler took over in {takeover}"
        + (f", ran its first job {f.first_job_after_kill:.2f} s after the kill"
           if f.first_job_after_kill is not None else ""),
        f"scheduled jobs: runs {jobs}; slots run twice {f.job_slots_doubled}; notice every "
        f"minute: {f.notice_runs} runs, {f.notice_deliveries} delivered, {f.notice_slots_missed} "
        f"minutes missed",
        f"callback latency: p50 {f.callback_p50_ms:.1f} ms, p99 {f.callback_p99_ms:.1f} ms",
    ):
        out(line)
    out("OK" if not f.problems else "PROBLEMS: " + "; ".join(f.problems))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DEPLOY_DATABASE_URL",
                                                            DEFAULT_DATABASE),
                   help="a PostgreSQL database; the run uses a fresh schema in it")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS)
    p.add_argument("--seconds", type=float, default=40.0, help="length of the load")
    p.add_argument("--rate", type=float, default=4.0, help="reports per second")
    p.add_argument("--residents", type=int, default=10, help="residents per group")
    p.add_argument("--burst", type=int, default=8,
                   help="callbacks sent at once just before the web and the worker die")
    p.add_argument("--double-share", type=float, default=0.1,
                   help="share of callbacks delivered twice (same MsgId)")
    p.add_argument("--web", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--lock-ttl", type=float, default=6.0,
                   help="schedulers' leader lock TTL (the standby's takeover time)")
    p.add_argument("--poll", type=float, default=0.5, help="standby's lock polling (seconds)")
    p.add_argument("--drain", type=float, default=240.0, help="at most this long to drain")
    p.add_argument("--no-notice-wait", dest="notice_after_takeover", action="store_false",
                   help="do not wait (up to a minute) for the notice to fire under the new "
                        "leader")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--logdir", default=None, help="process logs (default: a temporary folder)")
    return p


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--proxy"]:
        run_proxy(int(argv[1]), [(h, int(p)) for h, p in
                                 (b.rsplit(":", 1) for b in argv[2].split(","))])
        return 0
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the processes and drop the schema
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("a PostgreSQL database is needed (--database-url)")
    print(f"GridBot deployment: {args.web} web, {args.workers} workers, 2 schedulers, "
          f"{args.rate:g} reports/s for {args.seconds:g} s, {os.cpu_count()} cores", flush=True)
    figures = run(args, out=lambda line: print(line, flush=True))
    print_figures(figures)
    return 1 if figures.problems else 0


if __name__ == "__main__":
    sys.exit(main())
