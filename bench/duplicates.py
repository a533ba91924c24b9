"""Benchmark: the duplicate search of one report, with 100 and with 10,000 open candidates.

    python bench/duplicates.py                        # SQLite (a temporary file)
    python bench/duplicates.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds (into a schema of its own, ``bench_duplicates``, on PostgreSQL) a small township and N
open original tickets of one grid and category created in the last day, their texts the
labelled grid-chat reports (``tests/data/grid_chat_*.csv``) with a number each, indexed as intake
indexes them (``cases.duplicate_index``). Then, for 60 reports (a third rewordings of a seeded
ticket, the rest other reports), prints the median time of ``cases.intake.find_duplicate`` and
the rows it reads, beside the search as it was (every open ticket of the grid and category
loaded and compared).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from seeding import ROOT, analyze, bench_engine, bulk_insert, township
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from cases.duplicates import WINDOW, best_match, bigrams, prefix
from cases.intake import find_duplicate
from cases.model import OPEN_STATUSES
from store.clock import utcnow
from store.db import make_session_factory
from store.models import Grid, Ticket, TicketMatchKey
from store.roster import load_index

CATEGORY = "safety"


def corpus() -> list[str]:
    texts = []
    for name in ("grid_chat_dev.csv", "grid_chat_test.csv"):
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle) if len(row["text"]) >= 6]
    return texts


def old_find(session: Session, area: set[int], text: str, now) -> Ticket | None:  # type: ignore[no-untyped-def]
    """The search as it was: every open original of the area and category, compared."""
    candidates = session.scalars(select(Ticket).where(
        Ticket.grid_id.in_(area), Ticket.category == CATEGORY,
        Ticket.status.in_([str(s) for s in OPEN_STATUSES]), Ticket.duplicate_of_id.is_(None),
        Ticket.created_at >= now - WINDOW)).all()
    found = best_match(text, ((t.id, t.text) for t in candidates))
    return None if found is None else next(t for t in candidates if t.id == found[0])


class Rows:
    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, state):  # type: ignore[no-untyped-def]
        if not state.is_select:
            return None
        frozen = state.invoke_statement().freeze()
        self.rows += len(frozen().all())
        return frozen()


def measure(url: str, size: int, texts: list[str]) -> None:
    engine = bench_engine(url, "bench_duplicates")
    town = township(engine, grids=10, residents=100)
    grid_id = town.grid_ids[0]
    now = utcnow()
    rng = random.Random(size)
    seeded: list[str] = []
    rows, keys = [], []
    for i in range(1, size + 1):
        body = f"{rng.choice(texts)}（{i}号）"
        seeded.append(body)
        created = now - timedelta(minutes=rng.randrange(1, 24 * 60))
        rows.append((i, "dispatched", CATEGORY, "general", False, body, {}, grid_id,
                     town.residents[0], "app", {}, town.workers[0], "worker", created, False))
        grams = bigrams(body)
        keys += [(i, gram, CATEGORY, grid_id, len(grams), created) for gram in prefix(grams)]
    bulk_insert(engine, Ticket.__table__, (
        "id", "status", "category", "tier", "urgent", "text", "classification", "grid_id",
        "reporter_id", "channel", "reply_to", "assignee_id", "level", "created_at",
        "deadlines_provisional"), rows)
    bulk_insert(engine, TicketMatchKey.__table__,
                ("ticket_id", "gram", "category", "grid_id", "size", "created_at"), keys)
    analyze(engine)
    reports = [seeded[rng.randrange(size)].replace("了", "").replace("的", "") + "，快来看看"
               for _ in range(20)] + [f"{rng.choice(texts)}！" for _ in range(40)]
    factory = make_session_factory(engine)
    with factory() as session:
        roster = load_index(session)
        grid = session.get(Grid, grid_id)
        area = roster.subtree(roster.enclosing(grid_id, "grid"))
        results = {}
        for label, search in (
            ("bounded (prefix index)",
             lambda text: find_duplicate(session, roster, grid, CATEGORY, text, now)),
            ("as it was (all candidates)", lambda text: old_find(session, area, text, now)),
        ):
            times, found, counter = [], 0, Rows()
            event.listen(session, "do_orm_execute", counter)
            for text in reports:
                session.expunge_all()
                began = time.perf_counter()
                hit = search(text)
                times.append(time.perf_counter() - began)
                found += hit is not None
            event.remove(session, "do_orm_execute", counter)
            results[label] = found
            print(f"{engine.dialect.name:10} {size:>7,} open  {label:28} median "
                  f"{statistics.median(times) * 1000:7.2f} ms  p90 "
                  f"{statistics.quantiles(times, n=10)[-1] * 1000:7.2f} ms  rows read per "
                  f"report {counter.rows / len(reports):8.1f}  duplicates found {found}/60",
                  flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--sizes", default="100,10000")
    args = parser.parse_args()
    texts = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        for size in (int(s) for s in args.sizes.split(",")):
            measure(url, size, texts)


if __name__ == "__main__":
    main()
