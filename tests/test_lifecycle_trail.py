"""A ticket's trail and its hand-overs through the simulator: 详情 shows every event (ratings with
their value and comment, reopenings, escalations with reasons, transfers) and pages a long trail;
a reopened ticket reaches the 网格长 as 重办工单 with the resident's comment, an escalated one as
上报工单 with the reason, each naming the level it came from."""

from __future__ import annotations

from store.models import Ticket

REPORT = "我家门口的下水道堵了，污水都冒到路面上了"


def open_one(bot) -> int:  # type: ignore[no-untyped-def]
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [ticket] = bot.tickets()
    bot.deliver()
    bot.state.clear_records()
    return ticket.id


def cards(bot, userid: str) -> list[dict]:  # type: ignore[no-untyped-def]
    bot.deliver()
    return [d.body["template_card"] for d in bot.state.messages_for(userid)
            if d.msgtype == "template_card"]


def texts(bot, userid: str) -> list[str]:  # type: ignore[no-untyped-def]
    bot.deliver()
    return [d.content for d in bot.state.messages_for(userid) if d.msgtype == "text"]


def fields(card: dict) -> dict[str, str]:
    return {item["keyname"]: item["value"] for item in card["horizontal_content_list"]}


def reopen(bot, n: int, comment: str) -> None:  # type: ignore[no-untyped-def]
    bot.say_to_app("lijuan", f"接单 {n}")
    bot.say_to_app("lijuan", f"办结 {n} 已疏通")
    bot.say_to_app("zhangsan", f"评价 {n} 不满意 {comment}")


def test_a_reopened_ticket_reaches_the_leader_marked_with_the_comment(bot):
    n = open_one(bot)
    reopen(bot, n, "师傅根本没来，问题还在")
    with bot.session() as session:
        assert session.get(Ticket, n).status == "dispatched"
    [card] = cards(bot, "wanghong")
    assert card["main_title"]["title"].startswith(f"重办工单 #{n}")
    assert "新工单" not in card["main_title"]["title"]
    assert fields(card)["来自"] == "网格员"
    assert fields(card)["居民意见"] == "师傅根本没来，问题还在"
    [told] = texts(bot, "wanghong")
    assert told.startswith(f"重办工单 #{n}")
    assert "师傅根本没来，问题还在" in told and "原由网格员办理" in told


def test_an_escalated_ticket_reaches_the_leader_marked_with_the_reason(bot):
    n = open_one(bot)
    bot.say_to_app("lijuan", f"接单 {n}")
    bot.say_to_app("lijuan", f"上报 {n} 涉及主管道，需要市政协调")
    [card] = cards(bot, "wanghong")
    assert card["main_title"]["title"].startswith(f"上报工单 #{n}")
    assert fields(card)["来自"] == "网格员"
    assert fields(card)["上报原因"] == "涉及主管道，需要市政协调"
    [told] = texts(bot, "wanghong")
    assert told.startswith(f"上报工单 #{n}") and "涉及主管道，需要市政协调" in told


def test_a_new_report_is_still_a_new_ticket(bot):
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [card] = cards(bot, "lijuan")
    assert card["main_title"]["title"].startswith("新工单 #")
    assert "来自" not in fields(card)


def test_detail_shows_the_whole_trail_with_ratings_reopenings_escalations_and_transfers(bot):
    n = open_one(bot)
    reopen(bot, n, "师傅根本没来")
    bot.say_to_app("wanghong", f"转派 {n} 李娟")
    bot.say_to_app("lijuan", f"接单 {n}")
    bot.say_to_app("lijuan", f"上报 {n} 需要网格长协调物业")
    bot.say_to_app("wanghong", f"接单 {n}")
    bot.say_to_app("wanghong", f"办结 {n} 已请物业重新疏通")
    bot.say_to_app("zhangsan", f"评价 {n} 一般 还行吧")
    bot.deliver()
    bot.state.clear_records()

    bot.say_to_app("zhaolei", f"详情 {n} 全部")
    replies = texts(bot, "zhaolei")
    trail = "\n".join(replies)
    lines = [line for line in trail.splitlines() if line.startswith("· ")]
    assert "记录（共 11 条）" in trail and len(lines) == 11
    assert "张三 制单" in lines[0]  # the first event is never dropped
    assert "系统 派单 → 网格员李娟" in lines[1]
    assert "评价：不满意，意见：师傅根本没来；工单重新打开，上报网格长王红" in lines[4]
    assert "网格长王红 转派 → 网格员李娟" in lines[5]
    assert "上报：网格员 → 网格长王红，原因：需要网格长协调物业" in lines[7]
    assert "评价：一般，意见：还行吧" in lines[10]
    assert all(len(reply.encode()) <= 2048 for reply in replies)


def test_a_long_trail_pages_and_says_how_to_see_the_rest(bot):
    n = open_one(bot)
    bot.say_to_app("lijuan", f"接单 {n}")
    for step in range(1, 12):
        bot.say_to_app("lijuan", f"进度 {n} 第{step}次联系物业")
    bot.deliver()
    bot.state.clear_records()  # 14 events: create, dispatch, accept, 11 progress notes

    bot.say_to_app("lijuan", f"详情 {n}")
    [first] = texts(bot, "lijuan")
    lines = [line for line in first.splitlines() if line.startswith("· ")]
    assert "记录（共 14 条，第 1/2 页）" in first
    assert len(lines) == 10 and "制单" in lines[0]
    assert f"下一页：详情 {n} 2" in first and f"详情 {n} 全部" in first

    bot.deliver()
    bot.state.clear_records()
    bot.say_to_app("lijuan", f"详情 {n} 2")
    [second] = texts(bot, "lijuan")
    lines = [line for line in second.splitlines() if line.startswith("· ")]
    assert "第 2/2 页" in second and len(lines) == 4
    assert "更新进度：第11次联系物业" in lines[-1]

    bot.deliver()
    bot.state.clear_records()
    bot.say_to_app("lijuan", f"详情 {n} 3")
    [none] = texts(bot, "lijuan")
    assert "共 2 页，没有第 3 页" in none


def test_chunks_keep_every_message_within_wecoms_size_and_lose_no_line():
    from notify.trail import chunks

    lines = [f"· 第{i}条 " + "处理记录" * 20 for i in range(60)]
    messages = chunks(lines)
    assert len(messages) > 1
    assert all(len(m.encode()) <= 2048 for m in messages)
    assert "\n".join(messages).splitlines() == lines
    [cut] = chunks(["长" * 1000])
    assert len(cut.encode()) <= 2048 and cut.startswith("长")
