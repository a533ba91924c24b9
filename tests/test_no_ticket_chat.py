"""What opens no ticket, end to end through the simulator: closing remarks and thanks in a group and
1:1, messages that ask for nothing (silence in a group, a hint 1:1), and unsure requests that still
reach the centre's triage, marked as unsure."""

from __future__ import annotations

import pytest

from notify.wording import chat as texts

CLOSING = ["水管修好了，谢谢你们", "已经好了 辛苦了", "路灯亮了，谢谢网格员", "谢谢你们这么快就来处理了",
           "麻烦你了哈", "问题已经解决了，谢谢"]
UNCLEAR = ["今天菜市场的菜好便宜", "天冷了大家多穿点"]


def test_closing_remarks_in_a_group_make_nothing(bot):
    for text in CLOSING:
        assert bot.say_in_group("zhangsan", "wrDSY1", text).status == 200
    assert bot.tickets() == []
    bot.deliver()
    assert bot.outbox() == []
    assert bot.group_received("wrDSY1") == []
    assert {m.outcome for m in bot.inbound()} <= {"ignored:closing", "ignored:chatter"}
    assert "ignored:closing" in {m.outcome for m in bot.inbound()}


@pytest.mark.parametrize("text", ["水管修好了，谢谢你们", "已经好了 辛苦了"])
def test_a_closing_remark_one_to_one_gets_a_word_and_no_ticket(bot, text):
    bot.say_to_app("zhangsan", text)
    assert bot.tickets() == []
    bot.deliver()
    assert bot.received("zhangsan") == [texts.CLOSING_1TO1]
    [row] = bot.inbound()
    assert row.outcome == "hinted:closing"


def test_thanks_after_a_resolved_ticket_opens_no_second_one(bot):
    bot.say_in_group("zhangsan", "wrDSY1", "我家门口的下水道堵了，污水都冒到路面上了")
    [ticket] = bot.tickets()
    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.say_to_app("lijuan", f"办结 {ticket.id} 已疏通")
    bot.say_in_group("zhangsan", "wrDSY1", "下水道通了，谢谢你们")
    bot.say_to_app("zhangsan", "已经好了 辛苦了")
    assert [t.id for t in bot.tickets()] == [ticket.id]


def test_a_message_asking_nothing_is_silent_in_a_group(bot):
    for text in UNCLEAR:
        bot.say_in_group("lisi", "wrDSY2", text)
    assert bot.tickets() == []
    bot.deliver()
    assert bot.outbox() == []
    assert [m.outcome for m in bot.inbound()] == ["ignored:unclear"] * len(UNCLEAR)


def test_a_message_asking_nothing_gets_a_hint_one_to_one(bot):
    bot.say_to_app("zhangsan", "今天菜市场的菜好便宜")
    assert bot.tickets() == []
    bot.deliver()
    [hint] = bot.received("zhangsan")
    assert hint == texts.REPORT_HINT
    assert "在哪里" in hint and "帮助" in hint


def test_a_still_open_matter_with_thanks_is_a_report(bot):
    bot.say_in_group("zhangsan", "wrDSY1", "路灯修好了两天又不亮了，谢谢再来看看")
    [ticket] = bot.tickets()
    assert ticket.category == "facility"


def test_an_unsure_request_reaches_the_centre_marked_unsure(bot):
    bot.say_in_group("zhangsan", "wrDSY1", "能不能在村里设一个快递代收点，每次取快递都要跑到镇上")
    [ticket] = bot.tickets()
    assert (ticket.category, ticket.level) == ("other", "center")
    assert ticket.classification["unsure"] is True
    bot.deliver()
    [reply] = bot.group_received("wrDSY1")
    assert f"工单 #{ticket.id}（其他）" in reply and "综治中心" in reply
    [card] = bot.state.messages_for("zhaolei")
    assert card.msgtype == "template_card"
    title = card.body["template_card"]["main_title"]["title"]
    assert title == f"新工单 #{ticket.id}｜其他（待人工分类）"
    bot.say_to_app("zhaolei", f"详情 {ticket.id}")
    bot.deliver()
    assert "分类不确定" in bot.received("zhaolei")[-1]


def test_a_sure_request_carries_no_unsure_mark(bot):
    bot.say_in_group("zhangsan", "wrDSY1", "3栋2单元楼道里堆满了杂物，消防通道都堵了")
    [ticket] = bot.tickets()
    assert "unsure" not in ticket.classification
    bot.deliver()
    [card] = bot.state.messages_for("lijuan")
    assert "待人工分类" not in card.body["template_card"]["main_title"]["title"]
