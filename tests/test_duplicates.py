"""Duplicate reports: same grid, same category, similar text, within 48 hours → linked to the open
ticket (not dispatched again); the resident is told the number and hears when it is resolved."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from cases.duplicate_index import CANDIDATE_LIMIT, index_ticket
from cases.duplicates import THRESHOLD, best_match, bigrams, prefix, similarity, size_range
from store.models import Grid, Person, Ticket

CORPUS = Path(__file__).parent / "data" / "grid_chat_dev.csv"

CST = ZoneInfo("Asia/Shanghai")
FIRST = "楼道里堆满了杂物，堵住了消防通道"
AGAIN = "3栋楼道堆满杂物堵住消防通道"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (FIRST, AGAIN, True),
        ("我家门口的下水道堵了，污水都冒到路面上了", "门口下水道堵了，污水冒到路面", True),
        ("我家门口的下水道堵了", "小区门口的路灯坏了", False),
        ("楼上漏水到我家", FIRST, False),
        ("", FIRST, False),
    ],
)
def test_similarity_threshold(a: str, b: str, same: bool) -> None:
    assert (similarity(a, b) >= 0.5) is same


def test_best_match_picks_the_most_similar() -> None:
    assert best_match(AGAIN, [(1, "下水道堵了"), (2, FIRST), (3, "楼道堆了东西")])[0] == 2
    assert best_match("路灯坏了", [(1, FIRST)]) is None


def test_second_report_in_the_same_grid_is_linked_and_told_when_resolved(bot):
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=CST), tick=True):
        bot.say_in_group("zhangsan", "wrDSY1", FIRST)
        bot.deliver()
        bot.state.clear_records()
        bot.say_in_group("stranger01", "wrDSY1", AGAIN)  # a neighbour, via the grid's group
        first, second = bot.tickets()
        assert (second.status, second.duplicate_of_id) == ("merged", first.id)
        assert second.category == first.category
        bot.deliver()
        [reply] = bot.group_received("wrDSY1")
        assert f"工单 #{first.id}" in reply and "并入" in reply
        assert bot.received("lijuan") == []  # the worker is not dispatched the same thing twice

        bot.say_to_app("lijuan", f"接单 {first.id}")
        bot.say_to_app("lijuan", f"办结 {first.id} 杂物已清理")
        bot.deliver()
        [told] = bot.reached("stranger01")  # enrolled from the group: told there, with an @
        assert f"工单 #{second.id}" in told and f"工单 #{first.id}" in told and "杂物已清理" in told
        assert any("请对工单" in t for t in bot.received("zhangsan"))


def test_other_grid_other_text_or_after_48_hours_opens_a_new_ticket(bot):
    start = datetime(2026, 11, 23, 10, 0, tzinfo=CST)
    with time_machine.travel(start, tick=True) as clock:
        bot.say_in_group("zhangsan", "wrDSY1", FIRST)
        bot.say_in_group("lisi", "wrDSY2", AGAIN)  # another grid
        bot.say_in_group("stranger01", "wrDSY1", "小区东门的路灯坏了三天了")  # another matter
        clock.move_to(start + timedelta(hours=48, minutes=1))
        bot.say_in_group("stranger01", "wrDSY1", AGAIN)  # too late to be the same report
        tickets = bot.tickets()
        assert [t.status for t in tickets] == ["dispatched"] * 4
        assert all(t.duplicate_of_id is None for t in tickets)


def test_a_closed_ticket_is_not_a_duplicate_target(bot):
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=CST), tick=True):
        bot.say_in_group("zhangsan", "wrDSY1", FIRST)
        [first] = bot.tickets()
        bot.say_to_app("zhangsan", f"撤销 {first.id}")
        bot.say_in_group("stranger01", "wrDSY1", AGAIN)
        _, second = bot.tickets()
        assert second.duplicate_of_id is None and second.status == "dispatched"


# -- the bounded search: prefix filtering misses nothing, and reads the same however many are open


def _variants(text: str, rng: random.Random) -> list[str]:
    """Rewordings of ``text`` as residents make them: a few characters dropped, added, swapped."""
    out = []
    for _ in range(6):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(chars) + 1)
            kind = rng.random()
            if kind < 0.4 and len(chars) > 2:
                del chars[min(where, len(chars) - 1)]
            elif kind < 0.8:
                chars.insert(where, rng.choice("的了里都楼门口水电路灯坏堵漏3号"))
            elif len(chars) > 3:
                i = rng.randrange(len(chars) - 1)
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
        out.append("".join(chars))
    return out


def test_prefix_filter_keeps_every_pair_that_reaches_the_threshold() -> None:
    texts = [row["text"] for row in csv.DictReader(CORPUS.open(encoding="utf-8"))][:400]
    rng = random.Random(7)
    reached = below = 0
    for text in texts:
        for other in [*_variants(text, rng), rng.choice(texts)]:
            a, b = bigrams(text), bigrams(other)
            if similarity(text, other) < THRESHOLD:
                below += 1
                continue
            reached += 1
            assert set(prefix(a)) & set(prefix(b)), (text, other)
            low, high = size_range(len(a))
            assert low <= len(b) <= high, (text, other)
    assert reached > 1000 and below > 300  # both sides of the threshold were tried


def _seed_open_tickets(session, grid_id: int, reporter_id: int, count: int, start: int,
                       at: datetime, rng: random.Random) -> None:
    """``count`` open originals about the same corridor, each different enough to stay apart."""
    for number in range(start, start + count):
        filler = "".join(rng.choice("东南西北前后左右红黄蓝绿春夏秋冬甲乙丙丁") for _ in range(14))
        ticket = Ticket(status="dispatched", category="安全隐患", tier="general", text=(
            f"楼道堆满杂物{number}号{filler}"), grid_id=grid_id, reporter_id=reporter_id,
            channel="app", created_at=at, classification={}, reply_to={})
        session.add(ticket)
        session.flush()
        index_ticket(session, ticket)


class RowCounter:
    """Counts the statements a session runs and the rows they return to Python."""

    def __init__(self) -> None:
        self.statements = 0
        self.rows = 0

    def __call__(self, state):  # type: ignore[no-untyped-def]
        result = state.invoke_statement()
        frozen = result.freeze()
        self.statements += 1
        self.rows += len(frozen().all())
        return frozen()


def test_the_search_reads_the_same_rows_with_50_or_1000_open_tickets(session_factory) -> None:
    from sqlalchemy import event

    from cases.intake import find_duplicate
    from store.roster import load_index

    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    rng = random.Random(3)
    report = "楼道堆满杂物7号堵住消防通道"
    reads: list[tuple[int, int]] = []
    with session_factory() as session:
        roster = load_index(session)
        grid = session.scalar(select(Grid).where(Grid.code == "640323001001001"))
        reporter = session.scalar(select(Person).where(Person.userid == "zhangsan"))
        original = Ticket(status="dispatched", category="安全隐患", tier="general",
                          text="楼道堆满杂物7号，堵住了消防通道", grid_id=grid.id,
                          reporter_id=reporter.id, channel="app", created_at=at,
                          classification={}, reply_to={})
        session.add(original)
        session.flush()
        index_ticket(session, original)
        for total, start in ((50, 0), (950, 50)):
            _seed_open_tickets(session, grid.id, reporter.id, total, start, at, rng)
            session.flush()
            counter = RowCounter()
            event.listen(session, "do_orm_execute", counter)
            found = find_duplicate(session, roster, grid, "安全隐患", report,
                                   at + timedelta(hours=1))
            event.remove(session, "do_orm_execute", counter)
            assert found is not None and found.id == original.id
            reads.append((counter.statements, counter.rows))
        open_now = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.status == "dispatched"))
        assert open_now == 1001
    (statements, rows), (statements_later, rows_later) = reads
    assert statements_later == statements
    assert rows_later == rows <= CANDIDATE_LIMIT + 2  # the candidates, the one ticket


def test_a_ticket_leaves_the_index_when_it_is_withdrawn(bot):
    from store.models import TicketMatchKey

    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=CST), tick=True):
        bot.say_in_group("zhangsan", "wrDSY1", FIRST)
        [first] = bot.tickets()
        with bot.session() as session:
            keys = session.scalars(select(TicketMatchKey).where(
                TicketMatchKey.ticket_id == first.id)).all()
            assert keys and {k.grid_id for k in keys} == {first.grid_id}
        bot.say_in_group("stranger01", "wrDSY1", AGAIN)  # merged: a duplicate is not indexed
        bot.say_to_app("zhangsan", f"撤销 {first.id}")
        with bot.session() as session:
            assert session.scalar(select(func.count()).select_from(TicketMatchKey)) == 0


def test_a_ticket_placed_in_another_grid_is_found_there_and_no_longer_here(bot):
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=CST), tick=True):
        bot.say_in_group("zhangsan", "wrDSY1", FIRST)
        [first] = bot.tickets()
        bot.say_to_app("lijuan", f"退回 {first.id} 不属于本网格")
        bot.say_to_app("zhaolei", f"派单 {first.id} 西湖第一网格")
        bot.say_in_group("stranger01", "wrDSY1", AGAIN)  # the old grid: a ticket of its own
        bot.say_in_group("newcomer02", "wrXH1", AGAIN)  # the new grid: the same matter
        _, here, there = bot.tickets()
        assert here.duplicate_of_id is None and here.status == "dispatched"
        assert (there.status, there.duplicate_of_id) == ("merged", first.id)


def test_on_postgresql_every_search_is_one_short_statement_whatever_the_report(
        session_factory) -> None:
    """The grams and the area go as one array parameter each: the statement's text is the same
    for a short and a long report and stays under psycopg's 4 kB statement cache (a member per
    gram with the area spelled out in each made it re-parse a long statement every report)."""
    from sqlalchemy import event

    from cases.duplicate_index import candidates
    from store.roster import load_index

    with session_factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's form of the search (set DATABASE_URL)")
        roster = load_index(session)
        grid = session.scalar(select(Grid).where(Grid.code == "640323001001001"))
        area = roster.subtree(roster.enclosing(grid.id, "grid"))
        searches: list[str] = []

        def capture(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            if "ticket_match_keys" in statement:
                searches.append(statement)

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            since = datetime(2026, 11, 20, tzinfo=UTC)
            for text in ("楼道漏水", "东顺苑12栋3单元楼道堆满杂物好几天了，堵住了消防通道，"
                                    "晚上下楼很危险，麻烦网格员尽快来看看处理一下"):
                candidates(session, area, "安全隐患", text, since)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    assert len(prefix(bigrams("楼道漏水"))) < 10 < len(prefix(bigrams(
        "东顺苑12栋3单元楼道堆满杂物好几天了，堵住了消防通道，晚上下楼很危险，麻烦网格员尽快来看看处理一下")))
    short, long = searches
    assert short == long and len(short.encode()) < 4096
