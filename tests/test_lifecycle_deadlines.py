"""Deadlines set by the workflow service at each step, with the clock moved by time-machine:
the 2026 Spring Festival and National Day holidays with their 调休 make-up working days, and
across 2026-12-31 into 2027 (provisional, then recomputed by the sweep when data appears)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from cases.calendar import WorkCalendar
from cases.deadlines import SlaClock
from cases.intake import Request, open_ticket
from cases.model import Action
from cases.service import Workflow
from schedules.sla import sweep
from services.container import build_services
from store.clock import utcnow
from store.models import OutboxMessage, Person, Ticket
from store.roster import load_index

CST = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def services(settings):  # type: ignore[no-untyped-def]
    return build_services(settings)


def report(session, services, tier: str = "easy") -> Ticket:  # type: ignore[no-untyped-def]
    zhangsan = session.scalar(select(Person).where(Person.userid == "zhangsan"))
    opened = open_ticket(
        session, settings=services.settings, calendar=services.calendar,
        roster=load_index(session), reporter=zhangsan, group=None,
        request=Request(text="下水道堵了", category="facility", second_category=None, tier=tier,
                        urgent=False, department=None, location=None, explanation={}),
        channel="app", reply_to={"userid": "zhangsan"}, source_message_id=None, now=utcnow(),
    )
    return opened.ticket


def accept(session, services, ticket: Ticket) -> None:  # type: ignore[no-untyped-def]
    workflow = Workflow(session, services.settings,
                        SlaClock(services.settings.sla, services.calendar))
    outcome = workflow.act(ticket, Action.ACCEPT, ticket.assignee, now=utcnow())
    assert outcome.allowed, outcome.reason


def local(value: datetime) -> datetime:
    return value.astimezone(CST)


def test_spring_festival_counts_the_make_up_saturdays(session_factory, services):
    with session_factory() as session, session.begin():
        with time_machine.travel(at(2026, 2, 13, 10, 0), tick=False):  # Friday before the holiday
            ticket = report(session, services)
        # the next working day is the make-up Saturday, 14 February
        assert local(ticket.accept_due) == at(2026, 2, 14, 10, 0)
        with time_machine.travel(at(2026, 2, 14, 9, 0), tick=False):
            accept(session, services, ticket)
        # easy = 5 working days: 24, 25, 26, 27 February and the make-up Saturday the 28th
        assert local(ticket.resolve_due) == at(2026, 2, 28, 9, 0)
        assert ticket.deadlines_provisional is False


def test_national_day_and_its_make_up_days(session_factory, services):
    with session_factory() as session, session.begin():
        with time_machine.travel(at(2026, 9, 19, 15, 0), tick=False):  # a Saturday off; Sunday is make-up
            ticket = report(session, services)
        # counts all of Sunday 20 September (a working day): due at its end
        assert local(ticket.accept_due) == at(2026, 9, 21, 0, 0)
        with time_machine.travel(at(2026, 9, 30, 10, 0), tick=False):
            accept(session, services, ticket)
        # 1–7 October off; 8, 9, Saturday 10 (make-up), 12, 13
        assert local(ticket.resolve_due) == at(2026, 10, 13, 10, 0)


def test_into_2027_is_provisional_and_recomputed_when_the_calendar_is_known(
    session_factory, services
):
    with session_factory() as session, session.begin():
        with time_machine.travel(at(2026, 12, 28, 10, 0), tick=False):
            ticket = report(session, services, tier="general")
            accept(session, services, ticket)
        # 29, 30, 31 December; 1 January off (config); then 4–7 January, weekdays guessed
        assert local(ticket.resolve_due) == at(2027, 1, 7, 10, 0)
        assert ticket.deadlines_provisional is True
        ticket_id = ticket.id

    with time_machine.travel(at(2026, 12, 29, 12, 0), tick=False):
        assert sweep(session_factory, services, utcnow()).recomputed == []  # nothing new yet

        # the 2027 schedule is published: 4 January is a holiday, 5–8 January working days
        known = {date(2027, 1, d): d != 4 for d in range(2, 9) if date(2027, 1, d).weekday() < 5}
        known |= {date(2027, 1, 2): False, date(2027, 1, 3): False, date(2027, 1, 1): False}
        calendar = WorkCalendar(known, "Asia/Shanghai")
        informed = dataclasses.replace(services, calendar=calendar)
        assert sweep(session_factory, informed, utcnow()).recomputed == [ticket_id]
        assert sweep(session_factory, informed, utcnow()).recomputed == []

    with session_factory() as session:
        ticket = session.get(Ticket, ticket_id)
        assert local(ticket.resolve_due) == at(2027, 1, 8, 10, 0)
        assert ticket.deadlines_provisional is False
        moved = session.scalars(select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.idempotency_key.like(f"t{ticket_id}:moved:%"))).all()
        assert len(moved) == 1 and "1月8日" in moved[0].payload["text"]["content"]


def test_an_unknown_year_never_crashes(session_factory, services):
    with session_factory() as session, session.begin():
        with time_machine.travel(at(2028, 6, 30, 10, 0), tick=False):
            ticket = report(session, services)
            accept(session, services, ticket)
        assert ticket.deadlines_provisional is True
        assert local(ticket.resolve_due) == at(2028, 7, 7, 10, 0)  # Mon–Fri fallback
