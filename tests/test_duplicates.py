"""Duplicate reports: same grid, same category, similar text, within 48 hours → linked to the open
ticket (not dispatched again); the resident is told the number and hears when it is resolved."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.duplicates import best_match, similarity

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
