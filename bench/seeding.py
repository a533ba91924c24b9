"""Bulk seeding for the benchmarks: a schema of their own and fast inserts.

* ``bench_engine(url, schema)``: on PostgreSQL a fresh schema ``schema`` (dropped first) that
  every connection of the engine searches; on SQLite a fresh file. Tables come from the models.
* ``bulk_insert(engine, table, columns, rows)``: ``COPY … FROM STDIN`` on PostgreSQL, an
  ``executemany`` of one Core insert on SQLite. Datetimes are aware UTC (as the store keeps
  them); JSON columns take dicts.
* ``township(engine, grids, …)``: a county → township → villages → grids tree with its staff
  on duty (a worker per grid, a leader per village, the centre) and residents spread over it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, Table, create_engine, text  # noqa: E402

import store.all_models  # noqa: E402, F401  (every table on Base.metadata)
from store.db import make_engine  # noqa: E402
from store.models import Base, Grid, Membership, Person  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def bulk_insert(engine: Engine, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], chunk: int = 20_000) -> int:
    """Insert ``rows`` (tuples in ``columns`` order); the number inserted."""
    count = 0
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            names = ", ".join(columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([_plain(v) for v in row])
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= chunk:
                connection.execute(table.insert(), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
            count += len(batch)
    return count


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL ``ANALYZE``, SQLite ``ANALYZE``)."""
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


@dataclass(frozen=True)
class Township:
    """Ids of what ``township`` seeded."""

    center_code: str
    grid_ids: list[int]  # grid-level nodes
    workers: list[int]  # person id of each grid's worker, same order as grid_ids
    residents: list[int]  # person ids
    staff: int


def township(engine: Engine, grids: int, residents: int, *, per_village: int = 10,
             extra_staff: int = 0) -> Township:
    """Seed the tree, a worker per grid, a leader per village, the centre and the residents.

    ``extra_staff`` more staff (micro-grid members, 联户长) are spread over the grids as
    ``micro`` duties, so the roster reaches a county's size.
    """
    villages = max(1, grids // per_village)
    tree: list[tuple[int, str, str, str, int | None]] = [
        (1, "640323", "盐池县", "county", None), (2, "640323001", "东顺街道", "township", 1)]
    for v in range(villages):
        tree.append((3 + v, f"640323001{v:04d}", f"第{v + 1}村", "village", 2))
    first_grid = 3 + villages
    for g in range(grids):
        tree.append((first_grid + g, f"640323001{g % villages:04d}{g:05d}", f"第{g + 1}网格",
                     "grid", 3 + g % villages))
    bulk_insert(engine, Grid.__table__, ("id", "code", "name", "level", "parent_id"), tree)
    grid_ids = [first_grid + g for g in range(grids)]

    people: list[tuple[Any, ...]] = []
    duties: list[tuple[int, int, int, str]] = []
    pid = 0

    def staff(role: str, grid_id: int) -> int:
        nonlocal pid
        pid += 1
        people.append((pid, f"s{pid}", f"职员{pid}", f"1390000{pid:04d}"[-11:], role, None, True))
        duties.append((pid, pid, grid_id, role))
        return pid

    staff("center", 2)
    staff("county", 1)
    for v in range(villages):
        staff("leader", 3 + v)
    workers = [staff("worker", gid) for gid in grid_ids]
    for i in range(extra_staff):
        staff("micro", grid_ids[i % grids])
    staff_count = pid
    resident_ids = []
    for i in range(residents):
        pid += 1
        resident_ids.append(pid)
        people.append((pid, f"r{pid}", f"居民{pid}", None, "resident", grid_ids[i % grids], True))
    bulk_insert(engine, Person.__table__,
                ("id", "userid", "name", "phone", "role", "grid_id", "active"), people)
    bulk_insert(engine, Membership.__table__, ("id", "person_id", "grid_id", "role"), duties)
    if engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        with engine.begin() as connection:
            for name in ("grids", "people", "memberships"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"))
    return Township("640323001", grid_ids, workers, resident_ids, staff_count)
