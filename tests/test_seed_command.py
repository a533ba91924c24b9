"""``bot.py seed``: a generated county in an empty database, that ``bot.py report`` then reads;
a database that already holds a township is refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from cases.kpi import kpi_report, kpi_rows
from cases.kpi_query import load_counts, load_facts, month_bounds
from store.db import make_engine, make_session_factory
from store.models import Grid, Membership, Person, Ticket, TicketMatchKey

ROOT = Path(__file__).resolve().parents[1]
CST = ZoneInfo("Asia/Shanghai")


def _config(tmp_path: Path, database_url: str) -> str:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": database_url}
    for key in ("rules", "faq", "userdict"):
        raw["classifier"][key] = str(ROOT / raw["classifier"][key])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_seed_builds_a_county_the_report_reads(database_url, tmp_path, capsys, monkeypatch):
    import bot

    monkeypatch.delenv("DATABASE_URL", raising=False)  # the config names this test's database
    config = _config(tmp_path, database_url)
    county = tmp_path / "county.yaml"
    assert bot.main(["--config", config, "seed", "--grids", "20", "--staff", "60",
                     "--residents", "300", "--tickets", "3000",
                     "--write-config", str(county)]) == 0
    assert "3,000 tickets" in capsys.readouterr().out

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            count = lambda model, *where: session.scalar(  # noqa: E731
                select(func.count()).select_from(model).where(*where))
            assert count(Grid, Grid.level == "grid") == 20
            assert count(Person, Person.role != "resident") == 60
            assert count(Membership) == 60
            assert count(Person, Person.role == "resident") == 300
            assert count(Ticket) == 3000
            assert count(Ticket, Ticket.status.in_(["dispatched", "accepted"])) > 100
            assert count(TicketMatchKey) > 0  # the recent open originals can be reported again
            tz = CST
            month = (datetime.now(tz).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
            bounds = month_bounds(month, tz)
            in_sql = kpi_report(load_counts(session, *bounds))
            assert in_sql.total.tickets > 100 and len(in_sql.grids) == 20
            assert in_sql == kpi_rows(load_facts(session, *bounds))
            # a new ticket gets an id past the seeded ones
            before = session.scalar(select(func.max(Ticket.id)))
            ticket = Ticket(status="created", category="facility", text="路灯坏了",
                            reporter_id=session.scalar(select(func.min(Person.id))))
            session.add(ticket)
            session.flush()
            assert ticket.id > before
            session.rollback()
    finally:
        engine.dispose()

    # the written config runs GridBot on the seeded county: its roster sync keeps the staff
    assert bot.main(["--config", str(county), "check-config"]) == 0
    assert "60 people" in capsys.readouterr().out
    assert bot.main(["--config", str(county), "db", "upgrade"]) == 0  # migrates, syncs the roster
    capsys.readouterr()
    assert bot.main(["--config", str(county), "report", "--month", month, "--format",
                     "csv"]) == 0
    assert "第1网格" in capsys.readouterr().out
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Person).where(
                Person.role != "resident", Person.active.is_(True))) == 60
            assert session.scalar(select(func.count()).select_from(Membership)) == 60
    finally:
        engine.dispose()

    assert bot.main(["--config", config, "seed", "--grids", "20", "--staff", "60",
                     "--residents", "300", "--tickets", "10"]) == 2
    assert "already holds" in capsys.readouterr().err
