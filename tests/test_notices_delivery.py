"""Notices through the real outbox worker and the WeCom simulator: an outage then recovery,
a delivery process killed mid-batch then restarted, and WeCom's rate limits — every recipient
gets each message exactly once, and the simulator never drops or refuses one over a limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from notify.notice_service import NoticeDraft, create_notice
from store.db import transaction
from store.models import Grid, GroupChat, OutboxMessage

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=SH)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _add_groups(bot, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``count`` more grid groups with robots, known to the simulator."""
    keys = [f"extra-robot-{i}" for i in range(count)]
    with transaction(bot.runtime.session_factory) as session:
        grid = session.scalar(select(Grid).where(Grid.code == "640323001001001"))
        for i, key in enumerate(keys):
            session.add(GroupChat(chat_id=f"wrExtra{i}", name=f"群{i}", grid_id=grid.id,
                                  webhook_key=key))
    bot.state.robot_keys.update(keys)
    return keys


def _notify(bot, title: str, audience: dict, *, urgent: bool = True) -> int:  # type: ignore[no-untyped-def]
    with transaction(bot.runtime.session_factory) as session:
        notice, _ = create_notice(
            session, bot.runtime.services,
            NoticeDraft(title=title, body=f"{title}：请周知", audience=audience, urgent=urgent),
            author="zhaolei", source="api")
        return notice.id


def _deliver_all(bot, rounds: int = 50) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        if not bot.deliver():
            break


def _statuses(bot) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(row.status for row in bot.outbox())


def _per_robot(bot, word: str) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(d.target for d in bot.state.delivered
                   if d.channel == "webhook" and word in d.content)


def test_outage_then_recovery_delivers_everything_exactly_once(bot) -> None:  # type: ignore[no-untyped-def]
    keys = _add_groups(bot, 30)
    with time_machine.travel(T0, tick=True) as clock:
        _notify(bot, "停电通知", {"grids": ["640323001"], "roles": ["worker", "resident"]})
        bot.state.outage(mode="http503")
        for _ in range(3):
            bot.deliver()
            clock.shift(timedelta(minutes=5))
        assert bot.state.delivered == []
        assert _statuses(bot)["pending"] == 35  # 34 groups + one member batch, none lost
        clock.shift(timedelta(hours=1))  # WeCom down for an hour
        bot.deliver()
        bot.state.recover()
        clock.shift(timedelta(hours=1))  # past any back-off
        _deliver_all(bot)
    assert _statuses(bot) == Counter({"sent": 35})
    robots = _per_robot(bot, "停电通知")
    assert set(robots) == set(keys) | {"demo-robot-dsy1", "demo-robot-dsy2", "demo-robot-xh1",
                                       "demo-robot-xh2"}
    assert set(robots.values()) == {1}
    for userid in ("lijuan", "zhangwei", "chenjing", "liuyang", "zhangsan", "lisi", "wangwu",
                   "zhaoliu"):
        assert sum("停电通知" in m for m in bot.received(userid)) == 1, userid
    assert bot.state.dropped == []


CHILD = textwrap.dedent("""
    import dataclasses, sys
    sys.path.insert(0, {root!r})
    from tests.conftest import load_test_settings
    from store.db import make_engine, make_session_factory
    from schedules.delivery import OutboxWorker
    from wecom.sender import Sender
    settings = load_test_settings({url!r})
    wecom = dataclasses.replace(settings.wecom, api_base={sim!r}, timeout_seconds=20)
    factory = make_session_factory(make_engine(settings.database_url))
    worker = OutboxWorker(factory, Sender(wecom), wecom, "doomed-worker")
    print("ready", flush=True)
    while True:
        worker.run_once(500)
""")


def test_worker_killed_mid_batch_then_restarted_delivers_the_rest_exactly_once(bot) -> None:  # type: ignore[no-untyped-def]
    keys = _add_groups(bot, 60)
    # real time: the child process runs on the real clock (urgent: no quiet-hours deferral)
    _notify(bot, "消防检查", {"chats": [f"wrExtra{i}" for i in range(60)]})
    bot.state.hang_seconds = 8
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=ROOT, url=bot.settings.database_url,
                                            sim=bot.sim_url)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(bot.state.delivered) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        bot.state.outage(mode="hang")  # the next call hangs: the child is mid-batch
        time.sleep(1.0)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    sent_before = len(bot.state.delivered)
    assert 15 <= sent_before < 60, "the child was not killed mid-batch"
    with bot.session() as session:
        leased = session.scalars(select(OutboxMessage).where(
            OutboxMessage.locked_by == "doomed-worker")).all()
        assert leased, "the killed worker held no lease: nothing was in flight"
    bot.state.recover()
    with time_machine.travel(datetime.now(SH) + timedelta(minutes=10), tick=True):
        _deliver_all(bot)
    robots = _per_robot(bot, "消防检查")
    assert set(robots) == set(keys) and set(robots.values()) == {1}
    assert _statuses(bot) == Counter({"sent": 60})


def test_rate_limits_are_never_exceeded(bot) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(T0, tick=True) as clock:
        for n in range(35):
            _notify(bot, f"第{n}号提醒", {"chats": ["wrDSY1"], "users": ["lijuan"]})
        _deliver_all(bot)
        # within the first minute: 30 app messages to one member, 20 robot messages
        assert len(bot.state.messages_for("lijuan")) == 30
        assert len(bot.state.messages_for_robot("demo-robot-dsy1")) == 20
        clock.shift(timedelta(minutes=2))
        _deliver_all(bot)
    assert len(bot.state.messages_for("lijuan")) == 35
    assert len(bot.state.messages_for_robot("demo-robot-dsy1")) == 35
    assert bot.state.dropped == []
    assert not [c for c in bot.state.calls if c.errcode in (45009, 45033)]
    assert _statuses(bot) == Counter({"sent": 70})


def test_people_get_notices_as_text_and_robots_as_markdown(bot) -> None:  # type: ignore[no-untyped-def]
    """The WeChat plug-in does not show the app's markdown: people 1:1 get text."""
    with time_machine.travel(T0, tick=True):
        with transaction(bot.runtime.session_factory) as session:
            create_notice(
                session, bot.runtime.services,
                NoticeDraft(title="医保缴费", body="请于**12月31日**前缴费，详见[说明](https://x.cn/a)",
                            audience={"grids": ["640323001001001"], "roles": ["worker"]}),
                author="zhaolei", source="api")
        _deliver_all(bot)
    [to_worker] = [d for d in bot.state.messages_for("lijuan") if "医保缴费" in d.content]
    assert to_worker.msgtype == "text"
    assert "**" not in to_worker.content and "###" not in to_worker.content
    assert "请于12月31日前缴费，详见说明（https://x.cn/a）" in to_worker.content
    robot = [d for d in bot.state.messages_for_robot("demo-robot-dsy1") if "医保缴费" in d.content]
    assert [d.msgtype for d in robot] == ["markdown"] and "**12月31日**" in robot[0].content
    assert all(d.msgtype != "markdown" for d in bot.state.delivered if d.channel == "app")
