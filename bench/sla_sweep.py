"""Benchmark: the SLA sweep over many open tickets, when nothing is due and when 1,000 are.

    python bench/sla_sweep.py                         # PostgreSQL 100,000 and 1,000,000; SQLite 100,000
    python bench/sla_sweep.py --sizes 100000 --no-sqlite
    python bench/sla_sweep.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds (bulk ``COPY`` on PostgreSQL, into a schema of its own, ``bench_sla``) a township of 1,000
grids with a worker each, and open tickets (accepted or dispatched within the last hour, so
nothing is due; ``next_due_at`` as the state machine stores it). Then prints, per database:

* **nothing due**: the median of 5 sweeps at the first size (targets on PostgreSQL: 100,000 open
  tickets under 50 ms);
* **1,000 due**: 800 accepted tickets past their halfway reminder and 200 dispatched tickets past
  their accept deadline are added; one sweep reminds the 800 and escalates the 200 (target under
  2 s); a second sweep at the same time must do nothing (exactly once);
* **nothing due** again at each larger size (target: 1,000,000 under 5 s).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from seeding import PG_DEFAULT, ROOT, analyze, bench_engine, bulk_insert, township
from sqlalchemy import Engine, event, func, select, text

from cases.deadlines import SlaClock
from cases.next_due import next_due
from schedules.sla import SweepReport, sweep
from services.container import Services, build_services
from settings import parse_settings
from store.clock import utcnow
from store.db import make_session_factory
from store.models import Ticket

COLUMNS = ("id", "status", "category", "tier", "urgent", "text", "classification", "grid_id",
           "reporter_id", "channel", "reply_to", "assignee_id", "level", "created_at",
           "dispatched_at", "accepted_at", "accept_due", "resolve_due", "deadlines_provisional",
           "next_due_at")
TIERS = ("easy", "general", "hard")


class Clocks:
    """Due times and next moments per (status, start, tier), computed once each."""

    def __init__(self, clock: SlaClock) -> None:
        self.clock = clock
        self.times = lru_cache(maxsize=None)(self._times)

    def _times(self, status: str, start: datetime, tier: str) -> tuple[Any, Any, datetime | None]:
        accept_due = self.clock.accept_due(start).at if status == "dispatched" else None
        resolve_due = self.clock.resolve_due(start, tier).at if status == "accepted" else None
        probe = Ticket(status=status, tier=tier, dispatched_at=start,
                       accepted_at=start if status == "accepted" else None,
                       accept_due=accept_due, resolve_due=resolve_due)
        return accept_due, resolve_due, next_due(probe, self.clock)

    def due_start(self, status: str, now: datetime) -> datetime:
        """A start (days back) whose stage has a reminder due (accepted) or is overdue
        (dispatched) at ``now``, an hour either way."""
        for days in range(1, 30):
            start = now - timedelta(days=days)
            times = [self.times(status, start - timedelta(minutes=m), "general") for m in (0, 60)]
            if status == "accepted" and all(
                    n is not None and n <= now < r for _, r, n in times):
                return start
            if status == "dispatched" and all(a < now for a, _, _ in times):
                return start
        raise RuntimeError(f"no start found for a due {status} ticket")


def tickets(clocks: Clocks, town: Any, first_id: int, count: int, now: datetime,
            kind: str) -> Iterator[tuple[Any, ...]]:
    """``count`` open tickets: ``quiet`` (nothing due), ``remind`` or ``escalate`` (due now)."""
    minute = now.replace(second=0, microsecond=0)
    for n in range(count):
        i = first_id + n
        if kind == "quiet":
            status = "accepted" if i % 10 < 7 else "dispatched"
            start = minute - timedelta(minutes=1 + i % 50)
        else:
            status = "accepted" if kind == "remind" else "dispatched"
            start = clocks.due_start(status, minute) - timedelta(minutes=i % 60)
        tier = "general" if kind != "quiet" else TIERS[i % 3]
        accept_due, resolve_due, next_at = clocks.times(status, start, tier)
        g = i % len(town.grid_ids)
        yield (i, status, "facility", tier, False, "下水道堵了，污水冒到路面", {}, town.grid_ids[g],
               town.residents[i % len(town.residents)], "app", {"userid": "r"},
               town.workers[g], "worker", start - timedelta(minutes=5), start,
               start if status == "accepted" else None, accept_due, resolve_due, False, next_at)


def load_settings() -> Any:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return parse_settings(raw, base_dir=ROOT, environ={}, source=ROOT / "config.yaml")


def seed(engine: Engine, clocks: Clocks, town: Any, start: int, count: int, now: datetime,
         kind: str) -> float:
    began = time.perf_counter()
    bulk_insert(engine, Ticket.__table__, COLUMNS, tickets(clocks, town, start, count, now, kind))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text(
                "SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))"))
    analyze(engine)
    return time.perf_counter() - began


def timed(engine: Engine, services: Services, now: datetime) -> tuple[float, SweepReport]:
    took, report, _ = counted(engine, services, now)
    return took, report


def counted(engine: Engine, services: Services,
            now: datetime) -> tuple[float, SweepReport, int]:
    """One sweep: seconds, what it did, and how many SQL statements it sent."""
    factory = make_session_factory(engine)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        began = time.perf_counter()
        report = sweep(factory, services, now)
        return time.perf_counter() - began, report, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def bench(url: str, sizes: list[int], services: Services) -> None:
    engine = bench_engine(url, "bench_sla")
    name = engine.dialect.name
    clocks = Clocks(SlaClock(services.settings.sla, services.calendar))
    town = township(engine, grids=1000, residents=10_000)
    now = utcnow()
    seeded, next_id = 0, 1
    for index, size in enumerate(sizes):
        took = seed(engine, clocks, town, next_id, size - seeded, now, "quiet")
        next_id += size - seeded
        seeded = size
        print(f"[{name}] seeded {size:,} open tickets in {took:.1f} s")
        timed(engine, services, now)  # the first sweep of a process also reads provisional ones
        runs = [timed(engine, services, now)[0] for _ in range(5)]
        print(f"[{name}] {size:,} open, nothing due: sweep median {statistics.median(runs) * 1000:.1f} ms"
              f" (min {min(runs) * 1000:.1f}, max {max(runs) * 1000:.1f})")
        if index == 0:
            seed(engine, clocks, town, next_id, 800, now, "remind")
            seed(engine, clocks, town, next_id + 800, 200, now, "escalate")
            next_id += 1000
            seeded += 1000
            took, report, statements = counted(engine, services, now)
            print(f"[{name}] {size:,} open, 1,000 due: sweep {took:.2f} s, {statements} SQL "
                  f"statements -> {report.as_dict()}")
            again = timed(engine, services, now)[1]
            print(f"[{name}] the same sweep again: {again.as_dict()} (must be all zero)")
            with engine.connect() as connection:
                due = connection.scalar(select(func.count()).select_from(Ticket)
                                        .where(Ticket.next_due_at <= now))
            print(f"[{name}] tickets still due after the sweep: {due}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=PG_DEFAULT)
    parser.add_argument("--sizes", default="100000,1000000",
                        help="open tickets, comma-separated, ascending (PostgreSQL)")
    parser.add_argument("--sqlite-size", type=int, default=100_000)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    services = build_services(load_settings())
    bench(args.database_url, [int(s) for s in args.sizes.split(",")], services)
    if not args.no_sqlite:
        path = Path(tempfile.gettempdir()) / "gridbot_bench_sla.db"
        bench(f"sqlite:///{path}", [args.sqlite_size], services)


if __name__ == "__main__":
    main()
