"""No personal data in logs: a whole journey and its faults, every logger at DEBUG, every line
grepped for the resident's phone and ID numbers; SQL errors carry no parameters."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from cli.logs import FORMAT, MaskPersonalData, mask_personal_data
from store.db import make_session_factory, transaction
from store.models import TicketEvent

PHONE, ID_NUMBER = "13912345678", "110101199003071234"
REPORT = f"我电话{PHONE}，身份证{ID_NUMBER}，楼道灯坏了"
SECRETS = (PHONE, ID_NUMBER, "199003071234")  # the ID's birth date and serial alone, too


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as the product's root handler formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    mask_personal_data([handler])
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)


def leaks(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(s in line for s in SECRETS)]


def failing_insert(session, text: str):  # type: ignore[no-untyped-def]
    """An INSERT the database refuses (no such ticket) with ``text`` among its parameters.

    A foreign key, not a check: PostgreSQL quotes the whole failing row of a check violation
    in its DETAIL, which only the log filter can mask.
    """
    return session.execute(insert(TicketEvent).values(ticket_id=987654321, action="progress",
                                                      note=text, data={"text": text}))


def test_a_whole_journey_and_its_faults_log_no_personal_data(bot, log_lines, monkeypatch):
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [ticket] = bot.tickets()
    bot.deliver()
    bot.say_to_app("lijuan", f"接单 {ticket.id}")
    bot.say_to_app("lijuan", f"进度 {ticket.id} 已联系{PHONE}的住户")
    bot.say_to_app("lijuan", f"办结 {ticket.id} 已换灯泡")
    bot.say_to_app("zhangsan", "1")
    bot.deliver()
    assert bot.tickets()[0].status == "closed"

    def writing(ctx):  # type: ignore[no-untyped-def]
        return failing_insert(ctx.session, ctx.message.text)

    def quoting(ctx):  # type: ignore[no-untyped-def]
        logging.getLogger("handlers").debug("routing %r from %s", ctx.message.text,
                                            ctx.message.sender)
        raise ValueError(f"no handler understood {ctx.message.text!r}")

    router = bot.runtime.processor.router
    # a handler whose database write fails, the resident's text among the SQL parameters
    monkeypatch.setattr(router, "dispatch", writing)
    bot.say_to_app("zhangsan", f"又坏了 {REPORT}")
    # a handler that logs the text as an argument, then fails with it in its exception
    monkeypatch.setattr(router, "dispatch", quoting)
    bot.say_to_app("zhangsan", f"还是坏的 {REPORT}")
    bot.deliver()

    logged = log_lines.getvalue()
    assert leaks(logged) == []
    # the faults were logged, with their tracebacks, and the numbers in them masked
    assert logged.count("handling inbound message") >= 2
    assert "IntegrityError" in logged and "ValueError: no handler understood" in logged
    assert "[SQL parameters hidden due to hide_parameters=True]" in logged
    assert "139****5678" in logged and "110101********1234" in logged


def test_sql_errors_carry_no_parameters(engine):
    with pytest.raises(IntegrityError) as caught, transaction(make_session_factory(engine)) as s:
        failing_insert(s, REPORT)
    assert [s for s in SECRETS if s in str(caught.value)] == []
    assert "hide_parameters=True" in str(caught.value)


def record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args or None, exc_info)


def raised(text: str) -> BaseException:
    try:
        raise RuntimeError(text)
    except RuntimeError as error:
        return error


@pytest.mark.parametrize(
    "made",
    [
        lambda: record(REPORT),
        lambda: record("from %s: %r", "zhangsan", {"text": REPORT}),
        lambda: record("failed", exc=raised(REPORT)),
        lambda: record("bad arguments %d", REPORT),  # not formattable: still masked, still logged
    ],
    ids=["message", "arguments", "traceback", "bad-arguments"],
)
def test_the_filter_masks_message_arguments_and_traceback(made):
    line = made()
    assert MaskPersonalData().filter(line)
    formatted = logging.Formatter(FORMAT).format(line)
    assert leaks(formatted) == []
    assert "139****5678" in formatted and "110101********1234" in formatted
