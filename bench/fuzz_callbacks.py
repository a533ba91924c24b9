"""Fuzz the WeCom callbacks of a running ``serve``: mutated, validly signed requests of every kind.

Starts ``bot.py serve`` (its log to a file) on a temporary SQLite file or a fresh schema of the
given PostgreSQL server — or targets one already running (``--url``, with ``--log`` and
``--database-url`` to inspect) — and sends N requests, each unique, from a seeded mix:

* the app's XML: text, image, voice, location, link, events (enter_agent, click, LOCATION,
  template_card_event), unknown message types and unknown events;
* the smart bot's JSON: text, mixed, image, voice, events, unknown message types and events;
* mutations of those, then encrypted and signed as WeCom would: fields of the wrong type, deep
  nesting, NaN and Infinity, lone surrogates, NUL, huge MsgIds, over-long user and chat ids,
  over-long text, dropped fields, flipped characters, a message for another corp;
* unsigned garbage: nested brackets, random bytes, wrong signatures, XML entities.

Then waits for ``serve`` to route what it accepted, and prints the count of each status code (by
kind of request), the tracebacks in the server's log, whether the server is still alive, and the
rows recorded for refused requests. The goal: no 5xx, no traceback, alive, no row for a refused
request and one for each accepted one.

    python bench/fuzz_callbacks.py                      # N=5000 on SQLite
    python bench/fuzz_callbacks.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_load import bench_database, free_port, wait_for  # noqa: E402
from settings import load_settings  # noqa: E402
from wecom.simulator import (  # noqa: E402
    CallbackClient,
    aibot_text,
    app_event,
    app_image,
    app_link,
    app_location,
    app_text,
    app_voice,
    template_card_click,
    to_xml,
)

TEXTS = ["我家门口的下水道堵了，污水都冒到路面上了", "小区门口的路灯坏了好几天了", "收到",
         "城乡居民医保怎么交费", "查询 12", "接单 3", "帮助", "/whatever", "查询 13912345678"]


@dataclass(frozen=True)
class Request:
    """One request to send, and what identifies its message (for the row accounting)."""

    kind: str
    path: str
    body: bytes
    params: dict[str, str]
    content_type: str
    dedup_key: str | None = None  # the key its row would have, when the mutation kept it


class Fuzzer:
    """Builds the seeded mix of requests; ``request(i)`` is the i-th, unique by ``i``."""

    def __init__(self, rng: random.Random, app: CallbackClient, aibot: CallbackClient,
                 run: str) -> None:
        self.rng = rng
        self.app = app
        self.aibot = aibot
        self.run = run

    # -- bases ------------------------------------------------------------------------------

    def _text(self, i: int) -> str:
        return f"{self.rng.choice(TEXTS)} {self.run}-{i}"

    def app_base(self, i: int) -> tuple[str, dict[str, Any]]:
        user = self.rng.choice(["zhangsan", "lisi", "lijuan", "stranger01"])
        msg_id = 7_000_000_000_000_000_000 + int(self.run) * 1_000_000 + i
        kind = self.rng.choice(["text", "text", "image", "voice", "location", "link", "event",
                                "click", "LOCATION", "template_card_event", "unknown_msgtype",
                                "unknown_event"])
        fields: dict[str, Any] = {
            "text": lambda: app_text(user, self._text(i), msg_id=msg_id),
            "image": lambda: app_image(user, msg_id=msg_id),
            "voice": lambda: {**app_voice(user, msg_id=msg_id), "Recognition": self._text(i)},
            "location": lambda: app_location(user, 37.78, 107.39, "东顺苑", msg_id=msg_id),
            "link": lambda: app_link(user, "停水通知", "明天停水", "https://example.org/n",
                                     msg_id=msg_id),
            "event": lambda: app_event(user, "enter_agent"),
            "click": lambda: app_event(user, "click", "帮助"),
            "LOCATION": lambda: app_event(user, "LOCATION", Latitude="37.7", Longitude="107.3",
                                          Precision="15.0"),
            "template_card_event": lambda: template_card_click(user, f"task-{i}", "接单 1"),
            "unknown_msgtype": lambda: {**app_text(user, "", msg_id=msg_id),
                                        "MsgType": "miniprogram"},
            "unknown_event": lambda: app_event(user, "open_approval_change"),
        }[kind]()
        fields["FuzzSeq"] = f"{self.run}-{i}"  # unique, so an event's payload hash is too
        return f"app:{kind}", {"ToUserName": self.app.corp_id, **fields, "AgentID": 1000002}

    def aibot_base(self, i: int) -> tuple[str, dict[str, Any]]:
        user = self.rng.choice(["zhangsan", "lisi", "wanghong", "stranger01"])
        group = self.rng.random() < 0.7
        payload = aibot_text(user, "wrDSY1" if group else None, self._text(i),
                             chattype="group" if group else "single", msgid=f"fz{self.run}-{i}")
        kind = self.rng.choice(["text", "text", "mixed", "image", "voice", "event_enter",
                                "event_card", "unknown_msgtype", "unknown_event"])
        if kind != "text":
            del payload["text"]
        if kind == "mixed":
            payload.update(msgtype="mixed", mixed={"msg_item": [
                {"msgtype": "text", "text": {"content": self._text(i)}},
                {"msgtype": "image", "image": {"url": "https://example.org/a.jpg"}}]})
        elif kind == "image":
            payload.update(msgtype="image", image={"url": "https://example.org/a.jpg"})
        elif kind == "voice":
            payload.update(msgtype="voice", voice={"content": self._text(i)})
        elif kind == "event_enter":
            payload.update(msgtype="event", event={"eventtype": "enter_chat"})
        elif kind == "event_card":
            payload.update(msgtype="event", event={"eventtype": "template_card_event",
                                                   "template_card_event": {
                                                       "card_type": "button_interaction",
                                                       "event_key": "接单 1", "task_id": f"t{i}"}})
        elif kind == "unknown_msgtype":
            payload.update(msgtype="stream", stream={"id": f"s{i}"})
        elif kind == "unknown_event":
            payload.update(msgtype="event", event={"eventtype": "new_thing"})
        payload["fuzz_seq"] = f"{self.run}-{i}"
        return f"aibot:{kind}", payload

    # -- mutations --------------------------------------------------------------------------

    def mutate_app(self, fields: dict[str, Any], i: int) -> tuple[str, str]:
        """(mutation, plaintext XML)."""
        rng = self.rng
        name = rng.choice(["none", "none", "wrong_type", "nan", "huge_msgid", "long_userid",
                           "long_text", "nul", "surrogate", "deep", "drop", "flip",
                           "empty_values", "unknown_event"])
        if name == "wrong_type":
            fields[rng.choice(["CreateTime", "AgentID", "Location_X", "Scale"])] = "north"
        elif name == "nan":
            fields[rng.choice(["Location_X", "Latitude", "Precision"])] = rng.choice(
                ["nan", "inf", "-Infinity", "1e999"])
        elif name == "huge_msgid":
            digits = rng.choice([20, 21, 64, 65, 400, 5000])
            fields["MsgId"] = f"{i:0{digits}d}"  # unique, like every request
        elif name == "long_userid":
            fields["FromUserName"] = "u" * rng.choice([65, 129, 1000])
        elif name == "long_text":
            fields["Content"] = "楼" * rng.randint(2049, 10000)
        elif name == "drop":
            fields.pop(rng.choice(["FromUserName", "MsgType", "Content", "Event", "MsgId"]), None)
        elif name == "empty_values":
            for key in rng.sample(sorted(fields), k=min(3, len(fields))):
                fields[key] = ""
        elif name == "unknown_event":
            fields.update(MsgType="event", Event=rng.choice(["x" * 30, "batch_job_result",
                                                              "change_contact"]))
        plaintext = to_xml(fields)
        if name == "nul":
            plaintext = plaintext.replace("</FromUserName>", "\x00</FromUserName>", 1)
        elif name == "surrogate":
            plaintext = plaintext.replace("<FuzzSeq>", "<FuzzSeq>&#xD800;", 1)
        elif name == "deep":
            depth = rng.choice([4, 6, 50, 3000])
            plaintext = plaintext.replace("</xml>", "<a>" * depth + "</a>" * depth + "</xml>")
        elif name == "flip":
            plaintext = self._flip(plaintext)
        return name, plaintext

    def mutate_aibot(self, payload: dict[str, Any], i: int) -> tuple[str, str]:
        """(mutation, plaintext JSON)."""
        rng = self.rng
        name = rng.choice(["none", "none", "wrong_type", "deep", "nan", "surrogate_text",
                           "surrogate_id", "nul_text", "nul_id", "huge_msgid", "long_userid",
                           "long_chatid", "long_text", "drop", "flip", "unknown_event",
                           "not_object"])
        if name == "wrong_type":
            key, value = rng.choice([("text", "路灯坏了"), ("text", ["路灯"]), ("text", {"content": 5}),
                                     ("chatid", 12345), ("msgid", 42), ("from", "zhangsan"),
                                     ("chattype", 1), ("mixed", {"msg_item": "x"}),
                                     ("event", []), ("response_url", False)])
            payload[key] = value
        elif name == "huge_msgid":
            payload["msgid"] = rng.choice([str(10**64 + i), "9" * 3000, 2**64 + i, 2**70 + i])
        elif name == "long_userid":
            payload["from"] = {"userid": "u" * rng.choice([65, 300])}
        elif name == "long_chatid":
            payload.update(chattype="group", chatid="wr" + "c" * rng.choice([127, 500]))
        elif name == "long_text":
            payload.update(msgtype="text", text={"content": "楼" * rng.randint(2049, 10000)})
        elif name == "drop":
            payload.pop(rng.choice(["from", "msgtype", "text", "chatid", "msgid", "event"]), None)
        elif name == "unknown_event":
            payload.update(msgtype="event", event={"eventtype": rng.choice(["x" * 40, "later"])})
        elif name in ("nul_text", "surrogate_text"):
            payload.update(msgtype="text", text={"content": f"路灯{MARK}坏了"})
        elif name in ("nul_id", "surrogate_id"):
            payload["from"] = {"userid": f"zhang{MARK}san"}
        plaintext = json.dumps(payload, ensure_ascii=False)
        escape = "\\u0000" if name.startswith("nul") else rng.choice(["\\ud800", "\\udfff"])
        plaintext = plaintext.replace(MARK, escape)
        if name == "deep":
            depth = rng.choice([9, 20, 1000, 20000])
            plaintext = plaintext.replace('"fuzz_seq"', f'"x": {"[" * depth}{"]" * depth}, '
                                                        '"fuzz_seq"', 1)
        elif name == "nan":
            plaintext = plaintext.replace('"fuzz_seq"', '"x": '
                                          + rng.choice(["NaN", "Infinity", "-Infinity", "1e999",
                                                        "9" * 5000]) + ', "fuzz_seq"', 1)
        elif name == "flip":
            plaintext = self._flip(plaintext)
        elif name == "not_object":
            plaintext = rng.choice(["[]", "null", '"text"', "5", ""])
        return name, plaintext

    def _flip(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.rng.randint(1, 4)):
            chars[self.rng.randrange(len(chars))] = self.rng.choice('<>&"{}[]\\x\x00 /')
        return "".join(chars)

    # -- unsigned garbage -------------------------------------------------------------------

    def garbage(self) -> tuple[str, str, bytes, dict[str, str], str]:
        rng = self.rng
        path = rng.choice(["/wecom/aibot", "/wecom/callback"])
        params = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
        name = rng.choice(["brackets", "braces", "bytes", "xml_deep", "xxe", "bad_signature",
                           "no_query", "not_utf8"])
        body: bytes = {
            "brackets": lambda: b"[" * rng.choice([100, 5000, 60000]),
            "braces": lambda: b'{"encrypt": ' + b'{"a": ' * 5000,
            "bytes": lambda: rng.randbytes(rng.randint(1, 4096)),
            "xml_deep": lambda: b"<xml>" + b"<a>" * 15000,
            "xxe": lambda: (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                            b'"file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'),
            "bad_signature": lambda: self.app.sealed(to_xml(app_text("zhangsan", "hi")))[0],
            "no_query": lambda: b"<xml><Encrypt>abc</Encrypt></xml>",
            "not_utf8": lambda: b"<xml><Encrypt>\xff\xfe</Encrypt></xml>",
        }[name]()
        if name == "no_query":
            params = {}
        return f"unsigned:{name}", path, body, params, "application/octet-stream"

    # -- the i-th request -------------------------------------------------------------------

    def request(self, i: int) -> Request:
        roll = self.rng.random()
        if roll < 0.1:
            kind, path, body, params, content_type = self.garbage()
            return Request(kind, path, body, params, content_type)
        if roll < 0.55:
            base, fields = self.app_base(i)
            msg_id = fields.get("MsgId") if fields.get("MsgType") != "event" else None
            mutation, plaintext = self.mutate_app(fields, i)
            receive_id = "wwOtherCorp" if self.rng.random() < 0.02 else None
            mutation += "+other_corp" if receive_id else ""
            body, params, content_type = self.app.sealed(plaintext, receive_id=receive_id)
            key = f"app:{fields['MsgId']}" if msg_id and fields.get("MsgId") == msg_id else None
            return Request(f"{base}/{mutation}", "/wecom/callback", body, params, content_type,
                           key)
        base, payload = self.aibot_base(i)
        msgid = payload.get("msgid")
        mutation, plaintext = self.mutate_aibot(payload, i)
        body, params, content_type = self.aibot.sealed(plaintext, json_envelope=True)
        key = f"bot:{msgid}" if payload.get("msgid") == msgid and mutation != "not_object" else None
        return Request(f"{base}/{mutation}", "/wecom/aibot", body, params, content_type, key)


MARK = "\u2603MARK\u2603"  # where a mutation puts an escape that json.dumps would not write


def send_all(base_url: str, todo: list[Request], concurrency: int) -> list[int | str]:
    """POST every request; its status code, or the name of the error when there was none."""
    local = threading.local()

    def send(req: Request) -> int | str:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        try:
            res = session.post(base_url + req.path, params=req.params, data=req.body,
                               headers={"Content-Type": req.content_type}, timeout=30)
        except requests.RequestException as error:
            return type(error).__name__
        if "Traceback" in res.text:
            return f"{res.status_code}+traceback"
        return res.status_code

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(send, todo))


def inspect_rows(database_url: str, wait: float) -> tuple[int, int, dict[str, int], set[str]]:
    """(rows, still waiting to be routed, rows by status, their keys) once routing is done."""
    from sqlalchemy import func, select

    from store.db import make_engine
    from store.models import InboundMessage

    engine = make_engine(database_url)
    deadline = time.monotonic() + wait
    try:
        while True:
            with engine.connect() as connection:
                by_status = dict(connection.execute(
                    select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
                ).all())
            if not by_status.get("received") or time.monotonic() > deadline:
                break
            time.sleep(1)
        with engine.connect() as connection:
            keys = set(connection.scalars(select(InboundMessage.dedup_key)))
            outcomes = Counter(
                (outcome or "").split(":")[0]
                for outcome in connection.scalars(select(InboundMessage.outcome)))
    finally:
        engine.dispose()
    by_status.update({f"outcome {k or '-'}": v for k, v in outcomes.items()})
    return len(keys), by_status.get("received", 0), by_status, keys


def report(kinds: list[str], statuses: list[int | str]) -> None:
    print("\nstatus codes:", dict(sorted(Counter(map(str, statuses)).items())))
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, status in zip(kinds, statuses, strict=True):
        table[kind.split("/")[0]][str(status)] += 1
        if "/" in kind:
            table["  mutation " + kind.split("/")[1]][str(status)] += 1
    width = max(map(len, table))
    for kind in sorted(table, key=lambda k: (k.startswith("  "), k)):
        print(f"  {kind:<{width}}  {dict(sorted(table[kind].items()))}")


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|OutOfRange)\b.*")
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) ([\w.]+): ", re.M)


def tracebacks_in(log_file: Path | None) -> tuple[int, Counter[str], Counter[str]]:
    """(tracebacks in the log, log records with one by logger, their exceptions by last line)."""
    if log_file is None or not log_file.exists():
        return -1, Counter(), Counter()
    text = log_file.read_text(encoding="utf-8", errors="replace")
    starts = list(RECORD_START.finditer(text))
    by_logger: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    for at, record in enumerate(starts):
        end = starts[at + 1].start() if at + 1 < len(starts) else len(text)
        body = text[record.start():end]
        if "Traceback (most recent call last)" in body:
            by_logger[record.group(2)] += 1
            raised = [line for line in body.splitlines() if EXCEPTION_LINE.match(line)]
            exceptions[(raised[-1] if raised else "?")[:160]] += 1
    return text.count("Traceback (most recent call last)"), by_logger, exceptions


def alive(base_url: str, process: subprocess.Popen[bytes] | None) -> bool:
    if process is not None and process.poll() is not None:
        return False
    try:
        return requests.get(f"{base_url}/healthz", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="requests to send (default 5000)")
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server for a fresh schema (default: temporary SQLite); "
                             "with --url, the database of the server targeted")
    parser.add_argument("--url", default=None, help="target this running serve instead")
    parser.add_argument("--log", type=Path, default=None, help="with --url: the server's log")
    parser.add_argument("--route-wait", type=float, default=600,
                        help="seconds to wait for accepted messages to be routed")
    args = parser.parse_args()

    settings = load_settings(ROOT / "config.yaml", environ={})
    tmp = Path(tempfile.mkdtemp(prefix="gridbot-fuzz-"))
    process: subprocess.Popen[bytes] | None = None
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.url:
        base_url, database_url, log_file = args.url.rstrip("/"), args.database_url, args.log
    else:
        database_url, drop = bench_database(args.database_url, tmp)
        env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        for name in ("WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_CORP_ID"):
            env.pop(name, None)
        subprocess.run([sys.executable, str(ROOT / "bot.py"), "db", "upgrade"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        log_file = tmp / "serve.log"
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "serve", "--host", "127.0.0.1", "--port",
             str(port)], env=env, stdout=log_file.open("wb"), stderr=subprocess.STDOUT)
        wait_for(port, "/healthz")
        base_url = f"http://127.0.0.1:{port}"
    print(f"GridBot callback fuzz: N={args.n}, C={args.concurrency}, seed {args.seed}, database "
          f"{(database_url or '?').split('://')[0]}, server {base_url}", flush=True)
    try:
        w, a = settings.wecom, settings.aibot
        app = CallbackClient(base_url, w.token, w.encoding_aes_key, w.corp_id)
        aibot = CallbackClient(base_url, a.token, a.encoding_aes_key, "")
        fuzzer = Fuzzer(random.Random(args.seed), app, aibot, run=str(int(time.time()) % 100000))
        todo = [fuzzer.request(i) for i in range(args.n)]
        started = time.monotonic()
        statuses = send_all(base_url, todo, args.concurrency)
        took = time.monotonic() - started
        print(f"sent {len(todo)} requests in {took:.1f} s")
        report([r.kind for r in todo], statuses)
        accepted = sum(1 for s in statuses if s == 200)
        if database_url:
            rows, waiting, by_status, keys = inspect_rows(database_url, args.route_wait)
            refused_keys = {r.dedup_key for r, s in zip(todo, statuses, strict=True)
                            if s != 200 and r.dedup_key}
            print(f"\nrows: {rows} for {accepted} accepted requests; rows by status/outcome: "
                  f"{by_status}")
            print(f"rows for refused requests: {max(0, rows - accepted)} by count, "
                  f"{len(refused_keys & keys)} by key; accepted requests without a row: "
                  f"{max(0, accepted - rows)}; still unrouted: {waiting}")
        count, by_logger, exceptions = tracebacks_in(log_file)
        print(f"5xx answers: {sum(1 for s in statuses if str(s).startswith('5'))}; "
              f"no answer: {sum(1 for s in statuses if isinstance(s, str) and s[0].isalpha())}")
        print(f"tracebacks in the server log: {count if count >= 0 else 'log not available'}"
              + (f", in records of {dict(by_logger)}" if count > 0 else ""))
        for line, times in exceptions.most_common(5):
            print(f"  {times} × {line}")
        if log_file is not None:
            print(f"server log: {log_file}")
        print(f"server alive: {alive(base_url, process)}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
