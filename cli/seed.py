"""``bot.py seed``: build a county-sized database for load tests and capacity planning.

    python bot.py seed                                     # 1,000 grids, 20,000 staff,
                                                           # 200,000 residents, 1,000,000 tickets
    python bot.py seed --grids 100 --staff 2000 --residents 20000 --tickets 100000
    python bot.py seed --write-config county.yaml   # and the config to run GridBot on it

Seeds the database of the config (``database.url`` / ``DATABASE_URL``), migrated to the newest
schema first, with a generated county (``runtime.seed``): its grid tree, staff on duty,
residents and a year of tickets. The database must be empty: seeding gives its own ids. Its grid
tree and staff are not the config's, and every command that opens the database (``serve``,
``report`` …) syncs the roster from its config, deactivating staff the config does not list:
``--write-config FILE`` writes a copy of the config with the seeded tree and staff, to run them
with (``bot.py --config FILE report``). The copy keeps the config's ``database`` (secrets stay in
the environment): give it the same ``DATABASE_URL`` as the seed. PostgreSQL loads with ``COPY``: 1,000,000
tickets take about 10 minutes on two cores.
"""

from __future__ import annotations

import argparse
import sys

from cli.common import settings_from


def cmd_seed(args: argparse.Namespace) -> int:
    from cases.calendar import WorkCalendar
    from runtime.seed import is_empty, seed_county
    from store.db import make_engine
    from store.migrate import upgrade

    settings = settings_from(args)
    for name in ("grids", "staff", "residents", "tickets"):
        if getattr(args, name) < 1:
            print(f"--{name} must be at least 1", file=sys.stderr)
            return 2
    if args.staff < args.grids + args.grids // 10 + 2:
        print(f"--staff must cover a worker per grid, a leader per 10 grids and the two centres: "
              f"at least {args.grids + args.grids // 10 + 2}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        if not is_empty(engine):
            print("the database already holds grids, people or tickets: seed an empty one "
                  "(e.g. createdb, then DATABASE_URL=… bot.py seed)", file=sys.stderr)
            return 2
        seed_county(engine, settings.sla, WorkCalendar.from_settings(settings.calendar,
                                                                     settings.sla),
                    grids=args.grids, staff=args.staff, residents=args.residents,
                    tickets=args.tickets, seed=args.seed,
                    say=lambda line: print(line, flush=True))
    finally:
        engine.dispose()
    print(f"database {settings.database_url.split('://', 1)[0]} seeded: a county of "
          f"{args.grids:,} grids and {args.tickets:,} tickets")
    if args.write_config:
        _write_config(args, settings.database_url)
    return 0


def _write_config(args: argparse.Namespace, database_url: str) -> None:
    from pathlib import Path

    import yaml

    from runtime.seed import county_config
    from store.db import make_engine

    base = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    source = Path(args.config).resolve().parent
    for key in ("rules", "faq", "userdict"):  # the copy may live elsewhere: absolute paths
        value = (base.get("classifier") or {}).get(key)
        if value and not Path(value).is_absolute() and (source / value).exists():
            base["classifier"][key] = str(source / value)
    engine = make_engine(database_url)
    try:
        document = county_config(engine, base)
    finally:
        engine.dispose()
    Path(args.write_config).write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"config with the seeded grid tree and {len(document['roster']):,} staff written to "
          f"{args.write_config}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``seed`` on bot.py's sub-parsers."""
    seed = sub.add_parser("seed", help="build a county-sized database (load tests, capacity)")
    seed.add_argument("--grids", type=int, default=1000, help="grid-level nodes (1,000)")
    seed.add_argument("--staff", type=int, default=20_000,
                      help="staff: a worker per grid, a leader per 10, micro-grid members (20,000)")
    seed.add_argument("--residents", type=int, default=200_000, help="residents (200,000)")
    seed.add_argument("--tickets", type=int, default=1_000_000,
                      help="tickets over the last 12 months (1,000,000)")
    seed.add_argument("--seed", type=int, default=12, help="random seed (12)")
    seed.add_argument("--write-config", metavar="FILE",
                      help="also write the config (this one with the seeded grid tree and "
                           "staff) to run GridBot on the seeded database with")
    seed.set_defaults(func=cmd_seed)
