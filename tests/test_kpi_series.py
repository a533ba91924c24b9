"""The console's KPI series and per-grid values (cases.kpi_series), counted in SQL: they agree
with 考单's own computation (cases.kpi over cases.kpi_query's facts) on the seeded month, and
with hand-counted answers for 化解率 and the months around it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from cases.kpi import kpi_rows
from cases.kpi_query import load_facts, month_bounds
from cases.kpi_series import KpiCounts, grid_kpis, kpi_series
from store.models import Grid, Person, Ticket
from tests.test_kpi_report import CST, GRID_A, GRID_B, seed


def _disputes(session) -> None:  # type: ignore[no-untyped-def]
    """September: three disputes (two resolved, one on time) and a facility ticket; one
    dispute withdrawn (not a case)."""
    grids = {g.code: g for g in session.scalars(select(Grid))}
    zhangsan = session.scalar(select(Person).where(Person.userid == "zhangsan"))

    def ticket(category: str, day: int, *, resolved: int | None = None, due: int = 20,
               status: str = "closed", rating: str | None = None) -> None:
        at = datetime(2026, 9, day, 10, tzinfo=CST)
        session.add(Ticket(
            category=category, status=status, text="邻居纠纷", grid=grids[GRID_B],
            reporter=zhangsan, created_at=at, rating=rating,
            resolved_at=datetime(2026, 9, resolved, 10, tzinfo=CST) if resolved else None,
            resolve_due=datetime(2026, 9, due, 10, tzinfo=CST)))

    ticket("dispute", 1, resolved=5, rating="satisfied")
    ticket("dispute", 2, resolved=25, rating="unsatisfied")  # late
    ticket("dispute", 3, status="accepted")
    ticket("dispute", 4, status="withdrawn")
    ticket("facility", 5, resolved=6, rating="average")
    session.commit()


@pytest.fixture
def seeded(session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as session:
        seed(session)
        _disputes(session)
    return session_factory


def test_the_month_in_sql_agrees_with_the_kpi_report(seeded):
    with seeded() as session:
        series = kpi_series(session, "2026-11", CST)
        facts = load_facts(session, *month_bounds("2026-11", CST))
        grids = grid_kpis(session, "2026-11", CST)
    report = kpi_rows(facts)
    november = series[-1]
    assert november.month == "2026-11"
    total = report.total
    counts = november.counts
    assert counts.tickets == total.tickets == 7
    assert counts.resolution_rate == pytest.approx(total.resolution_rate)
    assert counts.on_time_resolution == pytest.approx(total.on_time_resolution)
    assert counts.satisfaction_rate == pytest.approx(total.satisfaction_rate)
    assert counts.dispute_resolution_rate is None  # no disputes in November

    by_name = {g.name: g.counts for g in grids}
    assert set(by_name) == {row.name for row in report.grids}
    for row in report.grids:
        mine = by_name[row.name]
        assert mine.tickets == row.tickets
        assert (mine.resolved_on_time, mine.resolve_judged) == (
            row.resolved_on_time, row.resolve_judged)
        assert mine.resolution_rate == pytest.approx(row.resolution_rate)
        assert mine.satisfaction_rate == pytest.approx(row.satisfaction_rate)
    assert [g.code for g in grids] == [GRID_A, GRID_B]  # the micro-grid counts for its grid


def test_twelve_months_oldest_first_with_empty_months_and_disputes(seeded):
    with seeded() as session:
        series = kpi_series(session, "2026-11", CST)
        short = kpi_series(session, "2027-01", CST, months=4)
        september = grid_kpis(session, "2026-09", CST)
        wider = kpi_series(session, "2026-09", CST, months=1,
                           dispute_categories=("dispute", "facility"))
    assert [m.month for m in series] == [
        "2025-12", *(f"2026-{n:02d}" for n in range(1, 12))]
    assert [m.month for m in short] == ["2026-10", "2026-11", "2026-12", "2027-01"]
    by_month = {m.month: m.counts for m in series}
    assert by_month["2026-03"] == KpiCounts()
    assert by_month["2026-03"].resolution_rate is None
    # October: the ticket created 31 October 23:59 township time (15:59 UTC) is October's
    assert by_month["2026-10"].tickets == 1
    sept = by_month["2026-09"]
    assert (sept.tickets, sept.disputes, sept.disputes_resolved) == (4, 3, 2)
    assert sept.dispute_resolution_rate == pytest.approx(2 / 3)
    assert sept.resolution_rate == pytest.approx(3 / 4)
    assert sept.on_time_resolution == pytest.approx(2 / 3)
    assert sept.satisfaction_rate == pytest.approx(1 / 3)
    assert [(g.name, g.counts.tickets) for g in september] == [("西湖第一网格", 4)]
    assert wider[0].counts.dispute_resolution_rate == pytest.approx(3 / 4)
    assert {m.month: m.counts.tickets for m in short} == {
        "2026-10": 1, "2026-11": 7, "2026-12": 1, "2027-01": 0}
