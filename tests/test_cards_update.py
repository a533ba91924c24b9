"""Cards that update: after a click, the clicked task card shows what became of its ticket
(message/update_template_card through the outbox), stale cards are brought up to date without a
second action, and the simulator holds WeCom's rules (one use per code, 72 hours)."""

from __future__ import annotations

import time

import pytest
import time_machine

from store.models import TicketEvent
from tests.test_lifecycle_chat import REPORT
from wecom.simulator.cards import CardNotClickable
from wecom.simulator.errors import INVALID_RESPONSE_CODE


def _cards(bot, userid: str) -> list[dict]:  # type: ignore[no-untyped-def]
    bot.deliver()
    return [d.body["template_card"] for d in bot.state.messages_for(userid)
            if d.msgtype == "template_card"]


def _press(bot, userid: str, card: dict, text: str) -> None:  # type: ignore[no-untyped-def]
    [button] = [b for b in card["button_list"] if b["text"] == text]
    bot.click(userid, card["task_id"], button["key"])


def _view(bot, userid: str, card: dict):  # type: ignore[no-untyped-def]
    return bot.state.cards.view(userid, card["task_id"])


def _events(bot, number: int, action: str) -> int:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        return session.query(TicketEvent).filter_by(ticket_id=number, action=action).count()


def _reported(bot) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [dispatch] = _cards(bot, "lijuan")
    return bot.tickets()[0].id, dispatch


def test_accepting_on_the_card_greys_it_out_as_accepted_by_the_worker(bot):
    number, dispatch = _reported(bot)
    assert _view(bot, "lijuan", dispatch).buttons == ["接单", "详情"]

    _press(bot, "lijuan", dispatch, "接单")
    working = _cards(bot, "lijuan")[-1]

    old = _view(bot, "lijuan", dispatch)
    assert old.replace_name == "已接单·李娟" and not old.clickable
    assert "〔已接单·李娟〕" in old.text and "[接单]" not in old.text
    assert _view(bot, "lijuan", working).buttons == ["办结", "详情"]  # the new card is live
    [call] = bot.state.calls_to("message/update_template_card")
    assert call.errcode == 0
    assert call.body["userids"] == ["lijuan"]
    assert call.body["agentid"] == bot.settings.wecom.agent_id
    assert call.body["button"] == {"replace_name": "已接单·李娟"}
    [row] = [r for r in bot.outbox() if r.channel == "card_update"]
    assert row.status == "sent" and row.ticket_id == number
    with pytest.raises(CardNotClickable):  # WeCom shows grey buttons: no click can come
        _press(bot, "lijuan", dispatch, "接单")

    _press(bot, "lijuan", working, "办结")
    bot.deliver()
    assert _view(bot, "lijuan", working).replace_name == "已办结"


def test_the_detail_button_of_a_current_card_leaves_it_live(bot):
    number, dispatch = _reported(bot)
    _press(bot, "lijuan", dispatch, "详情")
    bot.deliver()
    assert bot.received("lijuan")[-1].startswith(f"工单 #{number}")
    assert _view(bot, "lijuan", dispatch).buttons == ["接单", "详情"]
    assert bot.state.calls_to("message/update_template_card") == []
    assert not [r for r in bot.outbox() if r.channel == "card_update"]


def test_a_stale_card_is_brought_up_to_date_and_never_acts_twice(bot):
    number, dispatch = _reported(bot)
    bot.say_to_app("lijuan", f"接单 {number}")  # typed, so the card never heard of it
    bot.deliver()
    assert _view(bot, "lijuan", dispatch).clickable

    _press(bot, "lijuan", dispatch, "接单")
    bot.deliver()
    assert bot.received("lijuan")[-1] == f"工单 #{number} 已接单，无需重复接单。"
    assert _events(bot, number, "accept") == 1
    assert _view(bot, "lijuan", dispatch).replace_name == "已接单·李娟"


def test_a_card_of_a_transferred_ticket_shows_the_new_handler(bot):
    number, dispatch = _reported(bot)
    bot.say_to_app("lijuan", f"转派 {number} 周大妈")
    bot.deliver()
    assert bot.received("lijuan")[-1] == f"工单 #{number} 已转派给联户长周大妈。"
    before = len(bot.received("lijuan"))

    _press(bot, "lijuan", dispatch, "接单")  # the old card, still live on her phone
    bot.deliver()
    assert bot.received("lijuan")[before:] == [
        f"工单 #{number} 已派给其他人处理，如需接手请联系网格长转派。"]
    assert _events(bot, number, "accept") == 0
    assert _view(bot, "lijuan", dispatch).replace_name == "已转派·周大妈"
    [card] = _cards(bot, "zhoudama")
    assert card["task_id"] != dispatch["task_id"]
    assert _view(bot, "zhoudama", card).clickable


def test_a_card_of_an_escalated_ticket_says_so(bot):
    number, dispatch = _reported(bot)
    bot.say_to_app("lijuan", f"上报 {number} 涉及多个部门")
    _press(bot, "lijuan", dispatch, "详情")
    bot.deliver()
    assert _view(bot, "lijuan", dispatch).replace_name == "已上报·王红"


def test_a_response_code_is_spent_once_and_a_second_update_with_it_fails_for_good(bot):
    number, dispatch = _reported(bot)
    _press(bot, "lijuan", dispatch, "接单")
    bot.deliver()
    [first] = [r for r in bot.outbox() if r.channel == "card_update"]
    with bot.session() as session, session.begin():
        from notify import Messenger

        Messenger(session).update_card(
            "lijuan", key="card:again", response_code=first.payload["response_code"],
            replace_name="已办结", ticket_id=number)
    bot.deliver()
    again = [r for r in bot.outbox() if r.idempotency_key == "card:again"][0]
    assert again.status == "failed" and again.attempts == 1
    assert f"errcode {INVALID_RESPONSE_CODE}" in (again.last_error or "")
    assert [c.errcode for c in bot.state.calls_to("message/update_template_card")] == [
        0, INVALID_RESPONSE_CODE]
    assert _view(bot, "lijuan", dispatch).replace_name == "已接单·李娟"  # unchanged


def test_a_click_answered_after_72_hours_can_no_longer_update_its_card(bot):
    number, dispatch = _reported(bot)
    with time_machine.travel(time.time() - 73 * 3600, tick=False):
        code = bot.state.cards.click("lijuan", dispatch["task_id"])
    from wecom.simulator.payloads import template_card_click

    bot.processed(bot.app_client().send_app_xml("/wecom/callback", template_card_click(
        "lijuan", dispatch["task_id"], f"接单 {number}", response_code=code)))
    bot.deliver()
    assert _events(bot, number, "accept") == 1  # the click itself still counts
    [row] = [r for r in bot.outbox() if r.channel == "card_update"]
    assert row.status == "failed" and f"errcode {INVALID_RESPONSE_CODE}" in row.last_error
    assert _view(bot, "lijuan", dispatch).clickable  # WeCom refused the update


def test_captions_for_each_state_of_the_ticket():
    from datetime import UTC, datetime

    from notify.tickets import card_caption, task_id
    from store.models import Person, Ticket

    lijuan, zhou = Person(id=5, userid="lijuan", name="李娟"), Person(id=9, userid="zd", name="周大妈")
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    ticket = Ticket(id=5, status="dispatched", assignee_id=5, assignee=lijuan, dispatched_at=at,
                    level="worker")
    card = task_id(ticket, "dispatch")
    assert card == f"ticket-5-dispatch-5-{int(at.timestamp())}"
    assert card_caption(ticket, lijuan, card) is None
    assert card_caption(ticket, lijuan, f"ticket-5-dispatch-{int(at.timestamp())}") is None
    assert card_caption(ticket, lijuan, "ticket-5-dispatch-5-1") == "已更新·请看新卡片"
    ticket.assignee_id, ticket.assignee = 9, zhou
    assert card_caption(ticket, lijuan, card, "transfer") == "已转派·周大妈"
    assert card_caption(ticket, lijuan, card, "escalate") == "已上报·周大妈"
    ticket.status = "accepted"
    assert card_caption(ticket, lijuan, card) == "已接单·周大妈"
    for status, caption in [("resolved", "已办结"), ("closed", "已结单"), ("returned", "已退回"),
                            ("withdrawn", "已撤销"), ("merged", "已合并")]:
        ticket.status = status
        assert card_caption(ticket, lijuan, card) == caption


def test_the_demo_page_shows_the_card_as_updated(bot):
    from flask import Flask

    from web.demo import DemoWorld, demo_blueprint

    number, dispatch = _reported(bot)
    page = Flask("demo-test")
    page.register_blueprint(demo_blueprint(DemoWorld(bot.settings, bot.state, bot.base_url)))
    client = page.test_client()
    button = {"task_id": dispatch["task_id"], "key": f"接单 {number}", "text": "接单"}
    assert client.post("/demo/api/say", json={"userid": "lijuan", "button": button}).status_code \
        == 200
    bot.process()
    bot.deliver()
    items = client.get("/demo/api/feed").get_json()["items"]
    [old] = [i for i in items if i.get("card", {}).get("task_id") == dispatch["task_id"]]
    assert old["card"]["replace_name"] == "已接单·李娟" and old["card"]["buttons"] == []
    again = client.post("/demo/api/say", json={"userid": "lijuan", "button": button})
    assert again.status_code == 409  # grey buttons cannot be clicked
