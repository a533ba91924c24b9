"""Routing alone: what one resident's report costs the inbox processor, and where it goes.

A database with the sample township and 3,000 registered residents; ``--messages`` DISTINCT
reports (the texts of ``bench/end_to_end.py``) recorded in the inbox as the callbacks record
them; then one :class:`handlers.intake.InboxProcessor` routes them all, in rounds of
``--round`` messages, as ``serve``'s router process does. Printed per round: messages routed
per second, CPU milliseconds and SQL statements per message (so a round late in the run shows
how the cost grows with the tickets already open). ``--profile`` prints the functions that took
the most time (cProfile, cumulative).

    python bench/routing.py                                  # SQLite, 2,000 messages
    python bench/routing.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/routing.py --messages 500 --profile 30
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402
from callback_load import bench_database  # noqa: E402
from end_to_end import distinct_reports, seed_residents  # noqa: E402
from sqlalchemy import event  # noqa: E402

from settings import load_settings  # noqa: E402
from wecom.simulator.payloads import app_text, to_xml  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--round", type=int, default=500, help="messages per printed round")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N functions with the most cumulative time")
    args = parser.parse_args()

    from runtime.build import build_runtime
    from runtime.database import prepare_database
    from store.migrate import upgrade
    from wecom.inbound import from_app_xml

    tmp = Path(tempfile.mkdtemp(prefix="gridbot-routing-"))
    database_url, drop = bench_database(args.database_url, tmp)
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for key in ("classifier", "faq"):
        if isinstance(raw.get(key), dict):
            for name, value in raw[key].items():
                if isinstance(value, str) and (ROOT / value).exists():
                    raw[key][name] = str(ROOT / value)
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    os.environ["DATABASE_URL"] = database_url
    settings = load_settings(config, environ={"DATABASE_URL": database_url})
    try:
        from store.db import make_engine

        engine = make_engine(database_url)
        upgrade(engine)
        engine.dispose()
        engine = prepare_database(settings, migrate=False)
        senders = seed_residents(database_url)
        runtime = build_runtime(settings, engine=engine)
        texts = distinct_reports(args.messages, seed=7, taken=set())
        for i, text in enumerate(texts):
            fields = {"ToUserName": settings.wecom.corp_id, "AgentID": settings.wecom.agent_id,
                      **app_text(senders[i % len(senders)], text, msg_id=f"route{i}")}
            fields = {key: str(value) for key, value in fields.items()}
            runtime.intake(from_app_xml(fields, to_xml(fields)))
        statements = [0]

        @event.listens_for(engine, "before_cursor_execute")
        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements[0] += 1
            if os.environ.get("ROUTING_SQL") and statements[0] < 200:
                print(" ".join(statement.split())[:int(os.environ.get("ROUTING_SQL_WIDTH", "160"))])

        profiler = cProfile.Profile() if args.profile else None
        print(f"routing alone, {'PostgreSQL' if 'postgresql' in database_url else 'SQLite'}: "
              f"{args.messages} distinct reports from {len(senders)} residents", flush=True)
        print("round  messages  msg/s  CPU ms/msg  SQL/msg", flush=True)
        done, n = 0, 0
        while done < args.messages:
            n += 1
            cpu0, wall0, sql0, routed = time.process_time(), time.perf_counter(), statements[0], 0
            if profiler:
                profiler.enable()
            while routed < args.round and (taken := runtime.processor.run_once()):
                routed += taken
            if profiler:
                profiler.disable()
            if not routed:
                break
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            done += routed
            print(f"{n:5d} {routed:9d} {routed / wall:6.1f} {1000 * cpu / routed:11.2f} "
                  f"{(statements[0] - sql0) / routed:8.1f}", flush=True)
        if profiler:
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("ROUTING_SORT", "cumulative"))
            stats.print_stats(args.profile)
            if os.environ.get("ROUTING_CALLERS"):  # who calls the functions matching it
                stats.print_callers(os.environ["ROUTING_CALLERS"])
        runtime.close()
        engine.dispose()
    finally:
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
