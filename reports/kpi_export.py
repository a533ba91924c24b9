"""The month's 考单 as files Excel opens right, built as bytes (the CLI writes them, the console
serves them).

* :func:`kpi_csv`: the KPI table (per grid, per worker, the total), UTF-8 **with a BOM** (Excel
  on Chinese Windows reads a CSV without one as GBK and shows mojibake), rates as ``75.0%``
  text, as ``bot.py report --format csv`` always printed them.
* :func:`kpi_xlsx`: a workbook whose numbers are numbers and whose rates are numbers shown with
  a ``0.0%`` format (sortable, summable), each sheet with a title row, a bold header row
  frozen with the title above the data, an autofilter over the table, and column widths that fit
  Chinese text: 考单 (the CSV's table), 按网格, 按网格员, 按类别, and 工单明细 (every ticket of
  the month, text trimmed, phone and ID numbers masked). Written in openpyxl's write-only mode,
  so a county's month (100,000+ tickets) streams instead of holding every cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from cases import wording as core_texts
from cases.kpi import LEVELS, KpiReport, KpiRow
from cases.ladder import Level
from cases.model import Rating, Role, Status
from reports.month import MonthReport, TicketLine

PERCENT = "0.0%"
DATETIME = "yyyy-mm-dd hh:mm"
SCOPES = {"grid": "按网格", "worker": f"按{core_texts.ROLE_LABELS[Role.WORKER]}",
          "category": "按类别", "source": "按来源", "total": "合计"}
RATES = ["按时接单率", "按时办结率", "办结率", "满意率"]
LEVEL_HEADERS = [f"{core_texts.LEVEL_LABELS[Level(level)]}办结占比" for level in LEVELS]
HEADERS = ["范围", "排名", "名称", "工单数", *RATES, "未评价", *LEVEL_HEADERS]
YES, NO = "是", "否"


def percent(value: float | None) -> str:
    """A rate as text (``75.0%``), ``—`` when there is none."""
    return "—" if value is None else f"{value * 100:.1f}%"


def _rates(row: KpiRow) -> list[float | None]:
    return [row.on_time_acceptance, row.on_time_resolution, row.resolution_rate,
            row.satisfaction_rate]


def _shares(row: KpiRow) -> list[float | None]:
    return [row.level_share(level) for level in LEVELS]


def row_cells(row: KpiRow) -> list[str]:
    """A KPI row as the text of the table and the CSV."""
    return [
        SCOPES[row.scope], str(row.rank) if row.rank is not None else "—", row.name,
        str(row.tickets), *(percent(v) for v in _rates(row)), str(row.unrated),
        *(percent(v) for v in _shares(row)),
    ]


def shown_rows(report: KpiReport) -> list[KpiRow]:
    """Grids, workers, the sources when any order came from another system (12345 …), the
    total."""
    sources = report.sources if any(row.key for row in report.sources) else []
    return [*report.grids, *report.workers, *sources, report.total]


def report_rows(report: KpiReport) -> Iterator[list[str]]:
    """The table's rows: grids, workers, the sources (if any order came from another system),
    the total."""
    for row in shown_rows(report):
        yield row_cells(row)


def kpi_csv(report: KpiReport) -> bytes:
    """The KPI table as CSV bytes: UTF-8 with a BOM, CRLF line ends (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(report_rows(report))
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its header, how to get a row's value, its number format, its width
    in characters (a Chinese character counts two)."""

    header: str
    value: Callable[[Any], Any]
    number_format: str | None = None
    width: float = 10


def _kpi_columns(name_header: str, ranked: bool) -> list[Column]:
    columns = [Column("排名", lambda r: r.rank, width=6)] if ranked else []
    columns += [
        Column(name_header, lambda r: r.name, width=24),
        Column("工单数", lambda r: r.tickets, "0", 8),
        Column("按时接单率", lambda r: r.on_time_acceptance, PERCENT, 12),
        Column("按时办结率", lambda r: r.on_time_resolution, PERCENT, 12),
        Column("办结率", lambda r: r.resolution_rate, PERCENT, 10),
        Column("满意率", lambda r: r.satisfaction_rate, PERCENT, 10),
        Column("未评价", lambda r: r.unrated, "0", 8),
    ]
    columns += [Column(header, _share_of(level), PERCENT, 14)
                for header, level in zip(LEVEL_HEADERS, LEVELS, strict=True)]
    return columns


def _share_of(level: str) -> Callable[[KpiRow], float | None]:
    return lambda row: row.level_share(level)


_SUMMARY = [Column("范围", lambda r: SCOPES[r.scope], width=10), *_kpi_columns("名称", True)]


def _local(when: datetime | None, tz: tzinfo) -> datetime | None:
    """Township time without a zone (Excel has none)."""
    return None if when is None else when.astimezone(tz).replace(tzinfo=None)


def _ticket_columns(report: MonthReport) -> list[Column]:
    tz = report.tz
    statuses = core_texts.STATUS_LABELS
    ratings = core_texts.RATING_LABELS
    return [
        Column("工单号", lambda t: t.id, "0", 8),
        Column("创建时间", lambda t: _local(t.created_at, tz), DATETIME, 17),
        Column("类别", lambda t: report.category_name(t.category), width=10),
        Column("网格", lambda t: t.grid, width=18),
        Column("处理人", lambda t: t.worker, width=10),
        Column("状态", lambda t: statuses[Status(t.status)], width=8),
        Column("办结时限", lambda t: _local(t.resolve_due, tz), DATETIME, 17),
        Column("办结时间", lambda t: _local(t.resolved_at, tz), DATETIME, 17),
        Column("结单时间", lambda t: _local(t.closed_at, tz), DATETIME, 17),
        Column("按时办结", lambda t: None if t.on_time is None else (YES if t.on_time else NO),
               width=10),
        Column("评价", lambda t: ratings[Rating(t.rating)] if t.rating else None, width=8),
        Column("内容", lambda t: t.text, width=60),
    ]


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _sheet(book: Any, name: str, title: str, columns: Sequence[Column],
           rows: Iterable[Any], count: int) -> None:
    """One sheet: the title in row 1, the bold header in row 2 (frozen with the title), an
    autofilter over the header and the ``count`` rows below it."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = book.create_sheet(name)
    sheet.freeze_panes = "A3"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[_letter(index)].width = column.width
    last = _letter(len(columns))
    sheet.auto_filter.ref = f"A2:{last}{count + 2}"
    heading = WriteOnlyCell(sheet, value=title)
    heading.font = Font(bold=True, size=12)
    sheet.append([heading])
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    # one styled cell per formatted column, its value replaced row by row: the write-only sheet
    # writes each row as it is appended, so the cell is free again at the next one (building a
    # styled cell per value costs more than writing it)
    styled: list[Any] = []
    for column in columns:
        cell = None
        if column.number_format is not None:
            cell = WriteOnlyCell(sheet)
            cell.number_format = column.number_format
        styled.append(cell)
    getters = [column.value for column in columns]
    pairs = list(zip(getters, styled, strict=True))
    for row in rows:
        cells: list[Any] = []
        for get, cell in pairs:
            value = get(row)
            if cell is not None and value is not None:
                cell.value = value
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)


def kpi_xlsx(report: MonthReport) -> bytes:
    """The month's workbook as bytes (sheets: 考单, 按网格, 按网格员, 按类别, 工单明细)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    kpis = report.kpis
    summary = shown_rows(kpis)
    note = f"（工单数少于 {kpis.min_cases} 的不参与排名；满意率不含未评价）"
    _sheet(book, "考单", report.title + note, _SUMMARY, summary, len(summary))
    worker = core_texts.ROLE_LABELS[Role.WORKER]
    _sheet(book, "按网格", f"{report.title} 按网格", _kpi_columns("网格", True),
           kpis.grids, len(kpis.grids))
    _sheet(book, f"按{worker}", f"{report.title} 按{worker}", _kpi_columns(worker, True),
           kpis.workers, len(kpis.workers))
    _sheet(book, "按类别", f"{report.title} 按类别", _kpi_columns("类别", False),
           report.categories, len(report.categories))
    _sheet(book, "工单明细", f"{report.title} 工单明细（共 {len(report.tickets)} 张，"
                         "电话和身份证号已隐去）", _ticket_columns(report),
           report.tickets, len(report.tickets))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


__all__ = ["HEADERS", "MonthReport", "TicketLine", "kpi_csv", "kpi_xlsx", "percent",
           "report_rows", "row_cells"]
