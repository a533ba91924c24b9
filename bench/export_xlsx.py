"""Export bench: how long the month's workbook takes to build, how big it is and how much memory
it needs, for a county-sized month (``reports.kpi_export.kpi_xlsx``, openpyxl write-only).

Run from the repo root: ``python bench/export_xlsx.py [--tickets N] [--grids G]``. The report is
synthetic (no database: the query is measured by ``bench/county.py``): ``N`` tickets over ``G``
grids with a worker each, ten categories, texts of 40–120 characters with a phone number in one
of three, all the KPI views computed by ``cases.kpi`` from the same cases. Prints seconds,
tickets per second, the file's size and (``--memory``) the peak of Python memory while building.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cases.kpi import CaseFacts, kpi_rows  # noqa: E402
from reports.kpi_export import kpi_csv, kpi_xlsx  # noqa: E402
from reports.month import MonthReport, TicketLine, by_category, trimmed  # noqa: E402

CATEGORIES = ("dispute", "safety", "environment", "facility", "property", "security", "welfare",
              "care", "population", "other")
WORDS = "楼道里堆满了杂物下水道堵了污水冒到路面上路灯不亮邻居装修噪音太大电动车在楼道充电"


def synthetic(tickets: int, grids: int, seed: int = 11) -> MonthReport:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    facts: list[CaseFacts] = []
    lines: list[TicketLine] = []
    for n in range(1, tickets + 1):
        grid = rng.randrange(grids)
        created = start + timedelta(minutes=rng.randrange(30 * 24 * 60))
        accepted = created + timedelta(hours=rng.uniform(1, 30))
        due = accepted + timedelta(days=7)
        resolved = accepted + timedelta(days=rng.uniform(0.5, 9)) if rng.random() < 0.9 else None
        rating = rng.choice(("satisfied", "satisfied", "average", "unsatisfied", "unrated", None))
        text = "".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 120)))
        if n % 3 == 0:
            text += f"，电话1{rng.randrange(3, 10)}{rng.randrange(10**8, 10**9)}"
        case = CaseFacts(n, f"G{grid:04d}", f"第{grid}网格", f"网格员{grid}", accepted_at=accepted,
                         accept_due=created + timedelta(days=1), resolved_at=resolved,
                         resolve_due=due, rating=rating if resolved else None,
                         resolved_level="worker" if resolved else None)
        facts.append(case)
        lines.append(TicketLine(
            id=n, created_at=created, category=CATEGORIES[n % len(CATEGORIES)],
            grid=case.grid_name, worker=case.worker,
            status="closed" if resolved else "accepted", resolve_due=due, resolved_at=resolved,
            closed_at=resolved, on_time=case.resolved_on_time if case.resolve_judged else None,
            rating=case.rating, text=trimmed(text)))
    names = {code: code for code in CATEGORIES}
    return MonthReport(
        title="某县 2026-11 考单", month="2026-11", tz=ZoneInfo("Asia/Shanghai"),
        kpis=kpi_rows(facts), categories=by_category(facts, {t.id: t.category for t in lines},
                                                      names),
        tickets=lines, category_names=names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=137_000, help="tickets in the month")
    parser.add_argument("--grids", type=int, default=1_000)
    parser.add_argument("--memory", action="store_true",
                        help="also trace Python memory (a second build: tracing slows it)")
    args = parser.parse_args()
    report = synthetic(args.tickets, args.grids)
    t0 = time.perf_counter()
    data = kpi_xlsx(report)
    seconds = time.perf_counter() - t0
    peak = None
    if args.memory:
        tracemalloc.start()
        kpi_xlsx(report)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    t0 = time.perf_counter()
    csv_bytes = kpi_csv(report.kpis)
    csv_seconds = time.perf_counter() - t0
    print(f"xlsx: {args.tickets:,} tickets, {args.grids:,} grids: {seconds:.1f} s "
          f"({args.tickets / seconds:,.0f} tickets/s), {len(data) / 2**20:.1f} MiB"
          + (f", peak Python memory {peak / 2**20:.1f} MiB" if peak is not None else ""))
    print(f"csv (KPI table, {len(report.kpis.grids) + len(report.kpis.workers) + 1:,} rows): "
          f"{csv_seconds * 1000:.0f} ms, {len(csv_bytes) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
