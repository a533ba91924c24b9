"""Cost of reading every message in the context of pending prompts, at a city's size.

Every text message a person sends now first looks up their pending prompts (``store.prompts``),
and a reply to the rating prompt is read by ``cases.rating_reply``. This prints:

* the look-up of one person's prompts in a table holding P prompts of P/2 people (half of them
  with none: the common case), median and p99 in microseconds, SQLite or PostgreSQL;
* replies read per second by the pure reader, over a mix of ratings and non-ratings.

    python bench/conversation.py                      # P=200000 on a temporary SQLite file
    python bench/conversation.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from cases.rating_reply import read_rating_reply  # noqa: E402
from store.db import make_engine, make_session_factory, transaction  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.models import Person, Ticket  # noqa: E402
from store.prompts import PendingPrompt, live_prompts  # noqa: E402

REPLIES = [
    "好的，挺满意", "还行吧", "2 一般般", "3 师傅根本没来", "不满意，问题还在", "满意 谢谢", "挺好的",
    "差评", "不行", "没解决", "没人来", "１", "非常满意！！", "不太满意，来得太晚", "没有不满意",
    "楼道里的灯又坏了", "3号楼的下水道又堵了", "一般什么时候来修", "好的", "收到", "谢谢你们",
    "我家门口的下水道堵了，污水都冒到路面上了", "城乡居民医保怎么交费", "修好了吗",
]


def fill(engine, prompts: int) -> int:  # type: ignore[no-untyped-def]
    """``prompts`` rating prompts of ``prompts // 2`` people on as many tickets; returns people."""
    people = prompts
    now = datetime.now(UTC)
    factory = make_session_factory(engine)
    batch = 10_000
    with transaction(factory) as session:
        for start in range(1, people + 1, batch):
            ids = range(start, min(start + batch, people + 1))
            session.execute(insert(Person), [
                {"id": i, "userid": f"r{i}", "name": "", "role": "resident", "active": True}
                for i in ids])
        for start in range(1, prompts + 1, batch):
            ids = range(start, min(start + batch, prompts + 1))
            session.execute(insert(Ticket), [
                {"id": i, "status": "resolved", "category": "other", "tier": "general",
                 "urgent": False, "text": "下水道堵了", "classification": {},
                 "reporter_id": (i - 1) % (people // 2) + 1, "channel": "app", "reply_to": {},
                 "level": "worker", "deadlines_provisional": False, "created_at": now}
                for i in ids])
            session.execute(insert(PendingPrompt), [
                {"person_id": (i - 1) % (people // 2) + 1, "kind": "rating", "ticket_id": i,
                 "data": {}, "reprompted": False, "created_at": now,
                 "expires_at": now + timedelta(days=7)}
                for i in ids])
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE pending_prompts"))
    return people


def lookups(engine, people: int, n: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Microseconds per prompt look-up, and per primary-key read of the person (the baseline
    every message already pays), in one open transaction as the router has it."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    prompt_times, person_times = [], []
    with make_session_factory(engine)() as session:
        for _ in range(n):
            person = rng.randint(1, people)
            start = time.perf_counter()
            session.get(Person, person)
            middle = time.perf_counter()
            live_prompts(session, person, now)
            end = time.perf_counter()
            person_times.append((middle - start) * 1e6)
            prompt_times.append((end - middle) * 1e6)
            session.expunge_all()
    return sorted(prompt_times), sorted(person_times)


@contextmanager
def database(server: str | None, tmp: Path) -> Iterator[str]:
    """A SQLite file in ``tmp``, or a schema of its own on the PostgreSQL server, dropped after."""
    if not server:
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--prompts", type=int, default=200_000)
    parser.add_argument("--n", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, Path(tmp)) as url:
        engine = make_engine(url)
        upgrade(engine)
        people = fill(engine, args.prompts)
        times, baseline = lookups(engine, people, args.n)
        engine.dispose()
    print(f"prompt look-up ({engine.dialect.name}, {args.prompts} prompts, {people} people): "
          f"median {statistics.median(times):.0f} µs, p99 {times[int(len(times) * 0.99)]:.0f} µs "
          f"(reading the person by primary key: median {statistics.median(baseline):.0f} µs, "
          f"p99 {baseline[int(len(baseline) * 0.99)]:.0f} µs)")
    rounds = 2_000
    start = time.perf_counter()
    for _ in range(rounds):
        for reply in REPLIES:
            read_rating_reply(reply)
    rate = rounds * len(REPLIES) / (time.perf_counter() - start)
    print(f"rating-reply reader: {rate:,.0f} replies/s")


if __name__ == "__main__":
    main()
