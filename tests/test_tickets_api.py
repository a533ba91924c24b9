"""Orders from other systems: POST /api/v1/tickets (idempotent, placed, classified, dispatched
in chat with their source, 12345 deadlines), reading them back, and the source's 补充 / 撤销."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from cases.external import match_grid
from store.api_clients import add_client
from store.db import transaction
from store.models import OutboxMessage, Ticket
from store.roster import GridInfo
from tests.harness import Harness

LIJUAN_GRID = "640323001001001"  # 东顺苑第一网格, worker 李娟


@pytest.fixture
def api(settings, engine, simulator):  # type: ignore[no-untyped-def]
    state, sim_url = simulator
    live = dataclasses.replace(settings,
                               wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    harness = Harness.start(live, engine, state, sim_url)
    with transaction(harness.runtime.session_factory) as session:
        harness.tokens = {  # type: ignore[attr-defined]
            "12345": add_client(session, name="12345平台", source="12345",
                                scopes={"tickets:read", "tickets:write"}).token,
            "county": add_client(session, name="县平台", scopes={"tickets:read"}).token,
            "app": add_client(session, name="随手拍", source="suishoupai",
                              scopes={"tickets:read", "tickets:write"}).token,
        }
    yield harness
    harness.stop()


def call(harness, method: str, path: str, who: str = "12345", **kwargs):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {harness.tokens[who]}"}
    return requests.request(method, f"{harness.base_url}/api/v1{path}", headers=headers,
                            timeout=10, **kwargs)


ORDER = {"source": "12345", "external_id": "SH20261201-0042", "text": "小区门口的路灯坏了好几天，晚上很黑",
         "grid": LIJUAN_GRID, "contact": {"name": "钱女士", "phone": "13600001234"}}


def test_an_order_is_opened_and_dispatched_in_chat_with_its_source(api) -> None:  # type: ignore[no-untyped-def]
    got = call(api, "POST", "/tickets", json=ORDER)
    assert got.status_code == 201, got.text
    body = got.json()
    ticket = body["ticket"]
    assert body["created"] is True and got.headers["Location"] == f"/api/v1/tickets/{ticket['id']}"
    assert ticket["source"] == "12345" and ticket["external_id"] == ORDER["external_id"]
    assert ticket["status"] == "dispatched" and ticket["handler"] == "李娟"
    assert ticket["category"] == "facility" and ticket["grid"]["code"] == LIJUAN_GRID
    assert "13600001234" not in got.text and "钱女士" not in got.text  # contact kept private
    api.deliver()
    card = api.state.messages_for("lijuan")[-1]
    assert card.msgtype == "template_card"
    lines = {i["keyname"]: i["value"] for i in card.body["template_card"]["horizontal_content_list"]}
    assert lines["来源"] == f"12345热线 工单 {ORDER['external_id']}"
    assert lines["来电人"] == "钱女士 13600001234"  # the handler must call back (1:1 card)
    with api.session() as session:  # nothing is ever addressed to the system in chat
        targets = set(session.scalars(select(OutboxMessage.target)))
    assert not any(t.startswith("sys:") for t in targets)
    # 详情 shows the source; the worker's confirmations speak of the source, not of a resident
    api.say_to_app("lijuan", f"详情 {ticket['id']}")
    api.deliver()
    assert "来源：12345热线 工单 SH20261201-0042" in api.received("lijuan")[-1]
    api.say_to_app("lijuan", f"接单 {ticket['id']}")
    api.say_to_app("lijuan", f"进度 {ticket['id']} 已联系供电所")
    api.say_to_app("lijuan", f"办结 {ticket['id']} 已更换灯泡")
    api.deliver()
    assert api.received("lijuan")[-2:] == [f"已记录工单 #{ticket['id']} 的进度。",
                                           f"工单 #{ticket['id']} 已办结，结果将回传12345热线。"]


def test_12345_orders_get_seven_working_days_per_the_sla_settings(api) -> None:  # type: ignore[no-untyped-def]
    number = call(api, "POST", "/tickets", json=ORDER).json()["ticket"]["id"]
    api.say_to_app("lijuan", f"接单 {number}")
    calendar = api.runtime.services.calendar
    with api.session() as session:
        ticket = session.get(Ticket, number)
        assert ticket.tier == "easy"  # 市政设施 is a 小事: a chat report would get 5 days
        seven = calendar.add_working_days(ticket.accepted_at, 7).at
        five = calendar.add_working_days(ticket.accepted_at, 5).at
        assert ticket.resolve_due == seven != five
    api.deliver()
    shown = call(api, "GET", f"/tickets/{number}").json()["ticket"]
    assert shown["deadlines"]["resolve"] == seven.astimezone(calendar.tz).isoformat(
        timespec="seconds")


def test_the_sla_setting_of_a_source_decides_its_deadline(settings) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from cases.deadlines import SlaClock
    from settings.model import SourceSettings

    sla = dataclasses.replace(settings.sla, sources={
        "12345": SourceSettings("12345热线", 7, "working"),
        "city": SourceSettings("城市大脑", 3, "calendar")})
    clock = SlaClock(sla, __import__("cases.calendar", fromlist=["WorkCalendar"]).WorkCalendar
                     .from_settings(settings.calendar, sla))
    start = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
    assert clock.due("resolve", start, "easy", "12345").at == \
        clock.calendar.add_working_days(start, 7).at
    assert clock.due("resolve", start, "easy", "city").at == \
        clock.calendar.add_calendar_days(start, 3).at
    assert clock.due("resolve", start, "easy", "unknown").at == \
        clock.calendar.add_working_days(start, 5).at  # an unlisted source: the tier's rule
    assert clock.due("resolve", start, "easy").at == clock.calendar.add_working_days(start, 5).at


def test_ten_concurrent_repeats_open_one_ticket(api) -> None:  # type: ignore[no-untyped-def]
    order = {**ORDER, "external_id": "SH-CONCURRENT-1"}
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: call(api, "POST", "/tickets", json=order), range(10)))
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert len({a.json()["ticket"]["id"] for a in answers}) == 1
    with api.session() as session:
        tickets = session.scalars(select(Ticket).where(Ticket.source == "12345")).all()
    assert len(tickets) == 1
    api.deliver()
    cards = [m for m in api.state.messages_for("lijuan") if m.msgtype == "template_card"]
    assert len(cards) == 1  # dispatched once
    again = call(api, "POST", "/tickets", json={**order, "text": "换了说法"})
    assert again.status_code == 200 and again.json()["ticket"]["id"] == tickets[0].id
    assert again.json()["ticket"]["text"].startswith("小区门口")  # the first delivery stands


@pytest.mark.parametrize(("address", "expected"), [
    ("东顺苑第一网格3号楼2单元", "东顺苑第一网格"),
    ("湖畔花园5栋楼下", "湖畔花园联防组"),
    ("西湖社区菜市场旁边", "西湖社区"),
    ("东顺苑社区东门", "东顺苑社区"),
    ("东顺苑3号楼", "东顺苑社区"),
    ("东顺苑第二网格7号楼", "东顺苑第二网格"),
    ("东顺苑7-9号楼联防组门口", "7-9号楼联防组"),
    ("人民路88号", None),
    ("", None),
])
def test_grid_from_the_address_text(settings, address, expected) -> None:  # type: ignore[no-untyped-def]
    grids = [GridInfo(i, n.code, n.name, n.level, None) for i, n in enumerate(settings.grids, 1)]
    found = match_grid(address, grids)
    assert (found.name if found else None) == expected


def test_an_order_placed_by_its_address_reaches_that_grid(api) -> None:  # type: ignore[no-untyped-def]
    order = {"source": "12345", "external_id": "ADDR-1", "text": "楼道里堆满了杂物，堵住了消防通道",
             "address": "湖畔花园5栋2单元"}
    ticket = call(api, "POST", "/tickets", json=order).json()["ticket"]
    assert ticket["grid"]["name"] == "湖畔花园联防组" and ticket["handler"] == "陈静"
    assert ticket["category"] == "safety" and ticket["address"] == "湖畔花园5栋2单元"
    unplaced = call(api, "POST", "/tickets", json={**order, "external_id": "ADDR-2",
                                                    "address": "人民路88号"}).json()["ticket"]
    assert unplaced["grid"] is None and unplaced["level"] == "center"  # the centre's triage


def test_bad_orders_are_refused_with_a_chinese_reason(api) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ({**ORDER, "category": "nope"}, 400, "unknown_category"),
        ({**ORDER, "grid": "999"}, 400, "unknown_grid"),
        ({k: v for k, v in ORDER.items() if k != "text"}, 400, "bad_field"),
        ({**ORDER, "colour": "red"}, 400, "bad_field"),
        ({**ORDER, "text": "路灯\x00坏了"}, 400, "bad_field"),
        ({**ORDER, "external_id": "x" * 129}, 400, "bad_field"),
        ({**ORDER, "source": "suishoupai"}, 403, "wrong_source"),
        ({**ORDER, "source": "chat"}, 400, "bad_field"),
    ]
    for body, status, code in cases:
        got = call(api, "POST", "/tickets", json=body)
        assert (got.status_code, got.json()["error"]) == (status, code), body
        assert any("\u4e00" <= ch <= "\u9fff" for ch in got.json()["reason"])
    got = call(api, "POST", "/tickets", data="not json")
    assert (got.status_code, got.json()["error"]) == (400, "bad_json")
    assert call(api, "POST", "/tickets", "county", json=ORDER).status_code == 403  # read only
    with api.session() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_reading_filters_and_pages(api) -> None:  # type: ignore[no-untyped-def]
    ids = [call(api, "POST", "/tickets", json={**ORDER, "external_id": f"P{i}"}).json()
           ["ticket"]["id"] for i in range(3)]
    other = call(api, "POST", "/tickets", "app", json={
        "external_id": "S1", "text": "西湖第二网格这边有人半夜施工噪音太大", "address": "西湖第二网格"}
    ).json()["ticket"]
    api.say_to_app("lijuan", f"接单 {ids[0]}")
    everything = call(api, "GET", "/tickets", "county").json()
    assert [t["id"] for t in everything["tickets"]] == [*ids, other["id"]]
    assert everything["next_cursor"] is None
    page = call(api, "GET", "/tickets?limit=2", "county").json()
    assert [t["id"] for t in page["tickets"]] == ids[:2] and page["next_cursor"] == ids[1]
    rest = call(api, "GET", f"/tickets?limit=2&cursor={page['next_cursor']}", "county").json()
    assert [t["id"] for t in rest["tickets"]] == [ids[2], other["id"]]
    accepted = call(api, "GET", "/tickets?status=accepted", "county").json()["tickets"]
    assert [t["id"] for t in accepted] == [ids[0]]
    east = call(api, "GET", "/tickets?grid=640323001001", "county").json()["tickets"]
    assert [t["id"] for t in east] == ids  # the community's subtree
    by_source = call(api, "GET", "/tickets?source=suishoupai", "county").json()["tickets"]
    assert [t["id"] for t in by_source] == [other["id"]]
    # a source-bound token sees only its own orders
    assert [t["id"] for t in call(api, "GET", "/tickets", "app").json()["tickets"]] == [other["id"]]
    assert call(api, "GET", f"/tickets/{ids[0]}", "app").status_code == 404
    with api.session() as session:
        accepted_at = session.get(Ticket, ids[0]).accepted_at
    since = accepted_at.isoformat()
    changed = call(api, "GET", "/tickets", "county", params={"updated_since": since}).json()
    assert [t["id"] for t in changed["tickets"]] == [ids[0]]
    for bad in ("status=lost", "updated_since=yesterday", "limit=0", "limit=101", "cursor=-1",
                "grid=999"):
        got = call(api, "GET", f"/tickets?{bad}", "county")
        assert got.status_code == 400 and got.json()["reason"], bad
    for method, path, status in (("DELETE", "/tickets", 405), ("GET", "/nothing", 404),
                                 ("PUT", f"/tickets/{ids[0]}", 405)):
        got = call(api, method, path, "county")
        assert got.status_code == status and "\u4e00" <= got.json()["reason"][0] <= "\u9fff"


def test_one_ticket_with_its_trail(api) -> None:  # type: ignore[no-untyped-def]
    number = call(api, "POST", "/tickets", json=ORDER).json()["ticket"]["id"]
    api.say_to_app("lijuan", f"接单 {number}")
    got = call(api, "GET", f"/tickets/{number}", "county").json()["ticket"]
    assert [(e["action"], e["to_status"]) for e in got["trail"]] == [
        ("create", "created"), ("dispatch", "dispatched"), ("accept", "accepted")]
    assert got["trail"][2]["actor"] == "网格员李娟" and got["updated_at"] == got["trail"][2]["at"]
    assert "13600001234" not in json.dumps(got, ensure_ascii=False)
    assert call(api, "GET", "/tickets/999999", "county").status_code == 404
    assert call(api, "GET", f"/tickets/{2**70}", "county").status_code == 404


def test_the_source_supplements_and_withdraws_its_order(api) -> None:  # type: ignore[no-untyped-def]
    number = call(api, "POST", "/tickets", json=ORDER).json()["ticket"]["id"]
    api.deliver()
    supplement = {"type": "补充", "text": "来电人补充：灯杆编号 DS-017", "event_id": "EV-1"}
    added = call(api, "POST", f"/tickets/{number}/events", json=supplement)
    assert added.status_code == 201 and added.json()["event"]["action"] == "supplement"
    repeat = call(api, "POST", f"/tickets/{number}/events", json=supplement)  # a retry
    assert repeat.status_code == 200 and repeat.json()["event"] == added.json()["event"]
    api.deliver()
    assert sum("DS-017" in text for text in api.received("lijuan")) == 1  # told once
    assert api.received("lijuan")[-1] == f"工单 #{number} 12345热线补充：来电人补充：灯杆编号 DS-017"
    gone = call(api, "POST", f"/tickets/{number}/events", json={"type": "withdraw",
                                                                "text": "来电人已自行解决"})
    assert gone.status_code == 201 and gone.json()["ticket"]["status"] == "withdrawn"
    api.deliver()
    assert api.received("lijuan")[-1] == \
        f"工单 #{number} 已被12345热线撤销（来电人已自行解决），无需再处理。"
    again = call(api, "POST", f"/tickets/{number}/events", json={"type": "撤销"})
    assert again.status_code == 409 and "撤销" in again.json()["reason"]
    assert call(api, "POST", f"/tickets/{number}/events", json={"type": "催办"}).status_code == 400
    assert call(api, "POST", f"/tickets/{number}/events", "app",
                json={"type": "补充", "text": "x"}).status_code == 404  # not its order


def test_a_chat_ticket_takes_no_events_from_the_api(api) -> None:  # type: ignore[no-untyped-def]
    api.say_in_group("zhangsan", "wrDSY1", "我家门口的下水道堵了，污水都冒到路面上了")
    number = api.tickets()[0].id
    with transaction(api.runtime.session_factory) as session:
        token = add_client(session, name="全能", scopes={"tickets:write"}).token
    api.tokens["all"] = token
    got = call(api, "POST", f"/tickets/{number}/events", "all", json={"type": "撤销"})
    assert got.status_code == 409 and got.json()["error"] == "not_an_order"


def test_the_report_counts_orders_by_source(api) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from cases.kpi import kpi_rows
    from cases.kpi_query import load_facts
    from reports.kpi_export import kpi_csv
    from reports.month import name_sources
    from store.clock import utcnow

    def render_csv(report):  # type: ignore[no-untyped-def]
        return kpi_csv(report).decode("utf-8-sig")

    call(api, "POST", "/tickets", json=ORDER)
    api.say_in_group("zhangsan", "wrDSY1", "我家门口的下水道堵了，污水都冒到路面上了")
    with api.session() as session:
        facts = load_facts(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1))
    report = name_sources(kpi_rows(facts), {"12345": "12345热线"})
    lines = render_csv(report).splitlines()
    assert any(line.startswith("按来源,—,12345热线,1,") for line in lines)
    assert any(line.startswith("按来源,—,居民上报,1,") for line in lines)
    chat_only = name_sources(kpi_rows([f for f in facts if f.source is None]), {})
    assert not any(line.startswith("按来源") for line in render_csv(chat_only).splitlines())


def test_the_source_rates_a_resolved_order(api) -> None:  # type: ignore[no-untyped-def]
    good, bad = (call(api, "POST", "/tickets", json={**ORDER, "external_id": f"R{i}"})
                 .json()["ticket"]["id"] for i in (1, 2))
    early = call(api, "POST", f"/tickets/{good}/events", json={"type": "评价", "rating": "满意"})
    assert early.status_code == 409  # not resolved yet
    for number in (good, bad):
        api.say_to_app("lijuan", f"接单 {number}")
        api.say_to_app("lijuan", f"办结 {number} 已更换灯泡")
    assert call(api, "POST", f"/tickets/{good}/events",
                json={"type": "评价"}).json()["error"] == "bad_rating"
    rated = call(api, "POST", f"/tickets/{good}/events",
                 json={"type": "评价", "rating": "满意", "text": "回访满意"})
    assert rated.status_code == 201
    assert (rated.json()["ticket"]["status"], rated.json()["ticket"]["rating"]) == (
        "closed", "satisfied")
    api.deliver()
    assert api.received("lijuan")[-1] == f"工单 #{good} 12345热线回访评价：满意（回访满意）"
    reopened = call(api, "POST", f"/tickets/{bad}/events",
                    json={"type": "rate", "rating": "unsatisfied", "text": "灯还是不亮"})
    ticket = reopened.json()["ticket"]
    assert (ticket["status"], ticket["level"], ticket["handler"]) == ("dispatched", "leader",
                                                                       "王红")
    api.deliver()
    assert any(f"重办工单 #{bad}" in text and "灯还是不亮" in text
               for text in api.received("wanghong"))
