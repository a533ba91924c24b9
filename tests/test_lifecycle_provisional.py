"""暂定 on every provisional deadline anyone sees, end to end through the simulator: a report on
the last day of 2026, whose deadlines all fall in 2027 (a year chinesecalendar does not know), is
followed from the intake reply and the task card through 任务, 详情, 查询, the reminder and the
overdue escalation to the leader's acceptance; every deadline in every message is marked."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from schedules.sla import sweep
from services.container import build_services
from store.clock import utcnow
from store.db import make_session_factory

CST = ZoneInfo("Asia/Shanghai")
REPORT = "我家门口的下水道堵了，污水都冒到路面上了"
DUE = re.compile(r"\d{1,2}月\d{1,2}日\(周.\) \d\d:\d\d(?P<mark>（暂定）)?")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def run_sweep(bot):  # type: ignore[no-untyped-def]
    return sweep(make_session_factory(bot.runtime.engine), build_services(bot.settings), utcnow())


def shown(bot) -> list[str]:  # type: ignore[no-untyped-def]
    """Every text anyone was shown: messages, and the fields of task cards."""
    bot.deliver()
    seen = []
    for delivery in bot.state.delivered:
        seen.append(delivery.content)
        if delivery.msgtype == "template_card":
            card = delivery.body["template_card"]
            seen += [f"{i['keyname']} {i['value']}" for i in card["horizontal_content_list"]]
    return seen


def deadlines_in(texts: list[str]) -> list[re.Match[str]]:
    """The deadlines in ``texts``: every date and time except the trail's event times (lines
    beginning with "· ", when something happened)."""
    return [found for text in texts for line in text.splitlines() if not line.startswith("· ")
            for found in DUE.finditer(line)]


def test_every_deadline_of_a_2027_ticket_is_marked_provisional(bot):
    with time_machine.travel(at(2026, 12, 31, 10, 0), tick=True) as clock:
        bot.say_in_group("zhangsan", "wrDSY1", REPORT)
        [ticket] = bot.tickets()
        n = ticket.id
        assert ticket.deadlines_provisional
        bot.say_to_app("lijuan", "任务")
        bot.say_to_app("lijuan", f"详情 {n}")
        bot.say_to_app("zhangsan", f"查询 {n}")
        bot.deliver()  # the group's reply URL is valid for an hour

        clock.move_to(at(2027, 1, 4, 9, 30))  # the last working morning before the due time
        assert run_sweep(bot).reminded == [n]
        clock.move_to(at(2027, 1, 4, 10, 30))  # overdue: escalated to the grid leader
        assert run_sweep(bot).escalated == [n]
        bot.say_to_app("wanghong", f"接单 {n}")
        bot.say_to_app("wanghong", "任务")

        seen = shown(bot)
    found = deadlines_in(seen)
    unmarked = [m.group(0) for m in found if not m.group("mark")]
    assert not unmarked, unmarked
    # all of them: intake reply, card, 任务, 详情 (three), 查询, reminder, the escalation's
    # reason (to leader, worker, resident), its card and message, the acceptance and its card
    assert len(found) >= 15
    assert any("已派给网格员李娟，1月4日(周一) 10:00（暂定）前接单" in text for text in seen)
    assert any(text.startswith("⏰ 提醒") and "（暂定）" in text for text in seen)
    assert any(text.startswith(f"上报工单 #{n}") and "超过接单时限（1月4日(周一) 10:00（暂定））" in text
               for text in seen)
    assert any(text.startswith(f"已接单：工单 #{n}，请于") and "（暂定）" in text for text in seen)


def test_a_deadline_in_a_known_year_is_not_marked(bot):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=True):
        bot.say_in_group("zhangsan", "wrDSY1", REPORT)
        [ticket] = bot.tickets()
        bot.say_to_app("lijuan", f"接单 {ticket.id}")
        bot.say_to_app("lijuan", f"详情 {ticket.id}")
        seen = shown(bot)
    found = deadlines_in(seen)
    assert found and not any(m.group("mark") for m in found)
    assert not any("暂定" in text for text in seen)
