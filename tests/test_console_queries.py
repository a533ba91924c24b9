"""The console's queries (cases.ticket_search) against a plain reading of the same rules, on a
year of tickets made by the benchmarks' generator: every page of every filter holds exactly the
tickets ``permissions.check`` lets the viewer see, in due-time order; the dashboard's counts
and monthly figures are what 考单 (cases.kpi) computes."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from cases.deadlines import SlaClock
from cases.kpi import kpi_rows
from cases.kpi_query import load_facts, month_bounds
from cases.model import Action
from cases.next_due import active_stage
from cases.permissions import Reach, check, reach
from cases.service import actor_for, view_of
from cases.ticket_search import (
    TicketFilter,
    monthly_figures,
    months_back,
    search,
    today_counts,
)
from runtime.seed import TICKET_COLUMNS as COLUMNS
from runtime.seed import TicketSeeder as Seeder
from runtime.seed import Township, bulk_insert
from services.container import build_services
from store.clock import utcnow
from store.models import Grid, Membership, Person, Ticket
from store.sla import ClockMark

VIEWERS = ("zhaolei", "sunli", "wanghong", "chenjing", "minzheng")


@pytest.fixture
def year(settings, engine, session_factory):  # type: ignore[no-untyped-def]
    services = build_services(settings)
    with session_factory() as session:
        grids = list(session.scalars(select(Grid).where(Grid.level == "grid").order_by(Grid.id)))
        workers = []
        for grid in grids:
            workers.append(session.scalar(select(Membership.person_id).where(
                Membership.grid_id == grid.id, Membership.role == "worker")))
        residents = list(session.scalars(select(Person.id).where(Person.role == "resident")))
    town = Township(settings.center_grid, [g.id for g in grids], workers, residents, 0)
    seeder = Seeder(SlaClock(settings.sla, services.calendar), town, utcnow(), seed=7)
    bulk_insert(engine, Ticket.__table__, COLUMNS, seeder.tickets(600))
    bulk_insert(engine, ClockMark.__table__,
                ("ticket_id", "stage", "kind", "due_at", "created_at"), seeder.marks)
    with session_factory() as session:  # a few unplaced, urgent ones at the centre's triage
        for ticket in session.scalars(select(Ticket).where(Ticket.id % 97 == 0)):
            ticket.grid_id = None
            ticket.urgent = True
        session.commit()
    return services


def _all_pages(session, index, area, wanted, now, tz):  # type: ignore[no-untyped-def]
    found, page = [], 1
    while True:
        got = search(session, index, area, TicketFilter(**{**wanted.__dict__, "page": page}),
                     now=now, tz=tz, page_size=25)
        found += [t.id for t in got.tickets]
        if page >= got.pages:
            return found, got.total
        page += 1


def _expected(session, actor, wanted, now):  # type: ignore[no-untyped-def]
    out = []
    for ticket in session.scalars(select(Ticket)):
        if not check(actor, Action.VIEW, view_of(ticket)).allowed:
            continue
        stage = active_stage(ticket)
        due = ticket.dispatch_due if ticket.status in ("created", "returned") else (
            stage[2] if stage else None)
        if wanted.status == "open" and ticket.status not in (
                "created", "dispatched", "accepted", "returned"):
            continue
        if wanted.overdue and not (due is not None and due < now):
            continue
        if wanted.urgent and not ticket.urgent:
            continue
        if wanted.mine and ticket.assignee_id != actor.person_id:
            continue
        if wanted.text and wanted.text not in ticket.text:
            continue
        out.append((due is None, due or now, -ticket.id))
    return [-key[2] for key in sorted(out)]


@pytest.mark.parametrize("userid", VIEWERS)
def test_every_page_holds_what_the_viewer_may_see_in_due_order(year, session_factory,
                                                               userid) -> None:  # type: ignore[no-untyped-def]
    tz, now = year.calendar.tz, utcnow()
    with session_factory() as session:
        person = session.scalar(select(Person).where(Person.userid == userid))
        actor = actor_for(session, person)
        index = year.roster.get(session)
        for wanted in (TicketFilter(), TicketFilter(status="open"),
                       TicketFilter(overdue=True), TicketFilter(urgent=True),
                       TicketFilter(text="路灯"), TicketFilter(mine=True, status="open")):
            found, total = _all_pages(session, index, reach(actor), wanted, now, tz)
            expected = _expected(session, actor, wanted, now)
            assert found == expected, (userid, wanted)
            assert total == len(expected)
            if userid == "zhaolei" and wanted == TicketFilter():
                assert len(found) > 500  # the centre sees the township


def test_today_counts_are_the_open_tickets_by_grid(year, session_factory) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with session_factory() as session:
        person = session.scalar(select(Person).where(Person.userid == "sunli"))
        actor = actor_for(session, person)
        index = year.roster.get(session)
        counts = today_counts(session, index, reach(actor), now)
        visible = [t for t in session.scalars(select(Ticket).where(
            Ticket.status.in_(("created", "dispatched", "accepted", "returned"))))
            if check(actor, Action.VIEW, view_of(t)).allowed]
        assert counts.open == len(visible) > 0
        assert counts.urgent == sum(t.urgent for t in visible)
        assert counts.unplaced == sum(t.grid_id is None for t in visible)
        assert sum(g.open for g in counts.grids) + counts.unplaced == counts.open
        assert {g.name for g in counts.grids} <= {"西湖第一网格", "西湖第二网格"}


@pytest.mark.parametrize("grid_code", [None, "640323001002"])
def test_monthly_figures_are_the_kpi_reports_figures(year, session_factory, grid_code) -> None:  # type: ignore[no-untyped-def]
    tz = year.calendar.tz
    months = months_back(datetime.now(tz).date(), 12)
    with session_factory() as session:
        index = year.roster.get(session)
        area = Reach(grid_codes=frozenset({grid_code})) if grid_code else Reach(everything=True)
        figures = monthly_figures(session, index, area, months, tz)
        checked = 0
        for month, got in zip(months, figures, strict=True):
            facts = load_facts(session, *month_bounds(month, tz), grid_code)
            total = kpi_rows(facts, 1).total
            assert got.tickets == total.tickets, month
            assert got.resolution_rate == total.resolution_rate, month
            assert got.on_time_rate == total.on_time_resolution, month
            assert got.satisfaction_rate == total.satisfaction_rate, month
            checked += got.tickets
        assert checked > 100
