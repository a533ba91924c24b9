"""The front door end to end: WeCom (simulated, real crypto) → callbacks → router → ticket →
outbox → sender → WeCom (simulated). No mocks of GridBot's own code."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import select

from store.models import InboundMessage, OutboxMessage, Person, Ticket, TicketEvent
from wecom import crypto
from wecom.simulator.payloads import aibot_text, app_event, app_location, app_text

REPORT = "我家门口的下水道堵了，污水都冒到路面上了"


# -- URL verification ------------------------------------------------------------------------


def test_app_url_verification_returns_decrypted_echostr(bot):
    check = bot.app_client().verify_url("/wecom/callback", echostr="echo-123456")
    assert check.status == 200
    assert check.body == "echo-123456"


def test_aibot_url_verification_uses_empty_receive_id(bot):
    check = bot.aibot_client().verify_url("/wecom/aibot", receive_id="", echostr="hello-bot")
    assert (check.status, check.body) == (200, "hello-bot")


def test_url_verification_with_wrong_signature_is_403(bot):
    assert bot.app_client().verify_url("/wecom/callback", bad_signature=True).status == 403
    assert bot.aibot_client().verify_url("/wecom/aibot", receive_id="", bad_signature=True).status == 403


def test_url_verification_for_another_corp_is_403(bot):
    check = bot.app_client().verify_url("/wecom/callback", receive_id="wwSomeoneElse")
    assert check.status == 403


# -- the first journey -----------------------------------------------------------------------


def test_group_report_makes_one_ticket_one_reply_one_dispatch(bot):
    delivery = bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    assert delivery.status == 200 and delivery.count == 1
    assert delivery.body == ""

    [ticket] = bot.tickets()
    assert ticket.category == "facility"
    assert ticket.status == "dispatched"
    assert ticket.accept_due is not None and ticket.accept_due > ticket.created_at
    with bot.session() as session:
        assignee = session.get(Person, ticket.assignee_id)
        assert assignee.userid == "lijuan"  # the worker of 东顺苑第一网格
        actions = session.scalars(
            select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)
        ).all()
    assert actions == ["create", "dispatch"]

    assert bot.deliver() == 2
    [reply] = bot.group_received("wrDSY1")
    assert reply.startswith(f"已受理，工单 #{ticket.id}（市政设施）")
    [card] = bot.state.messages_for("lijuan")
    assert card.msgtype == "template_card"
    buttons = card.body["template_card"]["button_list"]
    assert [b["key"] for b in buttons] == [f"接单 {ticket.id}", f"详情 {ticket.id}"]
    assert "接单时限" in json.dumps(card.body, ensure_ascii=False)
    assert bot.state.dropped == []


def test_group_chatter_makes_nothing(bot):
    for text in ("收到", "谢谢", "好的👍", "[强]"):
        assert bot.say_in_group("lisi", "wrDSY2", text).status == 200
    assert bot.tickets() == []
    assert bot.outbox() == []
    assert [m.outcome for m in bot.inbound()] == ["ignored:chatter"] * 4


def test_unknown_sender_gets_a_ticket_in_centre_triage(bot):
    bot.say_to_app("stranger01", "小区门口的路灯坏了好几天了，晚上一片漆黑")
    [ticket] = bot.tickets()
    assert ticket.grid_id is None
    assert ticket.level == "center"
    with bot.session() as session:
        assert session.get(Person, ticket.assignee_id).userid == "zhaolei"
        stranger = session.scalar(select(Person).where(Person.userid == "stranger01"))
        assert stranger.role == "resident"
    bot.deliver()
    [answer] = bot.received("stranger01")
    assert "综治中心" in answer


def test_phone_numbers_are_masked_in_the_group_reply_but_not_for_the_worker(bot):
    bot.say_in_group("zhangsan", "wrDSY1", "楼道里堆满了杂物，堵住了消防通道，联系我13812345678")
    bot.deliver()
    [reply] = bot.group_received("wrDSY1")
    assert "13812345678" not in reply
    [card] = bot.state.messages_for("lijuan")
    assert "13812345678" in card.content


def test_unknown_command_gets_help(bot):
    bot.say_to_app("zhangsan", "/whatever")
    bot.deliver()
    [answer] = bot.received("zhangsan")
    assert "没有「/whatever」这个命令" in answer and "查询" in answer


def test_help_for_staff_lists_worker_commands(bot):
    bot.say_to_app("lijuan", "帮助")
    bot.deliver()
    [answer] = bot.received("lijuan")
    assert "接单 12" in answer


def test_faq_question_is_answered_without_a_ticket(bot):
    bot.say_to_app("wangwu", "城乡居民医保怎么交费？")
    assert bot.tickets() == []
    [row] = bot.inbound()
    assert row.outcome.startswith("faq:")  # which answer was given is on record
    bot.deliver()
    [answer] = bot.received("wangwu")
    assert "医保" in answer


def test_location_and_events_are_recorded_without_tickets(bot):
    bot.app_client().send_app_xml("/wecom/callback", app_location("zhangsan", 37.78, 107.39, "东顺苑"))
    bot.app_client().send_app_xml("/wecom/callback", app_event("zhangsan", "enter_agent"))
    bot.process()
    assert bot.tickets() == []
    assert [m.kind for m in bot.inbound()] == ["location", "event:enter_agent"]


# -- retries and duplicates ------------------------------------------------------------------


def test_three_deliveries_of_one_msgid_make_one_of_each(bot):
    client = bot.app_client()
    fields = app_text("zhangsan", REPORT, msg_id=987654321)
    for _ in range(3):
        assert bot.processed(client.send_app_xml("/wecom/callback", fields)).status == 200
    assert len(bot.tickets()) == 1
    assert len(bot.inbound()) == 1
    assert len(bot.outbox()) == 2
    bot.deliver()
    assert len(bot.received("zhangsan")) == 1
    assert len(bot.received("lijuan")) == 1


def test_twenty_concurrent_copies_make_one_of_each(bot):
    url = bot.state.new_response_url(bot.sim_url, chat_id="wrDSY1", userid="zhangsan")
    payload = aibot_text("zhangsan", "wrDSY1", REPORT, msgid="concurrent-1", response_url=url)
    client = bot.aibot_client()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(
            lambda _: bot.processed(client.send_aibot_json("/wecom/aibot", payload)), range(20)))
    assert {r.status for r in results} == {200}
    assert len(bot.tickets()) == 1
    assert len(bot.inbound()) == 1
    assert len(bot.outbox()) == 2


def _hold_inbox_lock(engine, release: threading.Event) -> threading.Thread:
    """Keep the inbox table locked from another connection (a stuck database) until
    ``release`` is set."""
    ready = threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.begin()
                connection.exec_driver_sql("LOCK TABLE inbound_messages IN EXCLUSIVE MODE")
            ready.set()
            release.wait(60)
            connection.rollback()

    thread = threading.Thread(target=hold)
    thread.start()
    assert ready.wait(30), "the inbox table was never locked"
    return thread


def _until(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    """Wait for ``predicate`` (generously: the machine may be busy); whether it came true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_unanswered_delivery_is_redelivered_and_still_makes_one_ticket(bot, monkeypatch):
    # WeCom re-delivers when it has no answer in time (5 s; 0.4 s here). While the database is
    # stuck, every delivery waits; when it frees up, one is recorded, the others are duplicates.
    writes: list[int | None] = []  # what each delivery's write returned: an id, or None
    writer = bot.runtime.intake.writer
    submit = writer.submit

    def submit_and_note(row):  # type: ignore[no-untyped-def]
        result = submit(row)
        writes.append(result)
        return result

    monkeypatch.setattr(writer, "submit", submit_and_note)
    release = threading.Event()
    holder = _hold_inbox_lock(bot.runtime.engine, release)
    client = bot.app_client(answer_timeout=0.4)
    try:  # the database stays stuck until WeCom has given up
        delivery = client.send_app_xml("/wecom/callback",
                                       app_text("zhangsan", REPORT, msg_id=55501))
    finally:
        release.set()
        holder.join()
    assert delivery.count == 3
    assert [a.status for a in delivery.attempts] == [None, None, None]  # all timed out
    assert _until(lambda: len(writes) == 3), f"stuck deliveries never finished: {writes}"
    assert sum(result is not None for result in writes) == 1, writes
    bot.process()
    assert len(bot.inbound()) == 1
    assert len(bot.tickets()) == 1


# -- bad input -------------------------------------------------------------------------------


def _signed_envelope(bot, plaintext: str, receive_id: str | None = None) -> tuple[str, dict]:
    """An app callback envelope around ``plaintext``, correctly encrypted and signed."""
    w = bot.settings.wecom
    encrypted = crypto.encrypt(w.encoding_aes_key, plaintext,
                               w.corp_id if receive_id is None else receive_id)
    ts, nonce = crypto.timestamp(), crypto.nonce()
    params = {"msg_signature": crypto.sign(w.token, ts, nonce, encrypted), "timestamp": ts,
              "nonce": nonce}
    return f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>", params


def _post(bot, path, body, params=None, content_type="text/xml"):
    return requests.post(f"{bot.base_url}{path}", params=params or {}, data=body,
                         headers={"Content-Type": content_type}, timeout=10)


def test_wrong_signature_on_a_message_is_403_and_writes_nothing(bot):
    delivery = bot.app_client().send_app_xml("/wecom/callback", app_text("zhangsan", REPORT),
                                            bad_signature=True)
    assert delivery.status == 403
    assert bot.inbound() == [] and bot.tickets() == []


def test_message_encrypted_for_another_corp_is_403(bot):
    from wecom.simulator.payloads import to_xml

    body, params = _signed_envelope(bot, to_xml(app_text("zhangsan", REPORT)), "wwOtherCorp")
    assert _post(bot, "/wecom/callback", body, params).status_code == 403
    assert bot.inbound() == []


def test_garbage_bodies_are_400(bot):
    w = bot.settings.wecom
    ts, nonce = crypto.timestamp(), crypto.nonce()
    params = {"msg_signature": crypto.sign(w.token, ts, nonce, "x"), "timestamp": ts, "nonce": nonce}
    assert _post(bot, "/wecom/callback", "not xml at all", params).status_code == 400
    assert _post(bot, "/wecom/callback", "<xml><Other/></xml>", params).status_code == 400
    assert _post(bot, "/wecom/callback", "", params).status_code == 400
    assert _post(bot, "/wecom/aibot", "{not json", params, "application/json").status_code == 400
    assert _post(bot, "/wecom/aibot", '{"encrypt": 5}', params, "application/json").status_code == 400
    # a right signature over ciphertext that is not AES output
    bad = "QUJDREVGR0g="
    params = {"msg_signature": crypto.sign(w.token, ts, nonce, bad), "timestamp": ts, "nonce": nonce}
    body = f"<xml><Encrypt><![CDATA[{bad}]]></Encrypt></xml>"
    assert _post(bot, "/wecom/callback", body, params).status_code == 400
    # missing query parameters
    assert _post(bot, "/wecom/callback", body, {}).status_code == 400
    assert bot.inbound() == []


def test_signed_and_encrypted_but_malformed_inner_message_is_400(bot):
    for inner in ("<xml><FromUserName>x</FromUserName></xml>", "<xml><MsgType>text</MsgType></xml>",
                  "plain words"):
        body, params = _signed_envelope(bot, inner)
        assert _post(bot, "/wecom/callback", body, params).status_code == 400, inner
    assert bot.inbound() == []


XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&xxe;</Encrypt></xml>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><Encrypt>&lol9;</Encrypt></xml>"""


def test_xxe_and_billion_laughs_are_400_without_expansion(bot):
    params = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    for body in (XXE, BILLION_LAUGHS):
        response = _post(bot, "/wecom/callback", body, params)
        assert response.status_code == 400
        assert "passwd" not in response.text and "lollol" not in response.text
    # the same inside a correctly signed and encrypted envelope
    body, params = _signed_envelope(bot, BILLION_LAUGHS)
    assert _post(bot, "/wecom/callback", body, params).status_code == 400
    assert bot.inbound() == []


def test_body_over_64_kib_is_413(bot):
    params = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    body = "<xml><Encrypt>" + "A" * (65 * 1024) + "</Encrypt></xml>"
    assert _post(bot, "/wecom/callback", body, params).status_code == 413
    assert _post(bot, "/wecom/aibot", body, params, "application/json").status_code == 413


# -- the way out survives WeCom's failures ---------------------------------------------------


def test_token_expiry_mid_run_is_survived_with_one_refresh(bot):
    bot.say_to_app("zhangsan", REPORT)
    bot.deliver()
    tokens_before = sum(1 for c in bot.state.calls if c.path.endswith("/gettoken"))
    bot.state.expire_tokens()  # the next send answers 42001
    bot.say_to_app("lisi", "7号楼电梯坏了，老人上不了楼")
    assert bot.deliver() == 2
    tokens_after = sum(1 for c in bot.state.calls if c.path.endswith("/gettoken"))
    assert tokens_after - tokens_before == 1
    assert len(bot.received("lisi")) == 1


def test_sender_errors_do_not_lose_the_outbox_row(bot):
    bot.state.outage(seconds=3600)
    bot.say_to_app("zhangsan", REPORT)
    bot.deliver()
    rows = bot.outbox()
    assert len(rows) == 2
    assert {r.status for r in rows} == {"pending"}
    assert any(r.attempts >= 1 and r.last_error for r in rows)
    assert bot.received("zhangsan") == []
    bot.state.recover()
    import time_machine

    with time_machine.travel(max(r.next_attempt_at for r in rows), tick=True):
        assert bot.deliver() == 2
    assert {r.status for r in bot.outbox()} == {"sent"}
    assert len(bot.received("zhangsan")) == 1 and len(bot.received("lijuan")) == 1


def test_a_failing_handler_still_records_the_message_and_apologises(bot, monkeypatch):
    # Break the classifier (an external dependency of the handler) for one message.
    def broken(text):
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.runtime.services.classifier, "classify", broken)
    bot.runtime.processor.retry_delays = (timedelta(0),) * 3  # retried at once, 4 attempts
    assert bot.say_to_app("zhangsan", REPORT).status == 200
    [row] = bot.inbound()
    assert (row.status, row.outcome, row.attempts) == ("failed", "failed:RuntimeError", 4)
    assert bot.tickets() == []
    with bot.session() as session:
        [reply] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.target == "zhangsan")).all()
        assert "系统暂时无法处理" in reply.payload["text"]["content"]
        assert session.scalar(select(InboundMessage.dedup_key)).startswith("app:")
        assert session.scalars(select(Ticket)).all() == []


def test_a_failing_message_in_a_batch_leaves_the_others_routed(bot, monkeypatch):
    classify = bot.runtime.services.classifier.classify

    def broken_for_one(text):
        if "坏掉的" in text:
            raise RuntimeError("boom")
        return classify(text)

    monkeypatch.setattr(bot.runtime.services.classifier, "classify", broken_for_one)
    bot.runtime.processor.retry_delays = (timedelta(0),) * 3  # retried at once, 4 attempts
    client = bot.app_client()
    reports = [("zhangsan", REPORT), ("lisi", "小区门口的路灯坏了好几天了"),
               ("wangwu", "这是一条坏掉的消息，楼道漏水"), ("zhaoliu", "楼道里堆满了杂物，堵住了消防通道")]
    for userid, text in reports:
        assert client.send_app_xml("/wecom/callback", app_text(userid, text)).status == 200
    bot.runtime.processor.batch_size = len(reports)  # route all four in one transaction
    assert bot.process() == 3 + 4  # three routed at once, the broken one taken four times
    outcomes = {row.sender: row.status for row in bot.inbound()}
    assert outcomes == {"zhangsan": "done", "lisi": "done", "wangwu": "failed", "zhaoliu": "done"}
    assert sorted(t.text for t in bot.tickets()) == sorted(
        text for userid, text in reports if userid != "wangwu")
    with bot.session() as session:
        apologies = session.scalars(
            select(OutboxMessage).where(OutboxMessage.target == "wangwu")).all()
        assert ["系统暂时无法处理" in a.payload["text"]["content"] for a in apologies] == [True]


def test_text_with_cdata_terminators_and_markup_survives_intact(bot):
    text = "楼道灯坏了]]><xml>&amp; 3栋2单元 <b>很黑</b>"
    assert bot.say_to_app("zhangsan", text).status == 200
    [ticket] = bot.tickets()
    assert ticket.text == text
    assert ticket.location == "3栋2单元"


def test_app_link_and_voice_messages_are_normalised(bot):
    from wecom.simulator.payloads import app_link, app_voice

    bot.processed(bot.app_client().send_app_xml(
        "/wecom/callback", app_voice("lisi", media_id="VOICE_1")))
    bot.processed(bot.app_client().send_app_xml(
        "/wecom/callback", app_link("lisi", "停水通知", "明天停水", "https://example.org/n")))
    rows = bot.inbound()
    assert [r.kind for r in rows] == ["voice", "link"]
    assert rows[0].payload["media_id"] == "VOICE_1"
    assert rows[1].payload["url"] == "https://example.org/n"
    assert all(r.status == "done" for r in rows)
