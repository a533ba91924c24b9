"""Benchmark: what reaching residents outside the roster costs the database.

    python bench/resident_routes.py                  # 2,000 residents on SQLite
    python bench/resident_routes.py --residents 500 --database-url postgresql+psycopg://…/bench

What it prints, each step in transactions of 100 (as the inbox processor and the outbox worker
run them), on a database already holding ``--residents`` enrolled residents:

* **enrol**: first messages of unknown members of a grid group (``cases.residents.recognise``),
  per message;
* **plan + queue**: a message to each resident on their first route with the others held behind
  it (``notify.residents.send_to_resident``), per message and outbox rows written;
* **fallback**: every app row answered ``invaliduser`` — the route marked unusable and the held
  group row released (``notify.residents.after_delivery``), per outcome;
* **success**: every released group row delivered — its held followers skipped, per outcome.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, update  # noqa: E402

from cases.residents import recognise  # noqa: E402
from notify.residents import after_delivery, send_to_resident  # noqa: E402
from settings import parse_settings  # noqa: E402
from store.clock import utcnow  # noqa: E402
from store.db import make_engine, make_session_factory, transaction  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.models import GroupChat, OutboxMessage, Person  # noqa: E402
from store.roster import sync_township  # noqa: E402

BATCH = 100


def timed(label: str, count: int, started: float, extra: str = "") -> None:
    seconds = time.perf_counter() - started
    print(f"{label:<14} {count:>6} in {seconds:6.2f} s  {1000 * seconds / count:6.2f} ms each"
          f"{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": url}
    settings = parse_settings(raw, base_dir=ROOT, environ={}, source=ROOT / "config.yaml")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        sync_township(session, settings)
        groups = list(session.scalars(select(GroupChat).order_by(GroupChat.id)))
    userids = [f"bench{i:06d}" for i in range(args.residents)]
    print(f"database: {engine.dialect.name}, {args.residents} residents")

    started = time.perf_counter()
    for start in range(0, len(userids), BATCH):
        with transaction(factory) as session:
            chats = {g.chat_id: g for g in session.scalars(select(GroupChat))}
            for i, userid in enumerate(userids[start:start + BATCH], start):
                group = chats[groups[i % len(groups)].chat_id]
                recognise(session, userid, one_to_one_app=False, group=group, now=utcnow())
    timed("enrol", len(userids), started)

    started = time.perf_counter()
    for start in range(0, len(userids), BATCH):
        with transaction(factory) as session:
            people = session.scalars(select(Person).where(
                Person.userid.in_(userids[start:start + BATCH])))
            for person in people:
                person.app_reachable = None if person.id % 2 else True  # half proven 1:1
                send_to_resident(session, person, key=f"bench:{person.userid}",
                                 text="工单已办结，请评价：回复 1 满意 / 2 一般 / 3 不满意",
                                 ticket_id=None, reply_hint="（在群里回复请先 @网格通）")
    with factory() as session:
        rows = len(session.scalars(select(OutboxMessage.id)).all())
    timed("plan + queue", len(userids), started, f"  ({rows} outbox rows)")

    with factory() as session:
        app_rows = list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.channel == "app", OutboxMessage.status == "pending")))
    started = time.perf_counter()
    for start in range(0, len(app_rows), BATCH):
        with transaction(factory) as session:
            for row_id in app_rows[start:start + BATCH]:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                    status="failed", last_error="invaliduser: bench"))
                after_delivery(session, row_id, ok=False, final=True, now=utcnow())
    timed("fallback", max(1, len(app_rows)), started)

    with factory() as session:
        group_rows = list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.channel == "webhook", OutboxMessage.status == "pending")))
    started = time.perf_counter()
    for start in range(0, len(group_rows), BATCH):
        with transaction(factory) as session:
            for row_id in group_rows[start:start + BATCH]:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                    status="sent"))
                after_delivery(session, row_id, ok=True, final=False, now=utcnow())
    timed("success", max(1, len(group_rows)), started)
    with factory() as session:
        held = session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status == "held")).all()
    print(f"held rows left: {len(held)} (must be 0)")
    engine.dispose()


if __name__ == "__main__":
    main()
