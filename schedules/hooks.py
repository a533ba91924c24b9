"""The outbox's ``hook`` door: a signed POST of one row to the subscriber's webhook URL.

Each row (``notify.webhooks``) names its API client; the URL and secret are read at send time,
so a revoked client hears nothing more (the row fails for good). The body is the row's payload
as compact JSON (UTF-8); the headers::

    X-GridBot-Timestamp: 1764493200                      (Unix seconds of this attempt)
    X-GridBot-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    X-GridBot-Delivery:  hook:3:e1234                    (the same on every retry: de-duplicate)
    X-GridBot-Event:     ticket.status_changed

A 2xx answer delivers it. Timeouts, connection errors, 408, 425, 429 and 5xx are retried by the
outbox worker with its back-off (a ``Retry-After`` is respected) — the same retries, leases and
dead-lettering as every WeCom message; they do not pause the batch (one subscriber's outage is
not WeCom's). Any other 4xx fails the row for good. :class:`ChannelSender` puts this door beside
the WeCom sender, so the worker stays as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker

from store.api_clients import ApiClient
from vocab import OutboxChannel
from wecom.sender import DeliveryResult

log = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 425, 429})
USER_AGENT = "GridBot-Webhook/1"


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body`` with the subscriber's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


class HookSender:
    """Delivers ``hook`` rows: one signed POST each, never raising."""

    def __init__(self, session_factory: sessionmaker[Session], timeout: float = 10.0,
                 http: requests.Session | None = None) -> None:
        self.session_factory = session_factory
        self.timeout = timeout
        self.http = http or requests.Session()

    def _subscriber(self, client_id: str) -> tuple[str, str] | None:
        if not client_id.isdigit():
            return None
        with self.session_factory() as session:
            client = session.get(ApiClient, int(client_id))
            if client is None or client.revoked_at is not None or not client.webhook_url:
                return None
            return client.webhook_url, client.webhook_secret or ""

    def deliver(self, row: Any) -> DeliveryResult:
        try:
            found = self._subscriber(row.target)
            if found is None:
                return DeliveryResult.failed("webhook subscriber revoked or gone")
            url, secret = found
            body = body_bytes(row.payload)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "X-GridBot-Timestamp": stamp,
                "X-GridBot-Signature": signature(secret, stamp, body),
                "X-GridBot-Delivery": row.idempotency_key,
                "X-GridBot-Event": str(row.payload.get("event", "")),
            }
            response = self.http.post(url, data=body, headers=headers, timeout=self.timeout,
                                      allow_redirects=False)
        except requests.RequestException as exc:
            return DeliveryResult.retry(f"webhook: {type(exc).__name__}")
        except Exception as exc:  # a bug must not lose the row
            log.exception("unexpected error delivering webhook row %s", getattr(row, "id", "?"))
            return DeliveryResult.retry(f"webhook unexpected: {type(exc).__name__}")
        status = response.status_code
        if 200 <= status < 300:
            return DeliveryResult.sent()
        if status in RETRYABLE or status >= 500:
            return DeliveryResult.retry(f"webhook HTTP {status}", backoff=_retry_after(response))
        return DeliveryResult.failed(f"webhook HTTP {status}")


class ChannelSender:
    """The worker's sender: ``hook`` rows to :class:`HookSender`, the rest to WeCom's."""

    def __init__(self, wecom: Any, hooks: HookSender) -> None:
        self.wecom = wecom
        self.hooks = hooks

    def deliver(self, row: Any) -> DeliveryResult:
        if row.channel == OutboxChannel.HOOK:
            return self.hooks.deliver(row)
        return self.wecom.deliver(row)

    def __getattr__(self, name: str) -> Any:  # the WeCom sender's other methods
        return getattr(self.wecom, name)


def with_hooks(wecom: Any, session_factory: sessionmaker[Session]) -> ChannelSender:
    """``wecom`` with the webhook door beside it."""
    return ChannelSender(wecom, HookSender(session_factory))
