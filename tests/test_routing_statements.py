"""What routing a batch of reports writes, statement by statement: each ticket is written once,
already dispatched, with its two trail events in one statement; the reporter's grid, and whether
any question of theirs is on record, come with the reporter; the batch's done marks go out
together. Each saved statement is a round trip the
router no longer waits for (PostgreSQL: 10.2 → 6.4 statements a report, bench/routing.py)."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import event, select

from store.models import TicketEvent
from wecom.simulator.payloads import app_text

REPORTS = [("zhangsan", "我家门口的下水道堵了，污水都冒到路面上了"),
           ("lisi", "小区门口的路灯坏了好几天了，晚上很黑"),
           ("wangwu", "楼道里堆满了杂物，堵住了消防通道")]


def _kind(statement: str) -> str:
    """``INSERT tickets``, ``UPDATE inbound_messages``, ``SELECT grids`` … (the first table)."""
    verb = statement.split(None, 1)[0].upper()
    table = re.search(r"\b(?:INTO|UPDATE|FROM)\s+(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else '?'}"


def test_a_batch_of_reports_writes_each_ticket_once_and_marks_the_batch_together(bot):
    client = bot.app_client()
    # a first report reads the roster's index (grids, duties) once for the process
    bot.say_to_app("zhaoliu", "垃圾桶满了三天没人清运，味道很大")
    before = len(bot.tickets())
    for n, (sender, text) in enumerate(REPORTS):
        client.send_app_xml("/wecom/callback", app_text(sender, text, 9100 + n))
    seen: list[tuple[str, str]] = []

    def spy(_conn, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append((_kind(statement), statement))

    engine = bot.runtime.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        assert bot.process() == len(REPORTS)
    finally:
        event.remove(engine, "before_cursor_execute", spy)

    counts = Counter(kind for kind, _ in seen)
    tickets = bot.tickets()[before:]
    assert len(tickets) == len(REPORTS)
    assert all(t.status == "dispatched" and t.assignee_id is not None for t in tickets)
    # 制单 and 派单 in one INSERT a ticket: never an UPDATE after it
    assert counts["INSERT tickets"] == len(REPORTS)
    assert counts["UPDATE tickets"] == 0
    # both trail events of a ticket in one statement (PostgreSQL: SQLAlchemy writes SQLite's
    # rows one by one, where a statement is a call, not a round trip)
    if bot.runtime.engine.dialect.name == "postgresql":
        assert counts["INSERT ticket_events"] == len(REPORTS)
    with bot.session() as session:
        trail = [(e.ticket_id, e.action) for e in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id >= tickets[0].id)
            .order_by(TicketEvent.id))]
    assert trail == [(t.id, action) for t in tickets for action in ("create", "dispatch")]
    # the reporter's grid is read with the reporter, and whether the bot asked them anything:
    # no prompts to look up for residents without any
    assert counts["SELECT grids"] == 0
    assert not [sql for _, sql in seen if sql.startswith("SELECT pending_prompts.")]
    # the done marks: one statement for the messages routed together
    marks = [sql for kind, sql in seen if kind == "UPDATE inbound_messages" and "outcome" in sql]
    assert len(marks) == -(-len(REPORTS) // bot.runtime.processor.batch_size)
    assert all(row.status == "done" and row.outcome.startswith("ticket:")
               for row in bot.inbound())
    assert counts["INSERT outbox"] == -(-len(REPORTS) // bot.runtime.processor.batch_size)
