"""The top of the ladder in chat: a ticket climbs micro → worker → leader → township centre →
county, and the county's staff (县综治中心) see, accept, transfer and resolve it there with
the same commands and the same permission checks as everyone below them."""

from __future__ import annotations

import dataclasses

import pytest

from settings import Settings
from settings.model import RosterEntry
from store.models import Ticket
from tests.conftest import load_test_settings

COUNTY_NODE = "640323"  # 示范县, the root of the sample grid tree
REPORT = "我家门口的下水道堵了，污水都冒到路面上了"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The sample township with two staff of the county's centre on the county node."""
    base = load_test_settings(database_url)
    county = (
        RosterEntry(userid="qianjin", name="钱进", role="county", grids=(COUNTY_NODE,)),
        RosterEntry(userid="sunping", name="孙平", role="county", grids=(COUNTY_NODE,)),
    )
    return dataclasses.replace(base, roster=(*base.roster, *county))


def ticket(bot, number: int) -> Ticket:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        row = session.get(Ticket, number)
        _ = row.assignee, row.grid  # loaded while the session is open
        return row


def last_reply(bot, userid: str) -> str:  # type: ignore[no-untyped-def]
    bot.deliver()
    return bot.received(userid)[-1]


def climb_to_the_county(bot) -> int:  # type: ignore[no-untyped-def]
    """A resident's report, escalated by hand up every rung to the county."""
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [opened] = bot.tickets()
    n = opened.id
    assert (opened.level, ticket(bot, n).assignee.userid) == ("worker", "lijuan")
    for who, level, handler in [("lijuan", "leader", "wanghong"),
                                ("wanghong", "center", "zhaolei"),
                                ("zhaolei", "county", "qianjin")]:
        bot.say_to_app(who, f"上报 {n} 涉及市政管网，本级无法处理")
        row = ticket(bot, n)
        assert (row.status, row.level, row.assignee.userid) == ("dispatched", level, handler)
    return n


def test_a_ticket_escalated_to_the_county_is_handled_there(bot):
    n = climb_to_the_county(bot)
    assert f"工单 #{n} 已上报县综治中心钱进" in last_reply(bot, "zhaolei")
    assert any(f"上报工单 #{n}：由综治中心赵磊从综治中心上报给您处理" in m for m in bot.received("qianjin"))
    assert any("已上报县综治中心钱进处理" in m for m in bot.received("zhangsan"))

    bot.say_to_app("qianjin", "任务")
    assert f"#{n}" in last_reply(bot, "qianjin")
    bot.say_to_app("qianjin", f"详情 {n}")
    assert "县综治中心" in last_reply(bot, "qianjin")

    bot.say_to_app("qianjin", f"接单 {n}")
    assert ticket(bot, n).status == "accepted"
    assert "县综治中心钱进" in last_reply(bot, "zhangsan")
    bot.say_to_app("qianjin", f"上报 {n} 还想再往上报")
    assert "已在县级处理，无法继续上报" in last_reply(bot, "qianjin")

    bot.say_to_app("qianjin", f"办结 {n} 已协调县住建局疏通主管网")
    done = ticket(bot, n)
    assert (done.status, done.level, done.resolved_level) == ("resolved", "county", "county")
    bot.say_to_app("zhangsan", "1")
    assert (ticket(bot, n).status, ticket(bot, n).rating) == ("closed", "satisfied")


def test_the_county_transfers_within_the_county(bot):
    n = climb_to_the_county(bot)
    bot.say_to_app("qianjin", f"转派 {n} 孙平")
    moved = ticket(bot, n)
    assert (moved.status, moved.level, moved.assignee.userid) == ("dispatched", "county",
                                                                  "sunping")
    bot.deliver()
    assert any(f"工单 #{n} 由县综治中心钱进转派给您" in m for m in bot.received("sunping"))
    bot.say_to_app("sunping", f"接单 {n}")
    bot.say_to_app("sunping", f"办结 {n} 已处理")
    assert ticket(bot, n).resolved_level == "county"


def test_the_county_sees_the_whole_county_and_others_do_not_see_its_tickets(bot):
    n = climb_to_the_county(bot)
    bot.say_to_app("chenjing", f"详情 {n}")  # a worker of another grid
    assert "不在您负责的范围内" in last_reply(bot, "chenjing")
    bot.say_in_group("wangwu", "wrXH1", "西湖第一网格的路灯坏了好几天了，晚上很黑")
    other = max(t.id for t in bot.tickets())
    bot.say_to_app("sunping", f"详情 {other}")  # still with its worker, but in the county
    assert f"#{other}" in last_reply(bot, "sunping")
