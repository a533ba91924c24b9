"""Residents outside the roster, end to end through the simulator: enrolled on their first
message, reached on a route that works (the app, or their grid group with an @-mention), a
fallback after ``invaliduser``, failed deliveries on the trail with the truth told to staff, and
the centre's list of enrolled residents."""

from __future__ import annotations

from sqlalchemy import select

from store.clock import utcnow
from store.db import transaction
from store.models import OutboxMessage, Person, Ticket, TicketEvent
from store.prompts import live_prompts
from store.roster import sync_township
from wecom.simulator.payloads import aibot_text

REPORT = "我家门口的下水道堵了，污水都冒到路面上了"
GROUP, ROBOT, GRID = "wrDSY1", "demo-robot-dsy1", "640323001001001"
NEIGHBOUR = "wx_neighbour_01"  # in the grid group, in no roster, outside the app's reach


def person(bot, userid: str) -> Person:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        found = session.scalar(select(Person).where(Person.userid == userid))
        assert found is not None
        _ = found.grid
        return found


def trail(bot, number: int) -> list[TicketEvent]:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == number)
                                    .order_by(TicketEvent.id)))


def app_sends_to(bot, userid: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for call in bot.state.calls_to("message/send")
               if userid in str((call.body or {}).get("touser", "")).split("|"))


def latest(bot, userid: str) -> str:  # type: ignore[no-untyped-def]
    bot.deliver()
    return bot.received(userid)[-1]


def test_unknown_group_member_is_enrolled_and_reached_in_the_group_with_an_at(bot):
    bot.say_in_group(NEIGHBOUR, GROUP, REPORT)
    [ticket] = bot.tickets()
    neighbour = person(bot, NEIGHBOUR)
    assert (neighbour.role, neighbour.enrolled_via, neighbour.enrolled_chat_id) == (
        "resident", "group", GROUP)
    assert neighbour.grid.code == GRID and neighbour.first_seen_at is not None
    assert ticket.status == "dispatched" and ticket.reporter_id == neighbour.id
    bot.deliver()
    assert any(f"工单 #{ticket.id}" in text for text in bot.group_received(GROUP))  # 已受理

    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.deliver()
    [accepted] = bot.state.mentions_of(NEIGHBOUR)
    assert accepted.channel == "webhook" and accepted.target == ROBOT
    assert accepted.msgtype == "text" and "已由网格员李娟接单" in accepted.content

    bot.say_to_app("lijuan", f"办结 {ticket.id} 已疏通")
    assert latest(bot, "lijuan") == (
        f"工单 #{ticket.id} 已办结，评价邀请将在网格群「东顺苑第一网格居民群」@居民发给居民；"
        "如未送达，会再告诉您。")
    prompt = bot.state.mentions_of(NEIGHBOUR)[-1]
    assert prompt.chat_id == GROUP and prompt.mentioned == [NEIGHBOUR]
    assert f"请对工单 #{ticket.id} 的处理结果评价" in prompt.content
    assert "在群里回复请先 @网格通" in prompt.content
    assert app_sends_to(bot, NEIGHBOUR) == 0  # the group route was chosen: no doomed app message
    with bot.session() as session:  # the prompt sent in the group waits for the answer all the same
        [waiting] = live_prompts(session, neighbour.id, utcnow())
        assert (waiting.kind, waiting.ticket_id) == ("rating", ticket.id)

    bot.say_in_group(NEIGHBOUR, GROUP, "1")  # the reply in the group is read
    closed = bot.tickets()[0]
    assert (closed.status, closed.rating) == ("closed", "satisfied")
    assert "居民评价：满意" in latest(bot, "lijuan")
    assert [e.action for e in trail(bot, ticket.id)].count("unreached") == 0


def test_unknown_one_to_one_resident_is_enrolled_without_a_grid_until_seen_in_a_group(bot):
    bot.say_to_app("newcomer02", REPORT)
    [ticket] = bot.tickets()
    newcomer = person(bot, "newcomer02")
    assert (newcomer.enrolled_via, newcomer.grid_id, newcomer.app_reachable) == ("app", None, True)
    assert ticket.level == "center"  # no grid: the centre's triage
    bot.say_to_app("zhaolei", f"派单 {ticket.id} 李娟")
    assert f"工单 #{ticket.id} 已转由网格员李娟处理" in latest(bot, "newcomer02")  # 1:1, the app

    bot.say_in_group("newcomer02", "wrDSY2", "收到")  # first seen in a grid group: its grid
    assert person(bot, "newcomer02").grid.code == "640323001001002"
    assert person(bot, "newcomer02").seen_chat_id == "wrDSY2"


def test_invaliduser_marks_the_app_route_unusable_and_falls_back_to_the_group(bot):
    bot.state.visible_users = set(bot.state.known_users or ()) - {"zhangsan"}
    bot.say_in_group("zhangsan", GROUP, REPORT)  # in the roster: the app is tried first
    [ticket] = bot.tickets()
    bot.deliver()
    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.deliver()
    assert bot.received("zhangsan") == [] and app_sends_to(bot, "zhangsan") == 1
    assert person(bot, "zhangsan").app_reachable is False
    [fallback] = bot.state.mentions_of("zhangsan")
    assert fallback.chat_id == GROUP and "已由网格员李娟接单" in fallback.content
    with bot.session() as session:
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.person_id == person(bot, "zhangsan").id).order_by(OutboxMessage.id))
        assert [(r.channel, r.status) for r in rows] == [("app", "failed"), ("webhook", "sent")]

    bot.say_to_app("lijuan", f"办结 {ticket.id} 已疏通")  # known now: straight to the group
    assert "在网格群「东顺苑第一网格居民群」@居民" in latest(bot, "lijuan")
    assert app_sends_to(bot, "zhangsan") == 1
    assert "请对工单" in bot.state.mentions_of("zhangsan")[-1].content
    assert "unreached" not in [e.action for e in trail(bot, ticket.id)]


def test_a_resident_nothing_reaches_is_on_the_trail_and_staff_hear_the_truth(bot):
    bot.state.disable_robot(ROBOT)
    bot.say_in_group(NEIGHBOUR, GROUP, REPORT)
    [ticket] = bot.tickets()
    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.deliver()
    assert bot.reached(NEIGHBOUR) == []
    [unreached] = [e for e in trail(bot, ticket.id) if e.action == "unreached"]
    assert "网格群「东顺苑第一网格居民群」@居民（群机器人已停用）" in unreached.note
    assert "应用私信（居民不在应用的可见范围" in unreached.note
    assert unreached.data["routes"] == ["webhook", "app"]
    told = [t for t in bot.received("lijuan") if "没能送达居民" in t]
    assert len(told) == 1 and "已由网格员李娟接单" in told[0] and "请电话或上门" in told[0]

    bot.say_to_app("lijuan", f"办结 {ticket.id} 已疏通")  # the robot may be back: tried again
    bot.deliver()
    [reply] = [t for t in bot.received("lijuan") if t.startswith(f"工单 #{ticket.id} 已办结")]
    assert "已请居民评价" not in reply and "如未送达，会再告诉您" in reply
    told = [t for t in bot.received("lijuan") if "没能送达居民" in t]
    assert len(told) == 2 and "请对工单" in told[1] and "群机器人已停用" in told[1]
    assert "应用私信（企业微信此前已答复 invaliduser，这次未再发送）" in told[1]
    assert [e.action for e in trail(bot, ticket.id)].count("unreached") == 2
    bot.say_to_app("lijuan", f"详情 {ticket.id}")
    assert "系统 消息未送达居民：已尝试：网格群「东顺苑第一网格居民群」@居民" in latest(bot, "lijuan")


def test_a_smart_bot_one_to_one_stranger_gets_no_false_promise(bot):
    payload = aibot_text("ghost77", None, REPORT, chattype="single",
                         response_url=bot.state.new_response_url(bot.sim_url, userid="ghost77"))
    bot.processed(bot.aibot_client().send_aibot_json("/wecom/aibot", payload))
    [ticket] = bot.tickets()
    assert person(bot, "ghost77").enrolled_via == "aibot"
    bot.say_to_app("zhaolei", f"派单 {ticket.id} 李娟")
    bot.deliver()
    assert person(bot, "ghost77").app_reachable is False  # invaliduser: no group to fall back on
    assert any("没能送达居民" in t and "转由网格员李娟" in t for t in bot.received("lijuan"))

    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.say_to_app("lijuan", f"办结 {ticket.id} 已疏通")  # no route left: said at once
    assert (f"工单 #{ticket.id} 已办结，但评价邀请发不出去：没有可用的途径"
            in bot.received("lijuan")[-1] if bot.deliver() >= 0 else False)
    assert app_sends_to(bot, "ghost77") == 1  # the first message only; nothing doomed after it
    notes = [e.note for e in trail(bot, ticket.id) if e.action == "unreached"]
    assert len(notes) == 3 and notes[-1] == "已尝试：没有可用的途径（应用私信不可达，也不知道居民所在的网格群）"


def test_roster_sync_keeps_enrolled_residents(bot):
    bot.say_in_group(NEIGHBOUR, GROUP, "楼道灯坏了")
    with transaction(bot.runtime.session_factory) as session:
        sync_township(session, bot.settings)
    again = person(bot, NEIGHBOUR)
    assert (again.active, again.role, again.enrolled_via, again.grid.code) == (
        True, "resident", "group", GRID)


def test_the_centre_lists_enrolled_residents_with_their_source(bot):
    bot.say_in_group(NEIGHBOUR, GROUP, "楼道灯坏了")
    bot.say_to_app("newcomer02", "你好")
    bot.say_to_app("zhaolei", "居民名单")
    listing = latest(bot, "zhaolei")
    assert listing.startswith("自动登记的居民共 2 人")
    assert f"· {NEIGHBOUR}｜东顺苑第一网格｜群「东顺苑第一网格居民群」" in listing
    assert "· newcomer02｜网格待定｜应用私信" in listing and "zhangsan" not in listing
    bot.say_to_app("zhaolei", "居民名单 东顺苑第二网格")
    assert latest(bot, "zhaolei") == "还没有自动登记的居民（不在花名册里、第一次发消息时登记的居民）。"
    bot.say_to_app("lijuan", "居民名单")
    assert latest(bot, "lijuan") == "「居民名单」只有综治中心和管理员可以查看。"


def test_tickets_of_enrolled_residents_keep_the_group_they_were_reported_in(bot):
    bot.say_in_group(NEIGHBOUR, GROUP, REPORT)
    with bot.session() as session:
        row = session.scalar(select(Ticket))
        assert row is not None and row.chat_id == GROUP


def test_notices_reach_group_enrolled_residents_in_their_group_not_by_app(bot):
    from notify.notice_service import NoticeDraft, create_notice

    bot.say_in_group(NEIGHBOUR, GROUP, "楼道灯坏了")
    bot.say_to_app("newcomer02", "你好")
    bot.say_in_group("newcomer02", GROUP, "收到")  # proven 1:1, now of this grid too
    bot.deliver()
    with transaction(bot.runtime.session_factory) as session:
        create_notice(session, bot.runtime.services,
                      NoticeDraft(title="停水通知", body="明天停水", urgent=True,
                                  audience={"grids": [GRID], "roles": ["resident"]}),
                      author="zhaolei", source="api")
    bot.deliver()
    assert app_sends_to(bot, NEIGHBOUR) == 0
    assert any("停水通知" in t for t in bot.received("newcomer02"))
    assert any("停水通知" in t for t in bot.group_received(GROUP))


def test_the_group_copy_of_a_residents_message_is_masked(bot):
    bot.say_in_group(NEIGHBOUR, GROUP, REPORT)
    [ticket] = bot.tickets()
    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.say_to_app("lijuan", f"进度 {ticket.id} 物业电话 13912345678，明天上午来")
    assert "在网格群「东顺苑第一网格居民群」@居民告知居民" in latest(bot, "lijuan")
    progress = bot.state.mentions_of(NEIGHBOUR)[-1]
    assert "139****5678" in progress.content and "13912345678" not in progress.content
