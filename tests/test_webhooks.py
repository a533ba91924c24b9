"""Webhooks: every status change POSTed to the subscribing system, signed (HMAC-SHA256 with its
secret, timestamp header), through the outbox with its retries — an outage loses nothing and
repeats nothing. The receiver is a real HTTP server in the test that checks each signature."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sqlalchemy import select

from schedules.delivery import DeliveryPolicy, OutboxWorker
from schedules.hooks import with_hooks
from store.api_clients import ApiClient, add_client
from store.clock import utcnow
from store.db import transaction
from store.models import OutboxMessage
from tests.harness import Harness


class Receiver:
    """A subscriber's endpoint: verifies every signature, can be down (503) or slow."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path → secret
        self.down = False
        self.accepted: list[dict] = []  # verified deliveries answered 200
        self.refused = 0  # requests answered 503 during the outage
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-GridBot-Timestamp"]
                expected = hmac.new(receiver.secrets[self.path].encode(),
                                    stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(self.headers["X-GridBot-Signature"],
                                         f"sha256={expected}")
                fresh = abs(time.time() - int(stamp)) < 300
                if not ok or not fresh:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                elif receiver.down:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.accepted.append({"path": self.path,
                                              "delivery": self.headers["X-GridBot-Delivery"],
                                              "event": self.headers["X-GridBot-Event"],
                                              "body": json.loads(body)})
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def api(settings, engine, simulator, receiver):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    with transaction(harness.runtime.session_factory) as session:
        hotline = add_client(session, name="12345平台", source="12345",
                             scopes={"tickets:read", "tickets:write"},
                             webhook_url=f"{receiver.url}/hotline")
        county = add_client(session, name="县平台", scopes={"tickets:read"},
                            webhook_url=f"{receiver.url}/county")
    receiver.secrets = {"/hotline": hotline.webhook_secret, "/county": county.webhook_secret}
    harness.token = hotline.token  # type: ignore[attr-defined]
    yield harness
    harness.stop()


def worker(harness, **policy) -> OutboxWorker:  # type: ignore[no-untyped-def]
    runtime = harness.runtime
    return OutboxWorker(runtime.session_factory,
                        with_hooks(runtime.new_sender(), runtime.session_factory),
                        runtime.settings.wecom, "test-worker",
                        policy=DeliveryPolicy(**policy) if policy else None)


def order(harness, external_id: str = "H-1") -> int:  # type: ignore[no-untyped-def]
    got = requests.post(f"{harness.base_url}/api/v1/tickets",
                        headers={"Authorization": f"Bearer {harness.token}"}, timeout=10,
                        json={"source": "12345", "external_id": external_id,
                              "text": "小区门口的路灯坏了好几天", "grid": "640323001001001"})
    assert got.status_code == 201
    return got.json()["ticket"]["id"]


def test_each_status_change_reaches_its_subscribers_signed(api, receiver) -> None:  # type: ignore[no-untyped-def]
    number = order(api)
    api.say_to_app("lijuan", f"接单 {number}")
    api.say_in_group("zhangsan", "wrDSY1", "我家门口的下水道堵了，污水都冒到路面上了")  # a chat report
    api.deliver()
    assert receiver.bad_signatures == 0
    hotline = [d for d in receiver.accepted if d["path"] == "/hotline"]
    county = [d for d in receiver.accepted if d["path"] == "/county"]
    assert [d["body"]["change"]["to_status"] for d in hotline] == [
        "created", "dispatched", "accepted"]  # its own order only
    assert all(d["body"]["ticket"]["id"] == number for d in hotline)
    assert {d["body"]["ticket"]["source"] for d in county} == {"12345", None}  # everything
    assert len(county) == 5
    first = hotline[0]
    assert first["event"] == "ticket.status_changed"
    assert first["body"]["ticket"]["external_id"] == "H-1"
    assert first["delivery"] == f"hook:{1}:e{first['body']['event_id']}"


def test_a_forged_signature_does_not_verify(api, receiver) -> None:  # type: ignore[no-untyped-def]
    body = b'{"event":"ticket.status_changed"}'
    stamp = str(int(time.time()))
    forged = hmac.new(b"not-the-secret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    got = requests.post(f"{receiver.url}/hotline", data=body, timeout=5, headers={
        "X-GridBot-Timestamp": stamp, "X-GridBot-Signature": f"sha256={forged}",
        "X-GridBot-Delivery": "x", "X-GridBot-Event": "x"})
    assert got.status_code == 401 and receiver.bad_signatures == 1 and receiver.accepted == []


def test_an_outage_is_retried_with_back_off_without_loss_or_repeat(api, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.down = True
    number = order(api)
    api.say_to_app("lijuan", f"接单 {number}")
    fast = worker(api, backoff_base=0.05, backoff_cap=0.2, jitter=0.0, max_attempts=30)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and receiver.refused < 12:
        fast.run_once(100)
        time.sleep(0.05)
    assert receiver.accepted == [] and receiver.refused >= 12  # every hook tried, again and again
    with api.session() as session:
        hooks = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "hook")).all()
    assert len(hooks) == 6  # 3 changes × 2 subscribers
    assert all(h.status == "pending" and h.attempts >= 2 and h.last_error == "webhook HTTP 503"
               and h.next_attempt_at > h.last_attempt_at for h in hooks)
    with api.session() as session:  # WeCom's messages were not held up by the outage
        chat = session.scalars(select(OutboxMessage).where(OutboxMessage.channel != "hook")).all()
    assert chat and {m.status for m in chat} == {"sent"}
    receiver.down = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(receiver.accepted) < 6:
        fast.run_once(100)
        time.sleep(0.05)
    for _ in range(5):
        fast.run_once(100)
    deliveries = [d["delivery"] for d in receiver.accepted]
    assert len(deliveries) == 6 and len(set(deliveries)) == 6  # none lost, none repeated
    with api.session() as session:
        assert {h.status for h in session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "hook"))} == {"sent"}


def test_a_refusal_or_revocation_stops_a_hook(api, receiver) -> None:  # type: ignore[no-untyped-def]
    number = order(api, "H-2")  # queued for both subscribers
    with transaction(api.runtime.session_factory) as session:
        session.scalar(select(ApiClient).where(ApiClient.name == "12345平台")).revoked_at = utcnow()
    receiver.secrets["/county"] = "rotated"  # the county now answers 401 to our signature
    api.say_to_app("lijuan", f"接单 {number}")  # after the revocation: the county's only
    api.deliver()
    with api.session() as session:
        hooks = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "hook")
                                .order_by(OutboxMessage.id)).all()
    hotline = [h for h in hooks if h.target == "1"]
    county = [h for h in hooks if h.target == "2"]
    assert len(hotline) == 2 and len(county) == 3
    assert all(h.status == "failed" and h.attempts == 1 for h in hooks)  # final, not retried
    assert {h.last_error for h in hotline} == {"webhook subscriber revoked or gone"}
    assert {h.last_error for h in county} == {"webhook HTTP 401"}
    assert receiver.accepted == []
