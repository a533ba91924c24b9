"""``bot.py report``: the 考单 KPI table of a month, per grid and per worker.

    python bot.py report --month 2026-11 [--grid 640323001001] [--format table|csv|xlsx] [--out F]

``table`` prints aligned text; ``csv`` writes UTF-8 with a BOM (Excel opens it correctly) to
``--out`` or stdout; ``xlsx`` needs ``--out``. Rows below ``report.min_cases`` tickets are listed
without a rank.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from datetime import datetime

from cases import wording as core_texts
from cases.kpi import LEVELS, KpiReport, KpiRow, kpi_rows
from cases.ladder import Level
from cases.model import Role
from cli.common import settings_from

SCOPES = {"grid": "按网格", "worker": f"按{core_texts.ROLE_LABELS[Role.WORKER]}", "total": "合计"}
HEADERS = ["范围", "排名", "名称", "工单数", "按时接单率", "按时办结率", "办结率", "满意率",
           "未评价", *(f"{core_texts.LEVEL_LABELS[Level(level)]}办结占比" for level in LEVELS)]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def row_cells(row: KpiRow) -> list[str]:
    return [
        SCOPES[row.scope], str(row.rank) if row.rank is not None else "—", row.name,
        str(row.tickets), percent(row.on_time_acceptance), percent(row.on_time_resolution),
        percent(row.resolution_rate), percent(row.satisfaction_rate), str(row.unrated),
        *(percent(row.level_share(level)) for level in LEVELS),
    ]


def report_rows(report: KpiReport) -> Iterator[list[str]]:
    for row in [*report.grids, *report.workers, report.total]:
        yield row_cells(row)


def render_table(report: KpiReport, title: str) -> str:
    rows = [HEADERS, *report_rows(report)]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [title]
    for cells in rows:
        padded = (c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))
        lines.append("  ".join(padded).rstrip())
    lines.append(f"（工单数少于 {report.min_cases} 的不参与排名；满意率不含未评价）")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def render_csv(report: KpiReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(report_rows(report))
    return buffer.getvalue()


def write_xlsx(report: KpiReport, path: str, title: str) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "考单"
    sheet.append([title])
    sheet.append(HEADERS)
    for row in [*report.grids, *report.workers, report.total]:
        cells: list[object] = row_cells(row)
        cells[1] = row.rank
        cells[3] = row.tickets
        cells[8] = row.unrated
        sheet.append(cells)
    book.save(path)


def cmd_report(args: argparse.Namespace) -> int:
    from cases.calendar import WorkCalendar
    from cases.kpi_query import load_facts, month_bounds, this_month
    from runtime.database import prepare_database
    from store.db import make_session_factory

    settings = settings_from(args)
    tz = WorkCalendar.from_settings(settings.calendar).tz
    month = args.month or this_month(datetime.now(tz).date())
    try:
        start, end = month_bounds(month, tz)
    except ValueError:
        print(f"--month must look like 2026-11, got {month!r}", file=sys.stderr)
        return 2
    engine = prepare_database(settings, migrate=False)
    with make_session_factory(engine)() as session:
        try:
            facts = load_facts(session, start, end, args.grid)
        except LookupError:
            print(f"unknown grid code {args.grid}", file=sys.stderr)
            return 2
    report = kpi_rows(facts, settings.report.min_cases)
    title = f"{settings.township} {month} 考单" + (f"（网格 {args.grid}）" if args.grid else "")
    if args.format == "xlsx":
        if not args.out:
            print("--format xlsx needs --out FILE", file=sys.stderr)
            return 2
        write_xlsx(report, args.out, title)
        print(f"written {args.out}")
        return 0
    text = render_csv(report) if args.format == "csv" else render_table(report, title) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8-sig" if args.format == "csv" else "utf-8",
                  newline="") as handle:
            handle.write(text)
        print(f"written {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``report`` on bot.py's sub-parsers."""
    report = sub.add_parser("report", help="考单: KPIs per grid and per worker for a month")
    report.add_argument("--month", help="YYYY-MM (default: this month)")
    report.add_argument("--grid", help="only this grid code and the grids below it")
    report.add_argument("--format", choices=("table", "csv", "xlsx"), default="table")
    report.add_argument("--out", help="write to this file (required for xlsx)")
    report.set_defaults(func=cmd_report)
