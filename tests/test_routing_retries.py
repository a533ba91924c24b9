"""Bounded routing retries: a message whose routing fails is tried again after a back-off, a
few times, then marked failed once — its sender told once, the staff alerted, an ERROR line
without PII — also when the error path fails too; and it never holds back other messages."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from handlers import routing_failure
from handlers.intake import RETRY_DELAYS
from store import inbox
from store.clock import utcnow
from store.models import InboundMessage, OutboxMessage
from wecom.simulator.payloads import app_text

PHONE = "13812345678"
REPORT = f"我家门口的下水道堵了，污水都冒到路面上了，电话{PHONE}"
OTHERS = [("lisi", "小区门口的路灯坏了好几天了"),
          ("wangwu", "楼道里堆满了杂物，堵住了消防通道"),
          ("zhaoliu", "垃圾桶满了三天没人清运，味道很大")]


def break_classifier(bot, monkeypatch, *, times: int | None = None, word: str = "下水道"):
    """The classifier raises on messages containing ``word`` (``times`` times, or always)."""
    classify = bot.runtime.services.classifier.classify
    failures = []

    def broken(text):
        if word in text and (times is None or len(failures) < times):
            failures.append(text)
            raise RuntimeError("classifier down")
        return classify(text)

    monkeypatch.setattr(bot.runtime.services.classifier, "classify", broken)
    return failures


def row_of(bot, sender: str) -> InboundMessage:
    [row] = [r for r in bot.inbound() if r.sender == sender]
    return row


def texts_to(bot, target: str) -> list[str]:
    with bot.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.target == target)
                               .order_by(OutboxMessage.id))
        return [r.payload.get("text", {}).get("content", "") for r in rows]


def route_through_retries(bot) -> int:
    """Route now, then at each back-off's end, until no message waits for a retry."""
    attempts = bot.process()
    for _ in range(len(RETRY_DELAYS) + 2):
        waiting = [r.next_attempt_at for r in bot.inbound()
                   if r.status == "received" and r.next_attempt_at is not None]
        if not waiting:
            break
        with time_machine.travel(max(waiting) + timedelta(seconds=1), tick=False):
            attempts += bot.process()
    return attempts


def test_a_message_that_fails_once_is_routed_after_its_back_off(bot, monkeypatch):
    failures = break_classifier(bot, monkeypatch, times=1)
    before = utcnow()
    bot.say_to_app("zhangsan", REPORT)
    row = row_of(bot, "zhangsan")
    assert (row.status, row.attempts, row.outcome) == ("received", 1, "retry:RuntimeError")
    assert row.locked_by is None and row.locked_until is None
    assert before + RETRY_DELAYS[0] <= row.next_attempt_at <= utcnow() + RETRY_DELAYS[0]
    assert bot.tickets() == [] and bot.outbox() == []
    assert bot.process() == 0  # not due yet: nothing is taken, and the sender hears nothing
    with time_machine.travel(row.next_attempt_at - timedelta(seconds=1), tick=False):
        assert bot.process() == 0
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        assert bot.process() == 1
    row = row_of(bot, "zhangsan")
    assert (row.status, row.attempts) == ("done", 2) and row.outcome.startswith("ticket:")
    assert len(failures) == 1 and len(bot.tickets()) == 1
    replies = texts_to(bot, "zhangsan")
    assert len(replies) == 1 and "已受理" in replies[0]


def test_a_message_that_always_fails_is_failed_once_told_once_and_alerted(
        bot, monkeypatch, caplog):
    failures = break_classifier(bot, monkeypatch)
    caplog.set_level(logging.WARNING)
    bot.say_to_app("zhangsan", REPORT)
    assert route_through_retries(bot) == len(RETRY_DELAYS)  # the first attempt came with say
    row = row_of(bot, "zhangsan")
    assert (row.status, row.outcome) == ("failed", "failed:RuntimeError")
    assert row.attempts == len(RETRY_DELAYS) + 1 == len(failures)
    assert bot.tickets() == []
    # the sender is told once, in the words of the feature
    assert [("系统暂时无法处理" in t) for t in texts_to(bot, "zhangsan")] == [True]
    # the centre and the admin are alerted, once each, without the phone number
    for staff in ("zhaolei", "admin"):
        [alert] = texts_to(bot, staff)
        assert "【系统告警】" in alert and f"消息编号：{row.id}" in alert and "张三" in alert
        assert PHONE not in alert and "138****5678" in alert
    # once: nothing more happens, however long one waits
    with time_machine.travel(utcnow() + timedelta(days=1), tick=False):
        assert bot.process() == 0
    assert len(texts_to(bot, "zhangsan")) == 1 and len(texts_to(bot, "admin")) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and f"inbound message {row.id} failed for good" in errors[0].message
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert PHONE not in text and "下水道" not in text


def test_when_the_error_path_fails_too_the_message_is_still_failed_told_and_alerted(
        bot, monkeypatch, caplog):
    break_classifier(bot, monkeypatch)

    def broken_group_lookup(session, chat_id):
        raise RuntimeError("roster down")

    monkeypatch.setattr(routing_failure, "group_for", broken_group_lookup)
    caplog.set_level(logging.WARNING)
    bot.say_to_app("zhangsan", REPORT)
    route_through_retries(bot)
    row = row_of(bot, "zhangsan")
    assert (row.status, row.attempts) == ("failed", len(RETRY_DELAYS) + 1)
    assert [("系统暂时无法处理" in t) for t in texts_to(bot, "zhangsan")] == [True]
    assert all(len(texts_to(bot, staff)) == 1 for staff in ("zhaolei", "admin"))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("error path failed too" in e for e in errors)
    assert any(f"inbound message {row.id} failed for good" in e for e in errors)
    assert not any(PHONE in e for e in errors)


def test_when_nothing_can_be_written_the_lease_brings_it_back_still_bounded(
        bot, monkeypatch):
    break_classifier(bot, monkeypatch)
    bot.runtime.processor.retry_delays = (timedelta(0),)  # two attempts

    def cannot_write(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as broken:
        broken.setattr(routing_failure.RoutingFailures, "give_up", cannot_write)
        broken.setattr(routing_failure.RoutingFailures, "give_up_plainly", cannot_write)
        bot.say_to_app("zhangsan", REPORT)  # attempt 1 postponed (no delay), 2 cannot be marked
        row = row_of(bot, "zhangsan")
        assert (row.status, row.attempts) == ("received", 2) and row.locked_until is not None
        assert bot.process() == 0  # its lease holds it; the others are not held (see below)
    with time_machine.travel(row.locked_until + timedelta(seconds=1), tick=False):
        assert bot.process() == 1  # taken again out of attempts: straight to failed
    row = row_of(bot, "zhangsan")
    assert (row.status, row.outcome) == ("failed", "failed:OutOfAttempts")
    assert len(texts_to(bot, "zhangsan")) == 1 and len(texts_to(bot, "admin")) == 1


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("error_path_fails", [False, True])
def test_a_failing_message_does_not_hold_back_those_claimed_with_it(
        bot, monkeypatch, batch, error_path_fails):
    break_classifier(bot, monkeypatch)
    if error_path_fails:  # the old worst case: handler and error handler both fail
        postpone = inbox.postpone

        def broken_postpone(row, until, outcome):
            if row.sender == "zhangsan":
                raise RuntimeError("cannot postpone")
            postpone(row, until, outcome)

        monkeypatch.setattr(inbox, "postpone", broken_postpone)
    client = bot.app_client()
    for userid, text in [("zhangsan", REPORT), *OTHERS]:
        assert client.send_app_xml("/wecom/callback", app_text(userid, text)).status == 200
    bot.runtime.processor.batch_size = batch
    assert bot.runtime.processor.run_once() == 4  # one claim, one pass: nobody waits on a lease
    status = {row.sender: row.status for row in bot.inbound()}
    assert status == {"zhangsan": "received", "lisi": "done", "wangwu": "done", "zhaoliu": "done"}
    assert sorted(t.text for t in bot.tickets()) == sorted(text for _, text in OTHERS)
    assert all(len(texts_to(bot, userid)) == 1 for userid, _ in OTHERS)
    assert texts_to(bot, "zhangsan") == []  # not yet: it has attempts left
