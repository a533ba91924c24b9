"""Engines and sessions: one engine per process, one session per request or job."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Insert, create_engine, event, text
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys.

    Every engine hides its SQL parameters from logs and error messages (``hide_parameters``):
    they carry what residents typed, phone and ID numbers included.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, hide_parameters=True,
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                # WAL lets readers work beside the writer; NORMAL syncs at checkpoints, not at
                # every commit (an application crash loses nothing; a power cut may lose the
                # last commits, which WeCom re-delivers if they were unanswered).
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout, on the callback's hot path. After a
    # database restart a stale connection fails once and is dropped with the rest of the pool;
    # WeCom re-delivers an unanswered callback, and the workers retry.
    return create_engine(url, echo=echo, hide_parameters=True, pool_size=10, max_overflow=20,
                         pool_recycle=1800)


def autocommit_engine(engine: Engine) -> Engine:
    """An engine whose statements commit by themselves, for a hot path of single statements.

    On PostgreSQL: a small pool of its own on the same database in autocommit mode, so such a
    statement is one round trip (no BEGIN, no COMMIT) and its connections need no isolation
    reset when they go back to the pool; ``dispose()`` it with the app. On SQLite: ``engine``
    itself — a COMMIT there is a local call, and autocommit mode would cost a PRAGMA at every
    return to the pool.
    """
    if engine.dialect.name == "sqlite":
        return engine
    return create_engine(
        engine.url, isolation_level="AUTOCOMMIT", hide_parameters=True, pool_size=4,
        max_overflow=8, pool_recycle=1800,
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The session factory every request and job takes its session from."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


@lru_cache(maxsize=16)
def insert_skipping_taken(
    model: type[Any], key: InstrumentedAttribute[Any], dialect: str, *returning: Any
) -> Insert:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING …`` for ``dialect`` (built once).

    The idempotent insert of the inbox and the outbox: a row whose unique ``key`` is taken is
    skipped, not an error, and returns nothing (no ``returning``: an ``executemany`` of rows).
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - GridBot supports SQLite and PostgreSQL
        raise NotImplementedError(f"no idempotent insert for {dialect}")
    statement = insert(model).on_conflict_do_nothing(index_elements=[key])
    return statement.returning(*returning) if returning else statement


class IdBlocks:
    """Primary keys for new rows of ``table`` taken from its PostgreSQL sequence ``block`` at a
    time: rows given their id up front need no flush (and no round trip) each to learn it, so a
    batch's rows are written together by its last flush. Unused ids are gaps, as after a
    rollback."""

    def __init__(self, session: Session, table: str, block: int = 64) -> None:
        self.session = session
        self.table = table
        self.block = block
        self.free: deque[int] = deque()

    def __call__(self) -> int:
        if not self.free:
            self.free.extend(self.session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                     "FROM generate_series(1, :n)"), {"table": self.table, "n": self.block}))
        return self.free.popleft()
