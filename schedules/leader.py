"""The scheduler's leader lock: exactly one scheduler process runs the jobs; the others wait.

Three implementations behind one small interface (``try_acquire``, ``still_held``, ``release``):

* :class:`RedisLock` when Redis is configured: ``SET key holder NX PX ttl``, renewed and released
  only by its holder (compare-and-set in Lua).
* :class:`PostgresAdvisoryLock` on PostgreSQL: a session advisory lock on a connection held for
  as long as the process leads; if the process dies, PostgreSQL drops the lock with the session.
* :class:`DatabaseLease` elsewhere (SQLite): a row in ``scheduler_leases`` taken and renewed with
  conditional UPDATEs; a leader that stops renewing loses it after ``ttl`` seconds.

A leader renews every ``ttl / 3`` seconds and steps down (stops its scheduler) the moment a
renewal fails, so two leaders never overlap by more than one renewal period.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, delete, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from store.clock import utcnow
from store.notice_models import SchedulerLease

log = logging.getLogger(__name__)

LOCK_NAME = "gridbot-scheduler"


class LeaderLock(Protocol):
    """What the scheduler needs from a lock."""

    holder: str
    ttl: float

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never blocks."""

    def still_held(self) -> bool:
        """Renew the lock; False when it was lost (the caller must step down)."""

    def release(self) -> None:
        """Give the lock up (best effort)."""


class DatabaseLease:
    """A lease row: ``holder`` owns ``name`` until ``expires_at``."""

    def __init__(self, session_factory: sessionmaker[Session], holder: str,
                 name: str = LOCK_NAME, ttl: float = 30.0) -> None:
        self.session_factory = session_factory
        self.holder = holder
        self.name = name
        self.ttl = ttl

    def try_acquire(self) -> bool:
        now = utcnow()
        expires = now + timedelta(seconds=self.ttl)
        try:
            with self.session_factory() as session, session.begin():
                taken = session.execute(
                    update(SchedulerLease)
                    .where(SchedulerLease.name == self.name,
                           (SchedulerLease.holder == self.holder)
                           | (SchedulerLease.expires_at < now))
                    .values(holder=self.holder, expires_at=expires, acquired_at=now)
                ).rowcount
                if taken:
                    return True
                if session.get(SchedulerLease, self.name) is not None:
                    return False
                session.add(SchedulerLease(name=self.name, holder=self.holder,
                                           expires_at=expires, acquired_at=now))
            return True
        except IntegrityError:  # another process inserted the row first
            return False
        except SQLAlchemyError:
            log.exception("leader lease: could not reach the database")
            return False

    def still_held(self) -> bool:
        now = utcnow()
        try:
            with self.session_factory() as session, session.begin():
                return bool(session.execute(
                    update(SchedulerLease)
                    .where(SchedulerLease.name == self.name,
                           SchedulerLease.holder == self.holder)
                    .values(expires_at=now + timedelta(seconds=self.ttl))
                ).rowcount)
        except SQLAlchemyError:
            log.exception("leader lease: renewal failed")
            return False

    def release(self) -> None:
        try:
            with self.session_factory() as session, session.begin():
                session.execute(delete(SchedulerLease).where(
                    SchedulerLease.name == self.name, SchedulerLease.holder == self.holder))
        except SQLAlchemyError:
            log.exception("leader lease: release failed (it expires by itself)")


class PostgresAdvisoryLock:
    """A session-level advisory lock, keyed on the schema and the lock name."""

    def __init__(self, engine: Engine, holder: str, name: str = LOCK_NAME,
                 ttl: float = 15.0) -> None:
        self.engine = engine
        self.holder = holder
        self.name = name
        self.ttl = ttl
        self.connection: Connection | None = None

    def _key_sql(self) -> str:
        return "hashtext(current_schema() || ':' || :name)"

    def try_acquire(self) -> bool:
        if self.connection is not None:
            return self.still_held()
        try:
            connection = self.engine.connect()
            got = connection.execute(
                text(f"SELECT pg_try_advisory_lock({self._key_sql()})"), {"name": self.name}
            ).scalar()
            connection.commit()
        except SQLAlchemyError:
            log.exception("advisory lock: could not reach PostgreSQL")
            return False
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            held = self.connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted"
                )
            ).scalar()
            self.connection.commit()
            return bool(held)
        except SQLAlchemyError:
            log.exception("advisory lock: the connection holding it is gone")
            self._drop()
            return False

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.execute(
                text(f"SELECT pg_advisory_unlock({self._key_sql()})"), {"name": self.name})
            self.connection.commit()
        except SQLAlchemyError:
            log.exception("advisory lock: unlock failed (closing the session drops it)")
        self._drop()

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.close()
            self.connection = None


_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLock:
    """``SET NX PX`` with holder-checked renewal and release."""

    def __init__(self, url: str, holder: str, name: str = LOCK_NAME, ttl: float = 30.0,
                 namespace: str = "") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.holder = holder
        self.key = f"gridbot:leader:{namespace}:{name}"
        self.ttl = ttl

    def try_acquire(self) -> bool:
        import redis

        try:
            if self.client.set(self.key, self.holder, nx=True, px=int(self.ttl * 1000)):
                return True
            return self.still_held()
        except redis.RedisError:
            log.exception("redis lock: Redis unreachable")
            return False

    def still_held(self) -> bool:
        import redis

        try:
            return bool(self.client.eval(_RENEW, 1, self.key, self.holder, int(self.ttl * 1000)))
        except redis.RedisError:
            log.exception("redis lock: renewal failed")
            return False

    def release(self) -> None:
        import redis

        try:
            self.client.eval(_RELEASE, 1, self.key, self.holder)
        except redis.RedisError:
            log.exception("redis lock: release failed (it expires by itself)")


def leader_lock(engine: Engine, session_factory: sessionmaker[Session], holder: str, *,
                redis_url: str | None = None, namespace: str = "",
                ttl: float | None = None) -> LeaderLock:
    """Redis when configured, else an advisory lock on PostgreSQL, else a lease row."""
    if redis_url:
        return RedisLock(redis_url, holder, ttl=ttl or 30.0, namespace=namespace)
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine, holder, ttl=ttl or 15.0)
    return DatabaseLease(session_factory, holder, ttl=ttl or 30.0)
