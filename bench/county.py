"""Benchmark: a county's worth of data, and what staff and residents feel at that size.

    python bench/county.py                                   # 1,000 grids, 20,000 staff,
                                                             # 200,000 residents, 1,000,000 tickets
    python bench/county.py --tickets 200000                  # a quicker run
    python bench/county.py --database-url sqlite:///county.db

Seeds with ``runtime.seed`` (what ``bot.py seed`` runs; bulk ``COPY`` on PostgreSQL), into a
schema of its own, ``bench_county``:

* the grid tree: county → township → 100 villages → 1,000 grids; a worker per grid, a leader per
  village, the centre, and micro-grid members up to ``--staff``; ``--residents`` residents;
* ``--tickets`` tickets created over the last 12 months (more in recent months), categories
  weighted as reports come in, tiers from the category; older tickets mostly closed (rated
  满意/一般/不满意 or 未评价), some withdrawn or merged; recent ones still dispatched, accepted
  or resolved, with about 8% past a deadline (and the sweep's overdue mark);
  ``next_due_at`` as the state machine keeps it.

Then prints the wall time of:

* the last full month's 考单 report, counted by the database (``load_counts`` + ``kpi_report``,
  what ``bot.py report`` runs) and case by case (``load_facts`` + ``kpi_rows``, the reference
  and the report as it was); target < 5 s;
* a roster sync of the staff (``sync_township`` with every grid and staff member, 1% renamed,
  100 new and 100 leaving; target < 30 s);
* a worker's 任务 and a resident's 查询, through the command router (median of 5; target < 50 ms).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

import yaml
from seeding import PG_DEFAULT, ROOT, bench_engine
from sqlalchemy import Engine, create_engine, func, select

from cases.kpi import kpi_report as kpi_report_of
from cases.kpi import kpi_rows
from cases.kpi_query import load_counts, load_facts, month_bounds
from handlers.base import Context
from handlers.commands import command_handlers
from handlers.router import build_router
from runtime.seed import seed_county
from services.container import Services, build_services
from settings import parse_settings
from settings.model import GridNode, RosterEntry
from store.clock import utcnow
from store.db import make_session_factory
from store.models import Grid, InboundMessage, Membership, Person, Ticket
from store.roster import sync_township
from wecom.inbound import Incoming


def load_settings() -> Any:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return parse_settings(raw, base_dir=ROOT, environ={}, source=ROOT / "config.yaml")


def seed(engine: Engine, services: Services, args: argparse.Namespace) -> None:
    seed_county(engine, services.settings.sla, services.calendar, grids=args.grids,
                staff=args.staff, residents=args.residents, tickets=args.tickets)


def kpi_report(engine: Engine, services: Services, month: str | None = None) -> None:
    tz = services.calendar.tz
    month = month or (datetime.now(tz).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    start, end = month_bounds(month, tz)
    min_cases = services.settings.report.min_cases
    for label, run in (
        ("database counts (load_counts + kpi_report, what `bot.py report` runs)",
         lambda session: kpi_report_of(load_counts(session, start, end), min_cases)),
        ("case by case (load_facts + kpi_rows, the reference; the report before)",
         lambda session: kpi_rows(load_facts(session, start, end), min_cases)),
    ):
        runs = []
        for _ in range(3):  # the machine is shared: the best of three is the code's own figure
            began = time.perf_counter()
            with make_session_factory(engine)() as session:
                report = run(session)
            runs.append(time.perf_counter() - began)
        print(f"考单 report {month}, {label}: {report.total.tickets:,} cases, "
              f"{len(report.grids):,} grid rows, {len(report.workers):,} worker rows in "
              f"{min(runs):.2f} s best of 3 (median {statistics.median(runs):.2f} s; "
              f"target < 5 s)", flush=True)


def roster_sync(engine: Engine, services: Services) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        parents = dict(session.execute(select(Grid.id, Grid.code)).all())
        grids = tuple(
            GridNode(row.code, row.name, row.level, parents.get(row.parent_id))
            for row in session.execute(select(Grid).order_by(Grid.id)).scalars())
        staff = session.execute(  # the seeded staff hold one duty each
            select(Person.userid, Person.name, Person.role, Person.phone, Grid.code)
            .join(Membership, Membership.person_id == Person.id)
            .join(Grid, Grid.id == Membership.grid_id).order_by(Person.id)).all()
    roster = [RosterEntry(u, f"{n}改" if i % 100 == 0 else n, role, (code,), phone)
              for i, (u, n, role, phone, code) in enumerate(staff[100:])]
    roster += [RosterEntry(f"new{i}", f"新职员{i}", "micro", (staff[i][4],)) for i in range(100)]
    settings = dataclasses.replace(services.settings, grids=grids, roster=tuple(roster),
                                   groups=())
    began = time.perf_counter()
    with factory() as session, session.begin():
        sync_township(session, settings)
    took = time.perf_counter() - began
    print(f"roster sync of {len(roster):,} staff over {len(grids):,} grids "
          f"(1% renamed, 100 new, 100 leaving) in {took:.2f} s (target < 30 s)")


def command(engine: Engine, services: Services, userid: str, words: str) -> tuple[float, str]:
    router = build_router(command_handlers())
    runs, outcome = [], ""
    for n in range(5):
        with make_session_factory(engine)() as session:
            person = session.scalar(select(Person).where(Person.userid == userid))
            message = Incoming(channel="app", dedup_key=f"bench:{userid}:{n}", sender=userid,
                               kind="text", text=words)
            began = time.perf_counter()
            ctx = Context(session=session, message=message,
                          inbound=InboundMessage(dedup_key=message.dedup_key, channel="app",
                                                 sender=userid, kind="text", text=words),
                          person=person, group=None, services=services, now=utcnow())
            outcome = router.dispatch(ctx)
            session.flush()
            runs.append(time.perf_counter() - began)
            session.rollback()
    return statistics.median(runs), outcome


def commands(engine: Engine, services: Services) -> None:
    with engine.connect() as connection:
        worker = connection.scalar(
            select(Person.userid).join(Ticket, Ticket.assignee_id == Person.id)
            .where(Ticket.status.in_(["dispatched", "accepted"]))
            .group_by(Person.userid).order_by(func.count().desc()).limit(1))
        resident = connection.scalar(
            select(Person.userid).join(Ticket, Ticket.reporter_id == Person.id)
            .group_by(Person.userid).order_by(func.count().desc()).limit(1))
    for userid, words, who in ((worker, "任务", "a worker's"), (resident, "查询", "a resident's")):
        took, outcome = command(engine, services, userid, words)
        print(f"{who} {words} ({userid}): median {took * 1000:.1f} ms -> {outcome} "
              f"(target < 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=PG_DEFAULT)
    parser.add_argument("--grids", type=int, default=1000)
    parser.add_argument("--staff", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--month", help="the 考单 month (default: the last full month)")
    parser.add_argument("--schema", default="bench_county",
                        help="PostgreSQL schema to seed into (dropped first) or reuse")
    parser.add_argument("--reuse", action="store_true",
                        help="measure again on the data a previous run seeded (PostgreSQL)")
    args = parser.parse_args()
    services = build_services(load_settings())
    if args.reuse:
        engine = (create_engine(args.database_url) if args.database_url.startswith("sqlite")
                  else create_engine(args.database_url,
                                     connect_args={"options": f"-csearch_path={args.schema}"}))
    else:
        engine = bench_engine(args.database_url, args.schema)
        seed(engine, services, args)
    print(f"database {engine.dialect.name}")
    kpi_report(engine, services, args.month)
    commands(engine, services)
    roster_sync(engine, services)
    engine.dispose()


if __name__ == "__main__":
    main()
