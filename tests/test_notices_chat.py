"""Notices through chat, end to end: staff write to the app, the bot confirms the plan, the outbox
worker delivers to the simulator; people who may not broadcast are refused with the reason."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import func, select

from store.models import OutboxMessage
from store.notice_models import Notice, NoticeDelivery, NoticeRun

SH = ZoneInfo("Asia/Shanghai")
WORKDAY_MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=SH)  # a Tuesday
ROBOTS = ("demo-robot-dsy1", "demo-robot-dsy2", "demo-robot-xh1", "demo-robot-xh2")


def _last(bot, userid: str) -> str:  # type: ignore[no-untyped-def]
    got = bot.received(userid)
    assert got, f"{userid} received nothing"
    return got[-1]


def test_deadline_reminder_is_confirmed_with_targets_and_working_dates(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", "截止提醒 2026-12-31 城乡居民医保缴费 范围:全街道")
        bot.deliver()
        answer = _last(bot, "zhaolei")
    assert "已登记通知 #1「城乡居民医保缴费」" in answer
    assert "4 个网格群" in answer
    assert "6 人（网格长、网格员）" in answer  # 2 leaders + 4 workers of the street
    # T-7, T-3, T-1 working days before Thu 2026-12-31, at 09:00
    assert "2026-12-22 09:00（提前 7 个工作日）" in answer
    assert "2026-12-28 09:00（提前 3 个工作日）" in answer
    assert "2026-12-30 09:00（提前 1 个工作日）" in answer
    with bot.session() as session:
        notice = session.scalar(select(Notice))
        assert notice.schedule_kind == "none" and notice.reminder_offsets == [7, 3, 1]
        assert session.scalar(select(func.count()).select_from(NoticeRun)) == 0


def test_immediate_notice_reaches_groups_and_members_once(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", "立即通知 范围:东顺苑社区 对象:网格员,居民 内容:明天上午停水，请提前储水。")
        bot.deliver()
        bot.deliver()
    answer = _last(bot, "zhaolei")
    assert "立即发送" in answer and "2 个网格群" in answer
    for robot in ("demo-robot-dsy1", "demo-robot-dsy2"):
        got = bot.state.messages_for_robot(robot)
        assert len(got) == 1 and "明天上午停水" in got[0].content
    for robot in ("demo-robot-xh1", "demo-robot-xh2"):
        assert bot.state.messages_for_robot(robot) == []
    for userid in ("lijuan", "zhangwei", "zhangsan", "lisi"):
        notices = [m for m in bot.received(userid) if "停水" in m]
        assert len(notices) == 1, userid
    assert not [m for m in bot.received("chenjing") if "停水" in m]  # 西湖社区's worker
    assert bot.state.dropped == []
    with bot.session() as session:
        # members share one message/send row; every recipient has a delivery record
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like("notice:1:run:send:once:%"))).all()
        assert sorted(r.channel for r in rows) == ["app", "webhook", "webhook"]
        assert all(r.status == "sent" for r in rows)
        assert session.scalar(select(func.count()).select_from(NoticeDelivery)) == 6


def test_weekly_notice_confirms_next_dates(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("admin", "定时通知 每周一 09:00 范围:东顺苑社区 内容:每周安全巡查，请网格员上报。")
        bot.deliver()
    answer = _last(bot, "admin")
    assert "每周一 09:00" in answer
    assert "2026-12-07 09:00、2026-12-14 09:00、2026-12-21 09:00" in answer


def test_list_and_cancel(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", "定时通知 2026-12-02 15:00 范围:西湖社区 内容:防诈骗讲座")
        bot.say_to_app("zhaolei", "通知列表")
        bot.deliver()
        assert "#1 防诈骗讲座 · 2026-12-02 15:00 · 西湖社区" in _last(bot, "zhaolei")
        bot.say_to_app("zhaolei", "取消通知 1")
        bot.deliver()
        assert "已取消通知 #1" in _last(bot, "zhaolei")
    with bot.session() as session:
        assert session.get(Notice, 1).status == "cancelled"


def test_unauthorised_staff_and_residents_cannot_broadcast(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("lijuan", "立即通知 范围:全街道 内容:测试广播")
        bot.say_to_app("zhangsan", "截止提醒 2026-12-31 医保缴费 范围:全街道")
        bot.say_in_group("wanghong", "wrDSY1", "取消通知 1")
        bot.deliver()
    assert "只有综治中心或管理员可以发布通知（您的身份：网格员）" in _last(bot, "lijuan")
    assert "只有综治中心或管理员" in _last(bot, "zhangsan")
    assert any("只有综治中心或管理员" in m for m in bot.group_received("wrDSY1"))
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0
    for robot in ROBOTS:
        assert not [m for m in bot.state.messages_for_robot(robot) if "测试广播" in m.content]


def test_bad_input_is_explained(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", "立即通知 范围:火星社区 内容:你好")
        bot.say_to_app("zhaolei", "截止提醒 2020-01-01 过期事项 范围:全街道")
        bot.say_to_app("zhaolei", "定时通知 每周八 09:00 范围:全街道 内容:x")
        bot.deliver()
    got = bot.received("zhaolei")
    assert any("不认识的范围：火星社区" in m for m in got)
    assert any("截止日期 2020-01-01 已经过去" in m for m in got)
    assert any("看不懂时间“每周八 09:00”" in m for m in got)
