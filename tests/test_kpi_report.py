"""考单: the KPI report of a seeded month, with the answers worked out by hand below, through the
real query and the real ``bot.py report`` command (table, CSV, XLSX)."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from cases.kpi import CaseFacts, kpi_report, kpi_rows, rank, summarise
from cases.kpi_query import load_counts, load_facts, month_bounds
from store.models import Grid, Person, Ticket
from store.sla import ClockMark

CST = ZoneInfo("Asia/Shanghai")
GRID_A = "640323001001001"  # 东顺苑第一网格 (worker 李娟)
MICRO_A = "640323001001001001"  # its 1-3号楼联防组: counts for the grid
GRID_B = "640323001002001"  # 西湖第一网格 (worker 陈静)
DAY = timedelta(days=1)


def t(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=CST)


def seed(session) -> None:  # type: ignore[no-untyped-def]
    grids = {g.code: g for g in session.scalars(select(Grid))}
    people = {p.userid: p for p in session.scalars(select(Person))}
    reporter = people["zhangsan"]

    def ticket(code: str, who: str, status: str, created: datetime, *, accepted=None,
               resolved=None, rating=None, level=None, accept_late=False, resolve_late=False,
               overdue=()):  # type: ignore[no-untyped-def]
        row = Ticket(
            status=status, category="facility", text="下水道堵了", grid=grids[code],
            reporter=reporter, assignee=people[who], created_at=created, dispatched_at=created,
            accept_due=created + DAY, accepted_at=accepted, resolved_at=resolved,
            resolve_due=(accepted + 7 * DAY) if accepted else None, rating=rating,
            resolved_level=level,
        )
        if accept_late:
            row.accepted_at = created + 2 * DAY
            row.resolve_due = row.accepted_at + 7 * DAY
        if resolve_late and row.resolve_due is not None:
            row.resolved_at = row.resolve_due + DAY
        session.add(row)
        session.flush()
        for stage in overdue:
            session.add(ClockMark(ticket_id=row.id, stage=stage, kind="overdue",
                                  due_at=row.accept_due))
        return row

    # grid A: five cases
    ticket(GRID_A, "lijuan", "closed", t(2), accepted=t(2, 15), resolved=t(4),
           rating="satisfied", level="worker")                                      # A1
    ticket(MICRO_A, "lijuan", "closed", t(3), accepted=t(3, 16), resolved=t(20),
           rating="average", level="worker", resolve_late=True)                     # A2
    ticket(GRID_A, "wanghong", "closed", t(5), accepted=t(7), resolved=t(9),
           rating="unrated", level="leader", overdue=("accept",))                   # A3
    ticket(GRID_A, "lijuan", "accepted", t(25), accepted=t(25, 11))                 # A4
    ticket(GRID_A, "lijuan", "dispatched", t(30, 9))                                # A5
    # not cases: a merged duplicate, a withdrawn report, October's and December's tickets
    ticket(GRID_A, "lijuan", "merged", t(6))
    ticket(GRID_B, "chenjing", "withdrawn", t(6))
    ticket(GRID_A, "lijuan", "closed", datetime(2026, 10, 31, 23, 59, tzinfo=CST),
           accepted=t(1), resolved=t(2), rating="satisfied", level="worker")
    ticket(GRID_A, "lijuan", "dispatched", datetime(2026, 12, 1, 0, 0, tzinfo=CST))
    # grid B: two cases
    ticket(GRID_B, "chenjing", "closed", t(10), accepted=t(10, 12), resolved=t(12),
           rating="satisfied", level="worker")                                      # B1
    ticket(GRID_B, "wushu", "closed", t(11), accepted=t(11), resolved=t(14),
           rating="satisfied", level="micro", accept_late=True)                     # B2
    session.commit()


@pytest.fixture
def seeded(session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as session:
        seed(session)
    return session_factory


def counted_in_sql(session, start, end, grid_code=None):  # type: ignore[no-untyped-def]
    return kpi_report(load_counts(session, start, end, grid_code), min_cases=5)


def counted_case_by_case(session, start, end, grid_code=None):  # type: ignore[no-untyped-def]
    return kpi_rows(load_facts(session, start, end, grid_code), min_cases=5)


@pytest.mark.parametrize("report_of", [counted_in_sql, counted_case_by_case])
def test_kpis_of_the_seeded_month_match_the_hand_computed_answers(seeded, report_of):
    with seeded() as session:
        report = report_of(session, *month_bounds("2026-11", CST))

    a, b = report.grids  # A is ranked (5 cases), B is listed without a rank (2 < 5)
    assert (a.name, a.rank, a.tickets) == ("东顺苑第一网格", 1, 5)
    # acceptance decided for A1 A2 A3 A4; A3's acceptance went overdue → 3/4
    assert (a.accepted_on_time, a.accept_judged) == (3, 4)
    # resolution decided for A1 A2 A3; A2 was late → 2/3
    assert (a.resolved_on_time, a.resolve_judged) == (2, 3)
    assert a.resolution_rate == pytest.approx(3 / 5)
    assert a.satisfaction_rate == pytest.approx(1 / 2)  # 满意 A1, 一般 A2; A3 未评价 apart
    assert a.unrated == 1
    assert a.level_share("worker") == pytest.approx(2 / 3)
    assert a.level_share("leader") == pytest.approx(1 / 3)

    assert (b.name, b.rank, b.tickets) == ("西湖第一网格", None, 2)
    assert b.on_time_acceptance == pytest.approx(1 / 2)  # B2 accepted late
    assert b.on_time_resolution == 1.0 and b.resolution_rate == 1.0
    assert b.satisfaction_rate == 1.0 and b.unrated == 0
    assert b.level_share("micro") == pytest.approx(1 / 2)

    total = report.total
    assert total.tickets == 7
    assert total.on_time_acceptance == pytest.approx(4 / 6)
    assert total.on_time_resolution == pytest.approx(4 / 5)
    assert total.resolution_rate == pytest.approx(5 / 7)
    assert total.satisfaction_rate == pytest.approx(3 / 4)
    assert total.unrated == 1
    assert total.level_share("worker") == pytest.approx(3 / 5)

    workers = {row.name: row for row in report.workers}
    assert {name: row.tickets for name, row in workers.items()} == {
        "李娟": 4, "王红": 1, "陈静": 1, "吴叔": 1}
    assert all(row.rank is None for row in report.workers)  # nobody reaches 5 cases


def test_grid_filter_takes_the_subtree(seeded):
    with seeded() as session:
        facts = load_facts(session, *month_bounds("2026-11", CST), grid_code="640323001001")
    assert {f.grid_name for f in facts} == {"东顺苑第一网格"}
    assert len(facts) == 5


def test_the_database_counts_the_grid_filter_s_subtree_too(seeded):
    with seeded() as session:
        groups = load_counts(session, *month_bounds("2026-11", CST), grid_code="640323001001")
    assert {g.grid_name for g in groups} == {"东顺苑第一网格"}
    assert sum(g.tickets for g in groups) == 5
    held: dict[str, int] = {}
    for group in groups:  # the micro-grid's cases come as a group of their own
        held[group.worker] = held.get(group.worker, 0) + group.tickets
    assert held == {"李娟": 4, "王红": 1}


def test_the_database_s_counts_equal_the_case_by_case_report_on_random_tickets(session_factory):
    """Every combination the counts distinguish, in random mixtures: statuses, on time or late
    (or due unset), overdue marks on either stage, each rating and level, unassigned tickets,
    micro-grids, tickets outside the month."""
    rng = random.Random(5)
    with session_factory() as session:
        grids = list(session.scalars(select(Grid)))
        people = list(session.scalars(select(Person)))
        reporter = people[0]
        for number in range(400):
            created = t(1) + timedelta(hours=rng.randrange(-48, 30 * 24 + 48))
            accepted = rng.choice([None, created + timedelta(hours=rng.randrange(1, 60))])
            resolved = (rng.choice([None, accepted + timedelta(hours=rng.randrange(1, 300))])
                        if accepted else None)
            row = Ticket(
                status=rng.choice(["dispatched", "accepted", "resolved", "closed", "merged",
                                   "withdrawn", "returned", "created"]),
                category="facility", text=f"问题{number}", grid=rng.choice([*grids, None]),
                reporter=reporter, assignee=rng.choice([*people, None]), created_at=created,
                accept_due=rng.choice([None, created + DAY]), accepted_at=accepted,
                resolve_due=rng.choice([None, (accepted or created) + 5 * DAY]),
                resolved_at=resolved,
                rating=rng.choice([None, "satisfied", "average", "unsatisfied", "unrated"]),
                resolved_level=rng.choice([None, "micro", "worker", "leader", "center"]),
            )
            session.add(row)
            session.flush()
            for stage in ("accept", "resolve"):
                if rng.random() < 0.2:
                    session.add(ClockMark(ticket_id=row.id, stage=stage, kind="overdue",
                                          due_at=created))
                if rng.random() < 0.1:  # a reminder is no overdue mark
                    session.add(ClockMark(ticket_id=row.id, stage=stage, kind="remind",
                                          due_at=created + timedelta(minutes=1)))
        session.commit()
    with session_factory() as session:
        bounds = month_bounds("2026-11", CST)
        in_sql, by_case = counted_in_sql(session, *bounds), counted_case_by_case(session, *bounds)
    assert in_sql.total.tickets > 200 and len(in_sql.workers) > 5
    assert in_sql == by_case


def test_ranking_ties_share_a_rank_and_small_rows_are_not_ranked():
    def case(i: int, resolved: bool, rating: str | None = None) -> CaseFacts:
        done = t(2) if resolved else None
        return CaseFacts(i, "g", "g", "w", accepted_at=t(1), accept_due=t(2), resolved_at=done,
                         resolve_due=t(3), rating=rating, resolved_level="worker")

    good = summarise("grid", "1", "一组", [case(1, True, "satisfied"), case(2, True, "satisfied")])
    same = summarise("grid", "2", "二组", [case(3, True, "satisfied"), case(4, True, "satisfied")])
    worse = summarise("grid", "3", "三组", [case(5, True), case(6, False)])
    small = summarise("grid", "4", "四组", [case(7, True, "satisfied")])
    ranked = rank([worse, small, same, good], min_cases=2)
    assert [(r.name, r.rank) for r in ranked] == [("一组", 1), ("二组", 1), ("三组", 3), ("四组", None)]


def _config(tmp_path: Path, database_url: str) -> str:
    root = Path(__file__).resolve().parents[1]
    raw = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": database_url}
    for key in ("rules", "faq", "userdict"):
        raw["classifier"][key] = str(root / raw["classifier"][key])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_bot_report_command_prints_table_csv_and_xlsx(seeded, database_url, tmp_path, capsys,
                                                      monkeypatch):
    from openpyxl import load_workbook

    import bot

    monkeypatch.delenv("DATABASE_URL", raising=False)  # the config names this test's database
    config = _config(tmp_path, database_url)
    assert bot.main(["--config", config, "report", "--month", "2026-11"]) == 0
    table = capsys.readouterr().out
    assert "2026-11 考单" in table and "东顺苑第一网格" in table and "60.0%" in table

    assert bot.main(["--config", config, "report", "--month", "2026-11", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    header, *body = rows
    by_name = {r[2]: dict(zip(header, r, strict=True)) for r in body}
    assert by_name["东顺苑第一网格"]["按时接单率"] == "75.0%"
    assert by_name["东顺苑第一网格"]["按时办结率"] == "66.7%"
    assert by_name["东顺苑第一网格"]["排名"] == "1"
    assert by_name["西湖第一网格"]["排名"] == "—"
    assert by_name["合计"]["满意率"] == "75.0%" and by_name["合计"]["未评价"] == "1"

    out = tmp_path / "kpi.xlsx"
    assert bot.main(["--config", config, "report", "--month", "2026-11", "--grid",
                     "640323001002", "--format", "xlsx", "--out", str(out)]) == 0
    sheet = load_workbook(out).active
    names = [row[2] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert names == ["西湖第一网格", "吴叔", "陈静", "合计"]

    assert bot.main(["--config", config, "report", "--month", "11/2026"]) == 2
