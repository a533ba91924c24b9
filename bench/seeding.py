"""Bulk seeding for the benchmarks: a schema of their own and fast inserts.

* ``bench_engine(url, schema)``: on PostgreSQL a fresh schema ``schema`` (dropped first) that
  every connection of the engine searches; on SQLite a fresh file. Tables come from the models.
* ``bulk_insert``, ``township``, ``analyze`` (and the county's tickets, ``TicketSeeder``) are
  GridBot's own seeding, ``runtime.seed``, which ``bot.py seed`` uses too.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402

import store.all_models  # noqa: E402, F401  (every table on Base.metadata)
from runtime.seed import Township, analyze, bulk_insert, township  # noqa: E402
from store.db import make_engine  # noqa: E402
from store.models import Base  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
__all__ = ["PG_DEFAULT", "ROOT", "Township", "analyze", "bench_engine", "bulk_insert",
           "township"]


def bench_engine(url: str, schema: str) -> Engine:
    """An engine on an empty schema (PostgreSQL) or file (SQLite) with every table created."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = make_engine(url)
    else:
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as admin:
            admin.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(url, pool_size=10, max_overflow=20,
                               connect_args={"options": f"-csearch_path={schema}"})
    Base.metadata.create_all(engine)
    return engine
