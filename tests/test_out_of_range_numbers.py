"""Numbers no row can have — a phone number typed as a ticket number, twenty nines, thousands of
digits — are answered "没有找到…" by the command parser and the API, and never reach the
database (PostgreSQL's ``int4`` ids stop at 2,147,483,647 and it would refuse the parameter)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, event

from store.ids import MAX_ID, id_from_digits
from tests.harness import Harness

TOKEN = "test-token-0123456789"
HUGE = "9" * 20


def _ints(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ints(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _ints(item)


@pytest.fixture
def sql_numbers() -> Iterator[list[int]]:
    """Every integer parameter any engine sends to its database during the test."""
    seen: list[int] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.extend(_ints(parameters))

    event.listen(Engine, "before_cursor_execute", spy)
    yield seen
    event.remove(Engine, "before_cursor_execute", spy)


@pytest.fixture
def api(settings, engine, simulator):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(settings, api_tokens=(TOKEN,),
                               wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    yield harness
    harness.stop()


@pytest.mark.parametrize(("digits", "expected"), [
    ("12", 12), ("0012", 12), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("0", None),
    ("13912345678", None), ("9" * 5000, None), ("0" * 30 + "7", 7),
])
def test_typed_digits_to_an_id(digits: str, expected: int | None) -> None:
    assert id_from_digits(digits) == expected


def test_commands_with_numbers_out_of_range_find_no_ticket(bot, sql_numbers):
    bot.say_to_app("zhangsan", f"查询 {HUGE}")
    bot.say_to_app("lijuan", "接单 13912345678")
    bot.say_to_app("zhangsan", "接单 13912345678")  # a resident typing a staff verb + a number
    bot.say_to_app("lijuan", "办结 2147483648 已处理")
    bot.say_to_app("zhangsan", "查询 0")
    bot.say_to_app("zhangsan", "撤销 " + "8" * 5000)  # past Python's int() digit limit too
    bot.deliver()
    assert bot.received("zhangsan") == [
        f"没有找到工单 #{HUGE}，请核对工单号。",
        "没有找到工单 #13912345678，请核对工单号。",
        "没有找到工单 #0，请核对工单号。",
        f"没有找到工单 #{'8' * 24}…，请核对工单号。",
    ]
    assert bot.received("lijuan") == [
        "没有找到工单 #13912345678，请核对工单号。",
        "没有找到工单 #2147483648，请核对工单号。",
    ]
    assert [m.outcome for m in bot.inbound()] == ["ticket:not-found"] * 6
    assert sql_numbers and max(sql_numbers) <= MAX_ID


def test_notice_commands_and_the_api_answer_not_found(api, sql_numbers):
    api.say_to_app("zhaolei", f"通知状态 {HUGE}")
    api.say_to_app("zhaolei", "取消通知 13912345678")
    api.deliver()
    assert api.received("zhaolei") == [f"没有找到通知 #{HUGE}。", "没有找到通知 #13912345678。"]

    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in [("GET", HUGE), ("DELETE", HUGE), ("POST", f"{HUGE}/cancel"),
                         ("GET", str(MAX_ID + 1)), ("GET", "9" * 400)]:
        answer = requests.request(method, f"{api.base_url}/api/v1/notices/{path}",
                                  headers=auth, timeout=10)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"] == "not_found"
    inside = requests.get(f"{api.base_url}/api/v1/notices/{MAX_ID}", headers=auth, timeout=10)
    assert inside.status_code == 404 and inside.json()["error"] == "not_found"
    assert sql_numbers and max(sql_numbers) <= MAX_ID
