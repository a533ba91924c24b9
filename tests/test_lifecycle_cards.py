"""Task cards: the buttons of the dispatch card and of the accepted-task card do what the typed
commands do, through the simulator's template_card_event callbacks."""

from __future__ import annotations

from tests.test_lifecycle_chat import REPORT, ticket


def _cards(bot, userid: str) -> list[dict]:  # type: ignore[no-untyped-def]
    bot.deliver()
    return [d.body["template_card"] for d in bot.state.messages_for(userid)
            if d.msgtype == "template_card"]


def _press(bot, userid: str, card: dict, text: str) -> None:  # type: ignore[no-untyped-def]
    [button] = [b for b in card["button_list"] if b["text"] == text]
    bot.click(userid, card["task_id"], button["key"])


def test_accept_and_resolve_with_buttons_only(bot):
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [dispatch] = _cards(bot, "lijuan")
    number = ticket(bot, bot.tickets()[0].id).id
    assert [b["text"] for b in dispatch["button_list"]] == ["接单", "详情"]

    _press(bot, "lijuan", dispatch, "接单")
    assert ticket(bot, number).status == "accepted"
    working = _cards(bot, "lijuan")[-1]
    assert working["main_title"]["title"].startswith(f"处理中 #{number}")
    assert [b["text"] for b in working["button_list"]] == ["办结", "详情"]
    assert working["task_id"] != dispatch["task_id"]

    _press(bot, "lijuan", working, "办结")
    resolved = ticket(bot, number)
    assert resolved.status == "resolved"
    bot.deliver()
    assert "请对工单" in bot.received("zhangsan")[-1]


def test_a_second_press_is_refused_not_repeated(bot):
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [dispatch] = _cards(bot, "lijuan")
    _press(bot, "lijuan", dispatch, "接单")
    _press(bot, "lijuan", dispatch, "接单")  # a new click event (new ResponseCode), same card
    bot.deliver()
    replies = bot.received("lijuan")
    assert sum(r.startswith("已接单：") for r in replies) == 1
    assert replies[-1] == "工单 #1 已接单，无需重复接单。"
    assert len(_cards(bot, "lijuan")) == 2  # the dispatch card and one accepted-task card


def test_someone_elses_card_button_is_refused(bot):
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [dispatch] = _cards(bot, "lijuan")
    _press(bot, "chenjing", dispatch, "接单")  # a worker of another grid
    assert ticket(bot, bot.tickets()[0].id).status == "dispatched"


def test_a_photo_and_a_location_after_a_report_are_attached_to_it(bot):
    import time_machine

    from store.models import TicketEvent
    from wecom.simulator.payloads import app_image, app_location

    bot.say_to_app("zhangsan", REPORT)
    [opened] = bot.tickets()
    bot.processed(bot.app_client().send_app_xml(
        "/wecom/callback", app_image("zhangsan", media_id="MEDIA_1")))
    bot.processed(bot.app_client().send_app_xml(
        "/wecom/callback", app_location("zhangsan", 37.78, 107.39, "东顺苑3栋")))
    with bot.session() as session:
        events = session.query(TicketEvent).filter_by(ticket_id=opened.id,
                                                       action="supplement").all()
    assert [e.data.get("attachment") for e in events] == ["image", "location"]
    assert events[0].data["media_id"] == "MEDIA_1"
    assert events[1].data["location"]["label"] == "东顺苑3栋"

    # eleven minutes later a picture is no longer taken as part of that report
    later = opened.created_at.timestamp() + 11 * 60
    with time_machine.travel(later, tick=False):
        bot.processed(bot.app_client().send_app_xml(
            "/wecom/callback", app_image("zhangsan", media_id="MEDIA_2")))
    with bot.session() as session:
        count = session.query(TicketEvent).filter_by(ticket_id=opened.id,
                                                      action="supplement").count()
    assert count == 2
    assert len(bot.tickets()) == 1
