"""Notices through chat keep what staff typed: Chinese punctuation (，。：！？、“”（）—) and line
breaks reach people as typed, and a notice's title is never its body repeated: an explicit title
(标题:, or the words after the verb) heads the message; without one the title is the body's first
sentence, shortened, and the message does not say it twice."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from notify.notice_forms import short_title
from notify.notice_outbox import heading_title
from store.notice_models import Notice

SH = ZoneInfo("Asia/Shanghai")
WORKDAY_MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=SH)  # a Tuesday
BODY = "明天（12月2日）上午9：00—下午5：00东顺苑停水，请提前储水！\n如有疑问，请联系“网格员”；谢谢配合。"


def announce(bot, command: str) -> tuple[str, Notice]:  # type: ignore[no-untyped-def]
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", command)
        bot.deliver()
        bot.deliver()
    message = bot.state.messages_for_robot("demo-robot-dsy1")[-1]
    with bot.session() as session:
        notice = session.scalars(select(Notice).order_by(Notice.id.desc())).first()
        session.expunge(notice)
    return message.content, notice


def test_punctuation_and_line_breaks_reach_people_as_typed(bot):
    content, notice = announce(bot, f"立即通知 范围：东顺苑社区 对象：网格员，居民 内容：{BODY}")
    assert notice.body == BODY
    assert BODY in content
    resident = [m for m in bot.received("zhangsan") if "停水" in m]
    assert len(resident) == 1 and BODY in resident[0]


def test_without_a_title_the_first_sentence_heads_the_list_and_is_not_repeated(bot):
    content, notice = announce(bot, f"立即通知 范围:东顺苑社区 内容:{BODY}")
    assert notice.title == "明天（12月2日）上午9：00—下午5…"
    assert notice.title != notice.body
    assert content.count("明天（12月2日）") == 1  # the heading does not repeat the body

    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", f"定时通知 2026-12-30 09:00 范围:东顺苑社区 内容:{BODY}")
        bot.say_to_app("zhaolei", "通知列表")
        bot.deliver()
    assert "#2 明天（12月2日）上午9：00—下午5…" in bot.received("zhaolei")[-1]


def test_a_short_body_is_not_said_twice(bot):
    content, notice = announce(bot, "立即通知 范围:东顺苑社区 内容:今晚8点停电。")
    assert notice.title == "今晚8点停电"
    assert content.count("今晚8点停电") == 1


def test_an_explicit_title_heads_the_message(bot):
    content, notice = announce(bot, f"立即通知 停水通知（东顺苑） 范围:东顺苑社区 内容:{BODY}")
    assert notice.title == "停水通知（东顺苑）"
    assert content.splitlines()[0].endswith("停水通知（东顺苑）")
    assert BODY in content

    content, notice = announce(bot, f"立即通知 范围:东顺苑社区 标题:停水！ 内容:{BODY}")
    assert notice.title == "停水！"


def test_a_deadline_reminders_title_is_kept_as_typed(bot):
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", "截止提醒 ２０２６－１２－３１ 城乡居民医保缴费（２０２７年度） 范围：全街道")
        bot.deliver()
    assert "已登记通知 #1「城乡居民医保缴费（２０２７年度）」" in bot.received("zhaolei")[-1]


def test_short_titles():
    assert short_title("今晚停电。请备好照明！") == "今晚停电"
    assert short_title("  请各位居民，注意防火  ") == "请各位居民，注意防火"
    assert len(short_title("一" * 50)) == 20
    assert heading_title("今晚停电", "今晚停电。请备好照明！") == ""
    assert heading_title("停电通知", "今晚停电。") == "停电通知"


def test_a_notice_number_typed_full_width_is_read(bot):
    with time_machine.travel(WORKDAY_MORNING, tick=True):
        bot.say_to_app("zhaolei", "定时通知 2026-12-30 09:00 范围:东顺苑社区 内容:请按时缴费。")
        bot.say_to_app("zhaolei", "取消通知　＃１")
        bot.deliver()
    assert "已取消通知 #1" in bot.received("zhaolei")[-1]
