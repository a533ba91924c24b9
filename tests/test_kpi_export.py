"""The month's 考单 files open right in Excel: the CSV starts with the UTF-8 BOM and round-trips;
the workbook stores numbers as numbers and rates as numbers with a % format, has a bold frozen
header row and an autofilter on every sheet, a sheet per view and one with every ticket of the
month (text trimmed, phone numbers masked). Built by ``reports`` as bytes, written by
``bot.py report``."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from reports.kpi_export import HEADERS, kpi_csv, kpi_xlsx, report_rows
from reports.month import TEXT_CHARS, load_month_report
from store.models import Grid, Person, Ticket
from tests.test_kpi_report import CST, GRID_B, _config, seed

NAMES = {"facility": "市政设施", "dispute": "矛盾纠纷"}
LONG = "楼下邻居天天半夜吵闹，联系电话13812345678，" + "实在受不了了" * 20
SHEETS = ["考单", "按网格", "按网格员", "按类别", "工单明细"]


@pytest.fixture
def seeded(session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as session:
        seed(session)
        zhangsan = session.scalar(select(Person).where(Person.userid == "zhangsan"))
        grid = session.scalar(select(Grid).where(Grid.code == GRID_B))
        session.add(Ticket(category="dispute", status="created", text=LONG, grid=grid,
                           reporter=zhangsan, created_at=datetime(2026, 11, 29, 20, tzinfo=CST)))
        session.commit()
    return session_factory


@pytest.fixture
def report(seeded):  # type: ignore[no-untyped-def]
    with seeded() as session:
        return load_month_report(session, "2026-11", CST, category_names=NAMES,
                                 township="高沙窝镇")


def test_csv_starts_with_the_bom_and_round_trips(report):
    data = kpi_csv(report.kpis)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [HEADERS, *report_rows(report.kpis)]
    by_name = {row[2]: dict(zip(HEADERS, row, strict=True)) for row in rows[1:]}
    assert by_name["东顺苑第一网格"]["按时接单率"] == "75.0%"
    assert by_name["合计"]["工单数"] == "8"


def _book(report):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(kpi_xlsx(report)))


def _table(sheet) -> tuple[list[str], list[dict[str, object]], list[tuple]]:  # type: ignore[no-untyped-def]
    rows = list(sheet.iter_rows(min_row=2))
    header = [cell.value for cell in rows[0]]
    body = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in rows[1:]]
    return header, body, rows


def test_every_sheet_has_a_bold_frozen_header_and_an_autofilter(report):
    book = _book(report)
    assert book.sheetnames == SHEETS
    for name in SHEETS:
        sheet = book[name]
        header, body, rows = _table(sheet)
        assert sheet["A1"].value.startswith("高沙窝镇 2026-11 考单"), name
        assert sheet.freeze_panes == "A3", name
        last = rows[0][-1].column_letter
        assert sheet.auto_filter.ref == f"A2:{last}{len(body) + 2}", name
        assert all(cell.font.bold for cell in rows[0]), name
        assert not any(cell.font.bold for row in rows[1:] for cell in row), name
        assert sheet.column_dimensions["A"].width >= 6, name


def test_numbers_are_numbers_and_rates_are_percent_formatted_numbers(report):
    book = _book(report)
    _, grids, rows = _table(book["按网格"])
    a = next(row for row in grids if row["网格"] == "东顺苑第一网格")
    assert (a["排名"], a["工单数"], a["未评价"]) == (1, 5, 1)
    assert a["按时接单率"] == pytest.approx(0.75) and isinstance(a["按时接单率"], float)
    assert a["办结率"] == pytest.approx(0.6)
    assert a["网格长办结占比"] == pytest.approx(1 / 3)
    cells = {cell.column_letter: cell for cell in rows[1]}
    header = {cell.value: cell.column_letter for cell in rows[0]}
    for rate in ("按时接单率", "按时办结率", "办结率", "满意率", "网格员办结占比"):
        assert cells[header[rate]].number_format == "0.0%", rate
        assert cells[header[rate]].data_type == "n", rate
    assert cells[header["工单数"]].data_type == "n"
    b = next(row for row in grids if row["网格"] == "西湖第一网格")
    assert b["排名"] is None  # too few cases to rank: an empty cell, not a dash
    assert b["满意率"] == 1.0
    assert b["县综治中心办结占比"] == 0.0

    _, summary, _ = _table(book["考单"])
    assert [row["名称"] for row in summary][-1] == "合计"
    assert summary[-1]["范围"] == "合计" and summary[-1]["工单数"] == 8
    _, workers, _ = _table(book["按网格员"])
    assert {row["网格员"]: row["工单数"] for row in workers} == {
        "李娟": 4, "王红": 1, "陈静": 1, "吴叔": 1, "—": 1}
    header, categories, _ = _table(book["按类别"])
    assert "排名" not in header
    assert [(row["类别"], row["工单数"]) for row in categories] == [("市政设施", 7),
                                                                  ("矛盾纠纷", 1)]
    assert categories[1]["办结率"] == 0.0 and categories[1]["满意率"] is None


def test_the_ticket_sheet_lists_every_ticket_of_the_month(report):
    _, tickets, rows = _table(_book(report)["工单明细"])
    # nine November tickets of the seed (the merged and the withdrawn ones too) and the long one
    assert len(tickets) == 10
    assert all(isinstance(row["工单号"], int) for row in tickets)
    first = tickets[0]
    assert first["创建时间"] == datetime(2026, 11, 2, 10, 0)  # township time, no zone
    assert rows[1][1].number_format == "yyyy-mm-dd hh:mm"
    assert (first["类别"], first["网格"], first["处理人"], first["状态"]) == (
        "市政设施", "东顺苑第一网格", "李娟", "已结单")
    assert (first["按时办结"], first["评价"]) == ("是", "满意")
    assert isinstance(first["办结时间"], datetime) and isinstance(first["结单时间"], type(None))
    statuses = [row["状态"] for row in tickets]
    assert "已合并" in statuses and "已撤销" in statuses
    late = next(row for row in tickets if row["评价"] == "一般")
    assert late["按时办结"] == "否"
    waiting = next(row for row in tickets if row["状态"] == "待接单")
    assert waiting["按时办结"] is None and waiting["评价"] is None
    long = tickets[-1]
    assert long["类别"] == "矛盾纠纷" and long["网格"] == "西湖第一网格" and long["处理人"] is None
    text = long["内容"]
    assert len(text) == TEXT_CHARS and text.endswith("…")
    assert "13812345678" not in text and "138****5678" in text


def test_bot_report_writes_the_same_files(seeded, database_url, tmp_path, capsys, monkeypatch):
    import bot

    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = _config(tmp_path, database_url)
    out = tmp_path / "kpi.csv"
    assert bot.main(["--config", config, "report", "--month", "2026-11", "--format", "csv",
                     "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"written {out}\n"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == HEADERS and rows[-1][2] == "合计"

    assert bot.main(["--config", config, "report", "--month", "2026-11", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("\ufeff范围,排名,名称")

    book_path = tmp_path / "kpi.xlsx"
    assert bot.main(["--config", config, "report", "--month", "2026-11", "--format", "xlsx",
                     "--out", str(book_path)]) == 0
    book = load_workbook(book_path)
    assert book.sheetnames == SHEETS
    assert book["按类别"]["A3"].value == "市政设施"  # names from the township's rules
    assert book["工单明细"].max_row == 12
    assert bot.main(["--config", config, "report", "--format", "xlsx"]) == 2
    assert bot.main(["--config", config, "report", "--grid", "nowhere"]) == 2
