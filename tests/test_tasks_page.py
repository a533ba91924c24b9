"""任务 at a county's size: a handler's open tickets are counted by the database and only the page
shown is read, most urgent first; what the handler sees does not change, the rows read do not
grow with the number of open tickets."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from store.clock import utcnow
from store.models import Grid, Person, Ticket

GRID_A = "640323001001001"


class RowCounter:
    """Counts the rows every ORM session returns to Python while it listens."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, state):  # type: ignore[no-untyped-def]
        if not state.is_select:
            return None  # writes return no rows: run as usual
        frozen = state.invoke_statement().freeze()
        self.rows += len(frozen().all())
        return frozen()


def _assign(bot, count: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """``count`` open tickets held by 李娟, their deadlines spread over the coming weeks."""
    now = utcnow()
    with bot.session() as session:
        grid = session.scalar(select(Grid).where(Grid.code == GRID_A))
        lijuan = session.scalar(select(Person).where(Person.userid == "lijuan"))
        zhangsan = session.scalar(select(Person).where(Person.userid == "zhangsan"))
        for _ in range(count):
            due = now + timedelta(minutes=rng.randrange(60, 60 * 24 * 30))
            accepted = rng.random() < 0.5
            session.add(Ticket(
                status="accepted" if accepted else "dispatched", category="facility",
                text="下水道堵了", grid=grid, reporter=zhangsan, assignee=lijuan, level="worker",
                created_at=now - timedelta(hours=2), dispatched_at=now - timedelta(hours=1),
                accepted_at=now - timedelta(minutes=30) if accepted else None,
                accept_due=None if accepted else due, resolve_due=due if accepted else None))
        session.commit()


def _expected_page(bot) -> list[int]:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        held = session.scalars(select(Ticket).where(
            Ticket.assignee.has(Person.userid == "lijuan"),
            Ticket.status.in_(["dispatched", "accepted"]))).all()
        return [t.id for t in sorted(held, key=lambda t: (
            t.accept_due if t.status == "dispatched" else t.resolve_due, t.id))][:20]


def _tasks(bot) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    counter = RowCounter()
    event.listen(Session, "do_orm_execute", counter)
    try:
        bot.say_to_app("lijuan", "任务")
    finally:
        event.remove(Session, "do_orm_execute", counter)
    bot.deliver()
    return bot.received("lijuan")[-1], counter.rows


def test_tasks_show_the_twenty_most_urgent_of_many_and_read_the_same_rows(bot):
    rng = random.Random(11)
    _assign(bot, 30, rng)
    reply, rows = _tasks(bot)
    assert "（30 张，最急的在前）" in reply
    assert [int(n) for n in re.findall(r"^#(\d+)", reply, re.M)] == _expected_page(bot)

    _assign(bot, 470, rng)
    reply, rows_later = _tasks(bot)
    assert "（500 张，最急的在前）" in reply
    assert [int(n) for n in re.findall(r"^#(\d+)", reply, re.M)] == _expected_page(bot)
    assert rows_later == rows
