"""The SLA clocks end to end: a report through the simulator, then the clock advanced with
time-machine and the sweep run again and again ("restarted": new objects each time), and two
sweeps at once on the same database. Each reminder and escalation must happen exactly once."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import func, select

from schedules.sla import sweep
from store.clock import utcnow
from store.models import Person, Ticket, TicketEvent
from store.sla import ClockMark

CST = ZoneInfo("Asia/Shanghai")
REPORT = "我家门口的下水道堵了，污水都冒到路面上了"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def run_sweep(bot):  # type: ignore[no-untyped-def]
    """A sweep as a freshly started scheduler would run it: nothing carried over in memory."""
    from services.container import build_services
    from store.db import make_session_factory

    return sweep(make_session_factory(bot.runtime.engine), build_services(bot.settings), utcnow())


def events(bot, ticket_id: int, action: str) -> list[TicketEvent]:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        return list(session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.action == action)))


def holder(bot, ticket_id: int) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        ticket = session.get(Ticket, ticket_id)
        person = session.get(Person, ticket.assignee_id)
        return ticket.status, ticket.level, person.userid


def test_accept_reminder_then_escalation_each_exactly_once_across_restarts(bot):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True) as clock:
        bot.say_in_group("zhangsan", "wrDSY1", REPORT)
        [ticket] = bot.tickets()
        assert ticket.accept_due.astimezone(CST).replace(second=0, microsecond=0) == at(
            2026, 11, 24, 10, 0)
        bot.deliver()
        bot.state.clear_records()

        assert run_sweep(bot).reminded == []  # nothing due yet

        # Tuesday 09:30: the last-working-morning reminder (09:00) is due
        clock.move_to(at(2026, 11, 24, 9, 30))
        first = run_sweep(bot)
        assert first.reminded == [ticket.id]
        for _ in range(3):  # restarts and repeated runs: nothing again
            again = run_sweep(bot)
            assert again.reminded == [] and again.escalated == []
        bot.deliver()
        [reminder] = bot.received("lijuan")
        assert f"工单 #{ticket.id}" in reminder and "接单" in reminder and "11月24日" in reminder

        # Tuesday 10:30: overdue → escalated one level up, to the community's grid leader
        clock.move_to(at(2026, 11, 24, 10, 30))
        assert run_sweep(bot).escalated == [ticket.id]
        assert run_sweep(bot).escalated == []
        assert run_sweep(bot).escalated == []
        assert holder(bot, ticket.id) == ("dispatched", "leader", "wanghong")
        [escalation] = events(bot, ticket.id, "escalate")
        assert escalation.actor_id is None and escalation.data["overdue_stage"] == "accept"
        assert escalation.from_status == "dispatched"

        bot.deliver()
        leader = bot.received("wanghong")
        assert len(leader) == 2  # the task card and the reason
        assert any("超过接单时限" in text for text in leader)
        previous = bot.received("lijuan")[1:]
        assert len(previous) == 1 and "已上报网格长王红" in previous[0]
        [resident] = bot.received("zhangsan")
        assert "网格长王红" in resident and "超过接单时限" in resident

        # the leader does not accept either: the next stage (centre) after her deadline, once
        clock.move_to(at(2026, 11, 25, 11, 0))
        result = run_sweep(bot)
        assert result.escalated == [ticket.id]
        assert run_sweep(bot).escalated == []
        assert holder(bot, ticket.id) == ("dispatched", "center", "zhaolei")
        with bot.session() as session:
            marks = session.execute(
                select(ClockMark.stage, ClockMark.kind).where(ClockMark.ticket_id == ticket.id)
                .order_by(ClockMark.id)).all()
        # one reminder + one overdue per deadline (the leader's reminder point was skipped
        # because the sweep only ran after her deadline had passed)
        assert [tuple(m) for m in marks] == [
            ("accept", "remind"), ("accept", "overdue"), ("accept", "overdue")]


def test_two_sweeps_at_the_same_time_escalate_once(bot):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True) as clock:
        for text in (REPORT, "小区东门的路灯坏了三天了", "楼道里堆满了杂物，堵住了消防通道"):
            bot.say_to_app("zhangsan", text)
        tickets = bot.tickets()
        assert len(tickets) == 3
        clock.move_to(at(2026, 11, 24, 12, 0))
        reports = []
        barrier = threading.Barrier(2)

        def go() -> None:
            barrier.wait()
            reports.append(run_sweep(bot))

        threads = [threading.Thread(target=go) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        escalated = sorted(reports[0].escalated + reports[1].escalated)
        assert escalated == sorted(t.id for t in tickets)
        for ticket in tickets:
            assert len(events(bot, ticket.id, "escalate")) == 1
        with bot.session() as session:
            assert session.scalar(select(func.count()).select_from(ClockMark)) == 3
        bot.deliver()
        cards = [m for m in bot.state.messages_for("wanghong") if m.msgtype == "template_card"]
        assert len(cards) == 3


def test_unanswered_rating_closes_as_unrated_after_three_working_days(bot):
    with time_machine.travel(at(2026, 11, 26, 15, 0), tick=True) as clock:  # a Thursday
        bot.say_to_app("zhangsan", REPORT)
        [ticket] = bot.tickets()
        bot.say_to_app("lijuan", f"接单 {ticket.id}")
        bot.say_to_app("lijuan", f"办结 {ticket.id} 已疏通")
        # Thursday + 3 working days = Tuesday 15:00 (the weekend does not count)
        clock.move_to(at(2026, 12, 1, 14, 59))
        assert run_sweep(bot).closed_unrated == []
        clock.move_to(at(2026, 12, 1, 15, 1))
        assert run_sweep(bot).closed_unrated == [ticket.id]
        assert run_sweep(bot).closed_unrated == []
        with bot.session() as session:
            closed = session.get(Ticket, ticket.id)
            assert (closed.status, closed.rating) == ("closed", "unrated")
        assert len(events(bot, ticket.id, "close_unrated")) == 1
        bot.deliver()
        assert any("未评价" in text for text in bot.received("zhangsan"))


def test_resolve_deadline_overdue_escalates_an_accepted_ticket(bot):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True) as clock:
        bot.say_to_app("zhangsan", REPORT)
        [ticket] = bot.tickets()
        bot.say_to_app("lijuan", f"接单 {ticket.id}")
        with bot.session() as session:
            due = session.get(Ticket, ticket.id).resolve_due
        clock.move_to(due.astimezone(CST).replace(hour=9, minute=30))  # the due day, morning
        assert run_sweep(bot).reminded == [ticket.id]
        clock.move_to(due)
        clock.shift(60)
        assert run_sweep(bot).escalated == [ticket.id]
        assert holder(bot, ticket.id) == ("dispatched", "leader", "wanghong")
        [event] = events(bot, ticket.id, "escalate")
        assert event.data["overdue_stage"] == "resolve" and event.from_status == "accepted"
