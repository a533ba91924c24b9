"""Who is calling the API, what they may do, and whether they are within their budget.

Tokens: a client's token from ``bot.py api-token add`` (looked up by its SHA-256, with its
scopes, its source and its rate limit), or a legacy token from ``api.tokens`` /
``GRIDBOT_API_TOKENS`` (every scope, kept working). The JSON API reads ``Authorization: Bearer``;
Open311 also ``api_key`` (its convention). Rate limits: a fixed one-minute window per token,
counted in Redis when configured, else in the database — either way shared by every process.
A refusal is an :class:`ApiRefusal` (401, 403 or 429 with its Chinese reason and headers), which
each blueprint renders in its own error format.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, request

from store.api_clients import client_by_token, count_request
from store.clock import utcnow
from store.db import transaction
from vocab import ALL_SCOPES
from web import api_texts
from web.app_runtime import AppRuntime, current_runtime

WINDOW = timedelta(minutes=1)
REDIS_EXTENSION = "gridbot.api_redis"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a client of the database, or a legacy config token."""

    key: str  # what its requests are counted under
    name: str
    scopes: frozenset[str]
    rate_limit: int
    client_id: int | None = None  # None: a legacy token
    source: str | None = None  # the orders it speaks for (None: any)

    def may_act_on(self, source: str | None) -> bool:
        """Whether it may act on an order of ``source`` (补充, 撤销)."""
        return self.source is None or self.source == source


@dataclass(frozen=True)
class ApiRefusal:
    """Why a request is refused before it reaches its endpoint."""

    status: int
    code: str
    reason: str
    headers: dict[str, str] = field(default_factory=dict)


def bearer_token() -> str:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def identify(runtime: AppRuntime, token: str) -> Caller | None:
    """The caller holding ``token``, or None."""
    if not token:
        return None
    settings = runtime.settings
    digest = hashlib.sha256(token.encode()).hexdigest()
    for legacy in settings.api_tokens:
        if hmac.compare_digest(token.encode(), legacy.encode()):
            return Caller(f"cfg:{digest[:24]}", "config", ALL_SCOPES, settings.api_rate_limit)
    with transaction(runtime.session_factory) as session:
        client = client_by_token(session, token)
        if client is None:
            return None
        return Caller(f"client:{client.id}", client.name, client.scope_set,
                      client.rate_limit or settings.api_rate_limit, client.id, client.source)


def write_turn() -> AbstractContextManager[object]:
    """SQLite has one writer, and its busy handler lets waiters starve (seconds at the tail):
    the API's writers (orders, events, request counts) take the turn the callbacks and the
    router take (:mod:`store.write_turn`). Nothing to take on PostgreSQL."""
    return current_runtime().write_turn


def _window(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def over_limit(runtime: AppRuntime, caller: Caller, now: datetime | None = None) -> int | None:
    """Count this request; the seconds to wait when it is over the caller's budget, else None."""
    now = now or utcnow()
    start = _window(now)
    redis_url = runtime.settings.redis_url
    if redis_url:
        hits = _redis_count(runtime, f"gridbot:api:{caller.key}:{int(start.timestamp())}")
    else:
        with write_turn(), transaction(runtime.session_factory) as session:
            hits = count_request(session, caller.key, start)
    if hits <= caller.rate_limit:
        return None
    return max(1, int((start + WINDOW - now).total_seconds() + 0.999))


def _redis_count(runtime: AppRuntime, key: str) -> int:
    import redis

    client: Any = current_app.extensions.get(REDIS_EXTENSION)
    if client is None:
        client = current_app.extensions[REDIS_EXTENSION] = redis.Redis.from_url(
            runtime.settings.redis_url or "", socket_timeout=2)
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    hits, _ = pipe.execute()
    return int(hits)


def admit(runtime: AppRuntime, token: str, scope: str) -> Caller | ApiRefusal:
    """The caller, if ``token`` is valid, carries ``scope`` and is within its budget."""
    caller = identify(runtime, token)
    if caller is None:
        return ApiRefusal(401, "unauthorized", api_texts.UNAUTHORIZED,
                          {"WWW-Authenticate": 'Bearer realm="gridbot"'})
    if scope not in caller.scopes:
        return ApiRefusal(403, "forbidden_scope", api_texts.MISSING_SCOPE.format(scope=scope))
    wait = over_limit(runtime, caller)
    if wait is not None:
        return ApiRefusal(429, "rate_limited",
                          api_texts.RATE_LIMITED.format(limit=caller.rate_limit, wait=wait),
                          {"Retry-After": str(wait)})
    g.api_caller = caller
    return caller


def current_caller() -> Caller:
    """The caller :func:`admit` let in for this request."""
    return g.api_caller
