"""Where the WeCom access token lives, shared by every process so it is fetched once.

A :class:`TokenCache` answers ``get()`` (a token still valid for at least ``margin_seconds``, or
None) and ``refresh(fetch, stale)``: under a lock shared by all processes it re-reads the stored
token and returns it if another process already replaced ``stale``; otherwise it calls ``fetch``
(gettoken) and stores the result. So N processes that see a token expire fetch one new token.

* :class:`DatabaseTokenCache`: the ``access_tokens`` row, locked with ``SELECT … FOR UPDATE`` on
  PostgreSQL; on SQLite an ``INSERT … ON CONFLICT DO NOTHING`` first takes the database's single
  write lock, so the read-check-fetch-write runs serialised there too.
* :class:`RedisTokenCache`: ``SET key token EX ttl`` guarded by a Redis lock.
* :class:`MemoryTokenCache`: one process only (tests, scripts).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.clock import utcnow
from store.models import AccessToken

log = logging.getLogger(__name__)

Fetch = Callable[[], tuple[str, int]]  # () -> (token, expires_in seconds)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def usable_seconds(expires_in: float, margin: float) -> float:
    """How long to use a token that expires in ``expires_in``: stop ``margin`` early (at most
    a quarter of its life, so short-lived test tokens are still reused)."""
    return max(1.0, expires_in - min(margin, expires_in / 4))


class TokenCache(Protocol):
    """The shared home of one access token."""

    def get(self) -> str | None:
        """The stored token if it is valid for at least the margin, else None."""

    def refresh(self, fetch: Fetch, stale: str | None = None) -> str:
        """A valid token other than ``stale``: the stored one if fresh, else ``fetch()``'s."""


class MemoryTokenCache:
    """A token shared by the threads of one process."""

    def __init__(self, margin_seconds: float = 300) -> None:
        self.margin = margin_seconds
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def get(self) -> str | None:
        if self._token and self._expires_at > time.time():
            return self._token
        return None

    def refresh(self, fetch: Fetch, stale: str | None = None) -> str:
        with self._lock:
            current = self.get()
            if current and current != stale:
                return current
            token, expires_in = fetch()
            self._token = token
            self._expires_at = time.time() + usable_seconds(expires_in, self.margin)
            return token


class DatabaseTokenCache:
    """The token in the ``access_tokens`` table, refreshed under a row (or database) lock."""

    def __init__(
        self, session_factory: sessionmaker[Session], key: str, margin_seconds: float = 300
    ) -> None:
        self.session_factory = session_factory
        self.key = key
        self.margin = margin_seconds
        # the token this process last read or stored, and until when to use it: read once,
        # not at every send. Should another process have replaced it early (WeCom refused it
        # there), WeCom refuses it here too and the sender's ``refresh(stale=…)`` reads the new.
        self._memo: tuple[str, datetime] | None = None

    def _fresh(self, row: AccessToken | None) -> str | None:
        # ``expires_at`` is stored as the use-until time (the real expiry less the margin).
        if row is not None and row.token and row.expires_at > utcnow():
            self._memo = (row.token, row.expires_at)
            return row.token
        return None

    def get(self) -> str | None:
        memo = self._memo
        if memo is not None and memo[1] > utcnow():
            return memo[0]
        with self.session_factory() as session:
            row = session.get(AccessToken, self.key)
            return self._fresh(row)

    def _ensure_row(self, session: Session) -> None:
        values = {"key": self.key, "token": "", "expires_at": EPOCH, "version": 0}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(pg_insert(AccessToken).values(**values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            # Also takes SQLite's write lock: whoever gets here first refreshes, others wait.
            session.execute(sqlite_insert(AccessToken).values(**values).on_conflict_do_nothing())
        else:  # pragma: no cover - other databases are not supported targets
            try:
                with session.begin_nested():
                    session.add(AccessToken(**values))
            except IntegrityError:
                pass

    def refresh(self, fetch: Fetch, stale: str | None = None) -> str:
        with self.session_factory() as session, session.begin():
            self._ensure_row(session)
            row = session.scalars(
                select(AccessToken)
                .where(AccessToken.key == self.key)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).one()
            current = self._fresh(row)
            if current and current != stale:
                return current
            token, expires_in = fetch()
            row.token = token
            row.expires_at = utcnow() + timedelta(seconds=usable_seconds(expires_in, self.margin))
            row.version = (row.version or 0) + 1
            self._memo = (token, row.expires_at)
            log.info("access token %s refreshed (version %d)", self.key, row.version)
            return token


class RedisTokenCache:
    """The token in Redis (``SET … EX``), refreshed under a Redis lock."""

    def __init__(
        self,
        redis: str | Any,
        key: str,
        margin_seconds: float = 300,
        lock_timeout: float = 30,
    ) -> None:
        if isinstance(redis, str):
            import redis as redis_lib

            redis = redis_lib.Redis.from_url(redis, socket_timeout=5, socket_connect_timeout=5)
        self.redis = redis
        self.key = f"gridbot:access_token:{key}"
        self.margin = margin_seconds
        self.lock_timeout = lock_timeout

    def get(self) -> str | None:
        value = self.redis.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def refresh(self, fetch: Fetch, stale: str | None = None) -> str:
        lock = self.redis.lock(
            f"{self.key}:lock", timeout=self.lock_timeout, blocking_timeout=self.lock_timeout
        )
        if not lock.acquire():
            raise TimeoutError("could not take the access-token lock in Redis")
        try:
            current = self.get()
            if current and current != stale:
                return current
            token, expires_in = fetch()
            self.redis.set(self.key, token, ex=max(1, int(usable_seconds(expires_in, self.margin))))
            log.info("access token %s refreshed in Redis", self.key)
            return token
        finally:
            try:
                lock.release()
            except Exception:  # the lock expired meanwhile: nothing to release
                log.warning("access-token lock %s expired before release", self.key)
