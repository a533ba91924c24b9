"""Replies to the rating prompt in everyday words, end to end through the simulator, in a group
(the resident @-mentions the smart bot) and 1:1: the ticket is rated with the comment, no new
ticket is opened; two tickets waiting; a new report while a prompt is pending; one re-prompt;
expiry; a new runtime on the same database; the explicit 评价 command."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from store.models import Ticket
from store.prompts import PendingPrompt, PromptKind
from tests.harness import Harness

GROUP = "wrDSY1"
REPORTS = ("我家门口的下水道堵了，污水都冒到路面上了", "楼道里堆满了杂物，堵住了消防通道")


def resolved(bot: Harness, report: str = REPORTS[0]) -> int:
    """A ticket of zhangsan's, accepted and resolved by lijuan: the rating prompt went out."""
    before = {t.id for t in bot.tickets()}
    bot.say_in_group("zhangsan", GROUP, report)
    [number] = {t.id for t in bot.tickets()} - before
    bot.say_to_app("lijuan", f"接单 {number}")
    bot.say_to_app("lijuan", f"办结 {number} 已处理")
    bot.deliver()
    assert any(f"请对工单 #{number} 的处理结果评价" in text for text in bot.received("zhangsan"))
    bot.state.clear_records()
    return number


def say(bot: Harness, where: str, text: str) -> list[str]:
    """zhangsan says ``text`` 1:1 (``app``) or in the group; what the bot answered him there."""
    if where == "group":
        bot.say_in_group("zhangsan", GROUP, text)
        bot.deliver()
        return bot.group_received(GROUP)
    bot.say_to_app("zhangsan", text)
    bot.deliver()
    return bot.received("zhangsan")


def rating_of(bot: Harness, number: int) -> tuple[str, str | None, str]:
    with bot.session() as session:
        ticket = session.get(Ticket, number)
        return ticket.status, ticket.rating, ticket.rating_comment or ""


def prompts_of(bot: Harness) -> list[tuple[str, int | None]]:
    with bot.session() as session:
        rows = session.scalars(select(PendingPrompt).order_by(PendingPrompt.id)).all()
        return [(row.kind, row.ticket_id) for row in rows]


PHRASINGS = [
    ("好的，挺满意", "satisfied", ""),
    ("还行吧", "average", ""),
    ("2 一般般", "average", ""),
    ("3 师傅根本没来", "unsatisfied", "师傅根本没来"),
    ("不满意，问题还在", "unsatisfied", "问题还在"),
    ("满意 谢谢", "satisfied", "谢谢"),
    ("挺好的", "satisfied", ""),
    ("差评", "unsatisfied", ""),
    ("不行", "unsatisfied", ""),
    ("没解决", "unsatisfied", "没解决"),
    ("没人来", "unsatisfied", "没人来"),
    ("１", "satisfied", ""),
    ("非常满意！！", "satisfied", ""),
    ("不太满意，来得太晚", "unsatisfied", "来得太晚"),
]


@pytest.mark.parametrize(("typed", "rating", "comment"), PHRASINGS)
@pytest.mark.parametrize("where", ["app", "group"])
def test_a_reply_in_words_rates_the_ticket(bot, where, typed, rating, comment):
    n = resolved(bot)
    answers = say(bot, where, typed)
    status, got, note = rating_of(bot, n)
    assert (got, note) == (rating, comment)
    assert len(bot.tickets()) == 1  # no new 其他 ticket
    assert prompts_of(bot) == []
    if rating == "unsatisfied":
        assert status == "dispatched"  # reopened, one level up
        assert any(f"工单 #{n} 已重新打开" in a for a in answers)
        bot.deliver()
        reopened = [t for t in bot.received("wanghong") if "居民不满意" in t]
        assert reopened and (comment or "（未填写）") in reopened[-1]
    else:
        assert status == "closed"
        assert any(f"工单 #{n} 已结单" in a for a in answers)
        assert any(f"工单 #{n} 居民评价" in t for t in bot.received("lijuan"))


@pytest.mark.parametrize("where", ["app", "group"])
def test_an_unclear_reply_is_asked_again_once(bot, where):
    n = resolved(bot)
    answers = say(bot, where, "好的")
    assert f"没看明白您对工单 #{n} 的评价" in answers[-1]
    bot.state.clear_records()
    answers = say(bot, where, "好的")  # not asked a second time
    assert not any("没看明白" in a for a in answers)
    assert rating_of(bot, n)[:2] == ("resolved", None)
    say(bot, where, "挺好的，就是问题还在")  # says two things: still unclear, no rating
    assert rating_of(bot, n)[:2] == ("resolved", None)
    say(bot, where, "3 还在漏水")
    assert rating_of(bot, n) == ("dispatched", "unsatisfied", "还在漏水")
    assert len(bot.tickets()) == 1


@pytest.mark.parametrize("where", ["app", "group"])
def test_a_new_report_while_a_rating_is_pending_is_a_new_ticket(bot, where):
    n = resolved(bot)
    answers = say(bot, where, "楼道里的灯又坏了，晚上一片漆黑")
    tickets = bot.tickets()
    assert len(tickets) == 2 and tickets[-1].text.startswith("楼道里的灯又坏了")
    assert any(f"已受理，工单 #{tickets[-1].id}" in a for a in answers)
    assert rating_of(bot, n)[:2] == ("resolved", None)
    assert prompts_of(bot) == [(PromptKind.RATING, n)]  # the prompt stays
    say(bot, where, "还行吧")
    assert rating_of(bot, n)[:2] == ("closed", "average")


def test_two_tickets_waiting_asks_which_one(bot):
    first = resolved(bot, REPORTS[0])
    second = resolved(bot, REPORTS[1])
    answers = say(bot, "app", "满意，谢谢")
    question = answers[-1]
    assert f"#{first}" in question and f"#{second}" in question and "满意" in question
    assert rating_of(bot, first)[1] is None and rating_of(bot, second)[1] is None
    say(bot, "app", f"#{first}")
    assert rating_of(bot, first) == ("closed", "satisfied", "谢谢")
    assert rating_of(bot, second)[:2] == ("resolved", None)
    answers = say(bot, "app", "2 一般般")  # one left: no question
    assert f"工单 #{second} 已结单" in answers[-1]
    assert rating_of(bot, second)[:2] == ("closed", "average")
    assert prompts_of(bot) == [] and len(bot.tickets()) == 2


def test_which_one_answered_by_bare_number_or_all_in_the_group(bot):
    first = resolved(bot, REPORTS[0])
    second = resolved(bot, REPORTS[1])
    say(bot, "group", "不满意 没人来")
    say(bot, "group", f"{second}")
    assert rating_of(bot, second) == ("dispatched", "unsatisfied", "没人来")
    assert rating_of(bot, first)[:2] == ("resolved", None)

    third = resolved(bot, "小区门口的路灯坏了好几天了，晚上一片漆黑")
    say(bot, "group", "挺好")
    say(bot, "group", "都是")
    assert rating_of(bot, first)[:2] == ("closed", "satisfied")
    assert rating_of(bot, third)[:2] == ("closed", "satisfied")


def test_all_with_a_rating_of_its_own(bot):
    first = resolved(bot, REPORTS[0])
    second = resolved(bot, REPORTS[1])
    say(bot, "app", "挺好")
    say(bot, "app", "都不满意，没人来")
    assert rating_of(bot, first) == ("dispatched", "unsatisfied", "没人来")
    assert rating_of(bot, second) == ("dispatched", "unsatisfied", "没人来")


def test_naming_the_ticket_rates_it_at_once(bot):
    first = resolved(bot, REPORTS[0])
    second = resolved(bot, REPORTS[1])
    say(bot, "app", f"#{second} 3 还在堵")
    assert rating_of(bot, second) == ("dispatched", "unsatisfied", "还在堵")
    assert rating_of(bot, first)[:2] == ("resolved", None)


def test_the_command_still_works_and_clears_the_prompts(bot):
    first = resolved(bot, REPORTS[0])
    second = resolved(bot, REPORTS[1])
    say(bot, "app", "满意")  # asks which
    assert (PromptKind.CHOICE, None) in prompts_of(bot)
    say(bot, "app", f"评价 {first} 一般 还行吧")
    assert rating_of(bot, first) == ("closed", "average", "还行吧")
    assert prompts_of(bot) == [(PromptKind.RATING, second)]
    say(bot, "app", "满意")
    assert rating_of(bot, second)[:2] == ("closed", "satisfied")
    assert prompts_of(bot) == []


def test_a_prompt_expires(bot):
    n = resolved(bot)
    with bot.session() as session:
        prompt = session.scalars(select(PendingPrompt)).one()
        assert prompt.expires_at - prompt.created_at == timedelta(days=7)  # config.yaml
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1), tick=True):
        answers = say(bot, "app", "还行吧")
    assert not any("已结单" in a for a in answers)
    assert rating_of(bot, n)[:2] == ("resolved", None)
    assert prompts_of(bot) == []  # tidied away
    say(bot, "app", f"评价 {n} 一般")  # the command needs no prompt
    assert rating_of(bot, n)[:2] == ("closed", "average")


def test_a_restart_keeps_the_prompt(settings, engine, simulator):
    state, sim_url = simulator
    live = dataclasses.replace(settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    before = Harness.start(live, engine, state, sim_url)
    try:
        n = resolved(before)
    finally:
        before.stop()
    after = Harness.start(live, engine, state, sim_url)  # a new process on the same database
    try:
        after.say_in_group("zhangsan", GROUP, "还行吧")
        assert rating_of(after, n)[:2] == ("closed", "average")
    finally:
        after.stop()
