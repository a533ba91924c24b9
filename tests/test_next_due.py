"""``tickets.next_due_at``: kept right by every transition, advanced by the sweep, read by the
sweep as the only way to find work, and backfilled by the migration for existing tickets."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, text

from cases.calendar import WorkCalendar
from cases.deadlines import SlaClock
from cases.intake import Request, open_ticket
from cases.model import Action
from cases.service import Workflow
from schedules.sla import sweep
from services.container import build_services
from store.clock import utcnow
from store.db import make_engine, make_session_factory
from store.migrate import upgrade
from store.models import Person, Ticket
from store.roster import load_index

CST = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def services(settings):  # type: ignore[no-untyped-def]
    return build_services(settings)


@pytest.fixture
def clock(services) -> SlaClock:  # type: ignore[no-untyped-def]
    return SlaClock(services.settings.sla, services.calendar)


def person(session, userid: str) -> Person:  # type: ignore[no-untyped-def]
    return session.scalar(select(Person).where(Person.userid == userid))


def report(session, services, tier: str = "easy") -> Ticket:  # type: ignore[no-untyped-def]
    return open_ticket(
        session, settings=services.settings, calendar=services.calendar,
        roster=load_index(session), reporter=person(session, "zhangsan"), group=None,
        request=Request(text="下水道堵了", category="facility", second_category=None, tier=tier,
                        urgent=False, department=None, location=None, explanation={}),
        channel="app", reply_to={"userid": "zhangsan"}, source_message_id=None, now=utcnow(),
    ).ticket


def act(session, services, clock, ticket, action, userid, **kwargs):  # type: ignore[no-untyped-def]
    outcome = Workflow(session, services.settings, clock).act(
        ticket, action, person(session, userid), now=utcnow(), **kwargs)
    assert outcome.allowed, outcome.reason
    return outcome


def first_point(clock: SlaClock, start: datetime, due: datetime) -> datetime:
    """The first reminder of a stage, or its due time when it has none."""
    points = clock.reminder_times(start, due)
    return points[0] if points else due


def test_every_transition_stores_the_first_moment_of_the_stage_it_starts(
    session_factory, services, clock
):
    with session_factory() as session, session.begin():
        with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):  # a Monday
            ticket = report(session, services)
            assert ticket.status == "dispatched"
            assert ticket.next_due_at == first_point(clock, ticket.dispatched_at, ticket.accept_due)
            assert ticket.next_due_at > utcnow()
        with time_machine.travel(at(2026, 11, 23, 11, 0), tick=False):
            act(session, services, clock, ticket, Action.ACCEPT, "lijuan")
            # easy: 5 working days; the halfway reminder comes first
            assert ticket.next_due_at == clock.reminder_times(
                ticket.accepted_at, ticket.resolve_due)[0]
            assert ticket.next_due_at < ticket.resolve_due
        with time_machine.travel(at(2026, 11, 24, 9, 0), tick=False):
            act(session, services, clock, ticket, Action.TRANSFER, "wanghong",
                to=person(session, "zhoudama"))
            # back to dispatched with a new accept clock started now
            assert (ticket.status, ticket.dispatched_at) == ("dispatched", utcnow())
            assert ticket.next_due_at == first_point(clock, utcnow(), ticket.accept_due)
        with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
            act(session, services, clock, ticket, Action.ESCALATE, "zhoudama", note="需要网格长协调")
            # the micro-grid member's ticket goes up one rung, to the grid's worker
            assert (ticket.level, ticket.dispatched_at) == ("worker", utcnow())
            assert ticket.next_due_at == first_point(clock, utcnow(), ticket.accept_due)
            act(session, services, clock, ticket, Action.ACCEPT, "lijuan")
        with time_machine.travel(at(2026, 11, 25, 15, 0), tick=False):
            act(session, services, clock, ticket, Action.RESOLVE, "lijuan", note="已疏通")
            # the rating clock: three working days, then 未评价
            assert ticket.next_due_at == clock.rating_due(utcnow()).at == at(2026, 11, 30, 15, 0)
        with time_machine.travel(at(2026, 11, 26, 9, 0), tick=False):
            act(session, services, clock, ticket, Action.REOPEN, "zhaolei", note="居民反映又堵了")
            assert ticket.status == "dispatched"
            assert ticket.next_due_at == first_point(clock, utcnow(), ticket.accept_due)
            holder = ticket.assignee.userid
            act(session, services, clock, ticket, Action.ACCEPT, holder)
            act(session, services, clock, ticket, Action.RESOLVE, holder, note="再次疏通")
            act(session, services, clock, ticket, Action.RATE, "zhangsan", rating="satisfied")
            assert (ticket.status, ticket.next_due_at) == ("closed", None)


def test_the_sweep_moves_next_due_past_what_it_did(bot, services, clock):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True) as travel:
        bot.say_to_app("zhangsan", "我家门口的下水道堵了，污水都冒到路面上了")
        [ticket] = bot.tickets()
        bot.say_to_app("lijuan", f"接单 {ticket.id}")
        with bot.session() as session:
            accepted = session.get(Ticket, ticket.id)
        points = clock.reminder_times(accepted.accepted_at, accepted.resolve_due)
        assert len(points) >= 2 and accepted.next_due_at == points[0]

        travel.move_to(points[0] + timedelta(minutes=1))
        factory = make_session_factory(bot.runtime.engine)
        assert sweep(factory, services, utcnow()).reminded == [ticket.id]
        with bot.session() as session:
            assert session.get(Ticket, ticket.id).next_due_at == points[1]

        travel.move_to(accepted.resolve_due + timedelta(minutes=1))
        assert sweep(factory, services, utcnow()).escalated == [ticket.id]
        with bot.session() as session:
            escalated = session.get(Ticket, ticket.id)
            assert (escalated.status, escalated.level) == ("dispatched", "leader")
            assert escalated.next_due_at == first_point(
                clock, escalated.dispatched_at, escalated.accept_due)
            assert escalated.next_due_at > utcnow()


def test_the_sweep_reads_only_tickets_whose_next_due_has_come(bot, services):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True) as travel:
        for text_ in ("我家门口的下水道堵了", "小区东门的路灯坏了三天了"):
            bot.say_to_app("zhangsan", text_)
        first, second = bot.tickets()
        # both accept deadlines pass; only the first ticket says so in its next_due_at
        with bot.session() as session, session.begin():
            session.get(Ticket, second.id).next_due_at = utcnow() + timedelta(days=30)
        travel.move_to(at(2026, 11, 24, 12, 0))
        factory = make_session_factory(bot.runtime.engine)
        result = sweep(factory, services, utcnow())
        assert result.escalated == [first.id]
        assert result.reminded == []
        assert sweep(factory, services, utcnow()).escalated == []


def test_batches_claim_every_due_ticket_exactly_once(bot, services):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True) as travel:
        for report_ in ("我家门口的下水道堵了，污水都冒到路面上了", "小区东门的路灯坏了三天了",
                        "楼道里堆满了杂物，堵住了消防通道", "路口的井盖丢了，晚上很危险",
                        "楼上邻居装修噪音太大，晚上十点还在施工"):
            bot.say_to_app("zhangsan", report_)
        tickets = bot.tickets()
        assert len(tickets) == 5
        travel.move_to(at(2026, 11, 24, 12, 0))
        factory = make_session_factory(bot.runtime.engine)
        result = sweep(factory, services, utcnow(), batch_size=2)
        assert sorted(result.escalated) == sorted(t.id for t in tickets)
        assert sweep(factory, services, utcnow(), batch_size=2).escalated == []


def test_a_provisional_recompute_moves_next_due_with_the_deadline(session_factory, services):
    with session_factory() as session, session.begin():
        with time_machine.travel(at(2026, 12, 28, 10, 0), tick=False):
            ticket = report(session, services, tier="general")
            clock = SlaClock(services.settings.sla, services.calendar)
            act(session, services, clock, ticket, Action.ACCEPT, "lijuan")
        assert ticket.deadlines_provisional is True
        ticket_id, accepted_at = ticket.id, ticket.accepted_at
    known = {date(2027, 1, d): d != 4 for d in range(2, 9) if date(2027, 1, d).weekday() < 5}
    known |= {date(2027, 1, 2): False, date(2027, 1, 3): False, date(2027, 1, 1): False}
    informed = dataclasses.replace(services, calendar=WorkCalendar(known, "Asia/Shanghai"))
    with time_machine.travel(at(2026, 12, 29, 12, 0), tick=False):
        assert sweep(session_factory, informed, utcnow()).recomputed == [ticket_id]
    with session_factory() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.resolve_due == at(2027, 1, 8, 10, 0)
        informed_clock = SlaClock(services.settings.sla, informed.calendar)
        assert ticket.next_due_at == first_point(informed_clock, accepted_at, ticket.resolve_due)


def test_the_migration_backfills_open_tickets_and_the_first_sweep_makes_them_exact(
    database_url, settings
):
    engine = make_engine(database_url)
    upgrade(engine, "0010")  # the revision before next_due_at
    start = datetime(2026, 11, 23, 2, 0)  # naive UTC, as stored
    rows = [  # (id, status, dispatched_at, accepted_at, resolved_at)
        (1, "dispatched", start, None, None),
        (2, "accepted", start, start + timedelta(hours=1), None),
        (3, "resolved", start, start, start + timedelta(hours=2)),
        (4, "closed", start, start, start),
        (5, "created", None, None, None),
    ]
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO people (id, userid, name, role, active) "
            "VALUES (1, 'zhangsan', '张三', 'resident', true)"))
        for ticket_id, status, dispatched, accepted, resolved in rows:
            connection.execute(text(
                "INSERT INTO tickets (id, status, category, tier, urgent, text, classification,"
                " reporter_id, channel, reply_to, level, created_at, dispatched_at, accepted_at,"
                " resolved_at, dispatch_due, accept_due, resolve_due, deadlines_provisional)"
                " VALUES (:id, :status, 'facility', 'easy', false, '下水道堵了', '{}', 1, 'app',"
                " '{}', 'worker', :created, :dispatched, :accepted, :resolved, :dispatch_due,"
                " :accept_due, :resolve_due, false)"),
                {"id": ticket_id, "status": status, "created": start - timedelta(hours=1),
                 "dispatched": dispatched, "accepted": accepted, "resolved": resolved,
                 "dispatch_due": start + timedelta(days=1),
                 "accept_due": start + timedelta(days=1) if dispatched else None,
                 "resolve_due": start + timedelta(days=7) if accepted else None})
    upgrade(engine)
    with engine.connect() as connection:
        backfilled = dict(connection.execute(select(Ticket.id, Ticket.next_due_at)).all())
    aware = start.replace(tzinfo=UTC)
    assert backfilled[1] == aware
    assert backfilled[2] == aware + timedelta(hours=1)
    assert backfilled[3] == aware + timedelta(hours=2)
    assert backfilled[4] is None
    assert backfilled[5] == aware - timedelta(hours=1)

    services = build_services(settings)
    clock = SlaClock(services.settings.sla, services.calendar)
    factory = make_session_factory(engine)
    with time_machine.travel(at(2026, 11, 23, 12, 0), tick=False):
        result = sweep(factory, services, utcnow())
    assert result.escalated == result.reminded == result.closed_unrated == []
    with factory() as session:
        accepted = session.get(Ticket, 2)
        assert accepted.next_due_at == first_point(
            clock, accepted.accepted_at, accepted.resolve_due)
        resolved = session.get(Ticket, 3)
        assert resolved.next_due_at == clock.rating_due(resolved.resolved_at).at
        assert session.get(Ticket, 4).next_due_at is None
    engine.dispose()
