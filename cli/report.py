"""``bot.py report``: the 考单 KPI table of a month, per grid and per worker.

    python bot.py report --month 2026-11 [--grid 640323001001] [--format table|csv|xlsx] [--out F]

``table`` prints aligned text; ``csv`` writes UTF-8 with a BOM (Excel opens it correctly) to
``--out`` or stdout; ``xlsx`` needs ``--out``: a sheet per view (按网格, 按网格员, 按类别) and one
with every ticket of the month. The files are built by ``reports.kpi_export`` (as bytes, which
the console serves too). Rows below ``report.min_cases`` tickets are listed without a rank.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from cases.kpi import KpiReport
from cli.common import settings_from
from reports.kpi_export import HEADERS, kpi_csv, kpi_xlsx, report_rows


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


def _category_names(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from nlp.rules import load_rules

    try:
        rules = load_rules(settings.classifier.rules_path)
    except (OSError, ValueError):
        return {}
    return {category.code: category.name for category in rules.categories}


def cmd_report(args: argparse.Namespace) -> int:
    from cases.calendar import WorkCalendar
    from cases.kpi_query import this_month
    from reports.month import load_month_report
    from runtime.database import prepare_database
    from store.db import make_session_factory

    settings = settings_from(args)
    tz = WorkCalendar.from_settings(settings.calendar).tz
    month = args.month or this_month(datetime.now(tz).date())
    if args.format == "xlsx" and not args.out:
        print("--format xlsx needs --out FILE", file=sys.stderr)
        return 2
    engine = prepare_database(settings, migrate=False, sync_roster=False)  # reads only
    with make_session_factory(engine)() as session:
        try:
            report = load_month_report(
                session, month, tz, grid_code=args.grid, min_cases=settings.report.min_cases,
                category_names=_category_names(settings), township=settings.township,
                source_names={key: source.name for key, source in settings.sla.sources.items()},
                tickets=args.format == "xlsx")  # the ticket sheet: only the workbook has one
        except ValueError:
            print(f"--month must look like 2026-11, got {month!r}", file=sys.stderr)
            return 2
        except LookupError:
            print(f"unknown grid code {args.grid}", file=sys.stderr)
            return 2
    if args.format == "table":
        text = render_table(report.kpis, report.title) + "\n"
        if not args.out:
            sys.stdout.write(text)
            return 0
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        data = kpi_csv(report.kpis) if args.format == "csv" else kpi_xlsx(report)
        if not args.out:  # csv to stdout, BOM and all: `report --format csv > kpi.csv`
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return 0
        with open(args.out, "wb") as handle:
            handle.write(data)
    print(f"written {args.out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``report`` on bot.py's sub-parsers."""
    report = sub.add_parser("report", help="考单: KPIs per grid and per worker for a month")
    report.add_argument("--month", help="YYYY-MM (default: this month)")
    report.add_argument("--grid", help="only this grid code and the grids below it")
    report.add_argument("--format", choices=("table", "csv", "xlsx"), default="table")
    report.add_argument("--out", help="write to this file (required for xlsx)")
    report.set_defaults(func=cmd_report)

