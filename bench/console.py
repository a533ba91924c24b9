"""Benchmark: the console's pages with a township's years of tickets behind them.

    python bench/console.py                                  # SQLite, 100,000 tickets
    python bench/console.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/console.py --tickets 20000 --rounds 5

Seeds (``bench/seeding.py``, ``bench/county.py``'s ticket generator; PostgreSQL into the schema
``bench_console``, SQLite into a file of its own): a township of ``--grids`` grids (a worker
each, a leader per ten), the centre, ``--residents`` residents and ``--tickets`` tickets over the
last 12 months. Then serves each page through the real app (Flask's test client, a signed-in
session) once cold and then ``--rounds`` times, and prints the first, the median and the
slowest, in ms (target: under 300 ms), with the machine's load average:

* the dashboard as the centre (whole township) and as a grid leader (a village's subtree);
* the ticket list: unfiltered, open + overdue, one village, a text search, page 50;
* one ticket's page.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from county import load_settings  # noqa: E402
from seeding import PG_DEFAULT, ROOT, analyze, bench_engine, bulk_insert, township  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cases.deadlines import SlaClock  # noqa: E402
from runtime.seed import TICKET_COLUMNS as COLUMNS  # noqa: E402
from runtime.seed import TicketSeeder as Seeder  # noqa: E402
from services.container import build_services  # noqa: E402
from settings.model import ConsoleSettings  # noqa: E402
from store.clock import utcnow  # noqa: E402
from store.models import Ticket  # noqa: E402
from store.sla import ClockMark  # noqa: E402


def seed(engine: Any, services: Any, args: argparse.Namespace) -> Any:
    began = time.perf_counter()
    town = township(engine, grids=args.grids, residents=args.residents)
    seeder = Seeder(SlaClock(services.settings.sla, services.calendar), town, utcnow())
    bulk_insert(engine, Ticket.__table__, COLUMNS, seeder.tickets(args.tickets))
    bulk_insert(engine, ClockMark.__table__,
                ("ticket_id", "stage", "kind", "due_at", "created_at"), seeder.marks)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for name in ("tickets", "clock_marks"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"))
    analyze(engine)
    print(f"seeded {args.grids} grids, {town.staff} staff, {args.residents:,} residents, "
          f"{args.tickets:,} tickets ({len(seeder.marks):,} overdue marks) "
          f"in {time.perf_counter() - began:.1f} s")
    return town


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default=f"sqlite:///{ROOT / 'instance' / 'bench_console.db'}",
                        help=f"default: an SQLite file under instance/ (PostgreSQL: {PG_DEFAULT})")
    parser.add_argument("--grids", type=int, default=100)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    (ROOT / "instance").mkdir(exist_ok=True)

    from runtime.build import build_runtime
    from web import create_app

    settings = load_settings()
    settings = dataclasses.replace(
        settings, database_url=args.database_url,
        console=ConsoleSettings(secret_key="bench-console-secret", secure_cookies=False))
    services = build_services(settings)
    engine = bench_engine(args.database_url, "bench_console")
    town = seed(engine, services, args)
    runtime = build_runtime(settings, engine=engine)
    app = create_app(runtime)
    centre, leader = 1, 3  # township(): the centre first, the county, then the leaders

    def client_as(person_id: int) -> Any:
        client = app.test_client()
        with client.session_transaction() as session:
            session["uid"] = person_id
            session["csrf"] = "bench"
        return client

    as_centre, as_leader = client_as(centre), client_as(leader)
    some_ticket = args.tickets // 2
    pages = [
        ("dashboard, centre (township)", as_centre, "/console/"),
        ("dashboard, leader (village)", as_leader, "/console/"),
        ("tickets, unfiltered", as_centre, "/console/tickets"),
        ("tickets, open + overdue", as_centre, "/console/tickets?status=open&overdue=1"),
        ("tickets, one village", as_centre, "/console/tickets?grid=6403230010003"),
        ("tickets, text search", as_centre, "/console/tickets?q=%E8%B7%AF%E7%81%AF"),
        ("tickets, page 50", as_centre, "/console/tickets?page=50"),
        ("tickets, leader's list", as_leader, "/console/tickets?status=open"),
        ("one ticket", as_centre, f"/console/tickets/{some_ticket}"),
    ]
    print(f"database {engine.dialect.name}; {len(town.grid_ids)} grids; "
          f"{args.rounds} rounds per page (after one warm-up); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, client, path in pages:
        began = time.perf_counter()
        first = client.get(path)  # the dashboard's first: its monthly figures not cached yet
        cold = (time.perf_counter() - began) * 1000
        assert first.status_code == 200, (path, first.status_code, first.data[:200])
        times = []
        for _ in range(args.rounds):
            began = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200
        print(f"{name:32s} first {cold:7.1f} ms   median {statistics.median(times):7.1f} ms   "
              f"slowest {max(times):7.1f} ms   (target < 300 ms)")
    runtime.close()
    engine.dispose()


if __name__ == "__main__":
    main()
