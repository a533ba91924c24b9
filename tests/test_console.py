"""The centre's web console through Flask's test client: sign-in with WeCom (via the
simulator), the session cookie, CSRF, scope, the dashboard's figures, the list's filters, the
ticket actions (through the same core as chat, on the trail "经控制台", people told in chat),
notices and the 考单 downloads. The browser tests (Playwright) are in test_console_browser.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from store.models import OutboxMessage, Ticket, TicketEvent
from store.notice_models import Notice
from tests.console_helpers import (
    HTTPS,
    REPORTS,
    authorize,
    console_app,
    console_settings,
    csrf_of,
    https_client,
    query_of,
    sign_in,
)
from tests.harness import Harness


@pytest.fixture
def world(settings, engine, simulator):  # type: ignore[no-untyped-def]
    """GridBot with three tickets reported in chat, and its console app."""
    state, sim_url = simulator
    harness = Harness.start(console_settings(settings, sim_url), engine, state, sim_url)
    for userid, chat, text in REPORTS:
        harness.say_in_group(userid, chat, text)
    assert len(harness.tickets()) == 3
    harness.app = console_app(harness.runtime)  # type: ignore[attr-defined]
    yield harness
    harness.stop()


@pytest.fixture
def client(world):  # type: ignore[no-untyped-def]
    return https_client(world.app)


def _page(client, path: str) -> str:  # type: ignore[no-untyped-def]
    got = client.get(path)
    assert got.status_code == 200, (path, got.status_code, got.data[:300])
    return got.get_data(as_text=True)


# -- sign-in, session, CSRF ------------------------------------------------------------------


def test_signed_out_is_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    got = client.get("/console/tickets")
    assert got.status_code == 302 and "/console/login" in got.headers["Location"]
    assert "使用企业微信登录" in _page(client, "/console/login")


def test_sign_in_goes_through_wecom_and_sets_a_secure_httponly_cookie(world, client) -> None:  # type: ignore[no-untyped-def]
    start = client.get("/console/login/wecom?as=zhaolei")
    sent_to = start.headers["Location"]
    assert sent_to.startswith(f"{world.sim_url}/connect/oauth2/authorize?")
    asked = query_of(sent_to)
    assert asked["appid"] == world.settings.wecom.corp_id and asked["scope"] == "snsapi_base"
    assert asked["redirect_uri"].endswith("/console/auth/callback") and asked["state"]
    back = authorize(client, "zhaolei")
    got = client.get(back)
    assert got.status_code == 302 and got.headers["Location"].endswith("/console/")
    cookie = got.headers["Set-Cookie"]
    assert "gridbot_console=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "SameSite=Lax" in cookie and "Expires=" in cookie  # console.session_hours
    assert "赵磊" in _page(client, "/console/")
    # the code came through auth/getuserinfo with the app's token
    assert [c.params.get("code") for c in world.state.calls_to("/cgi-bin/auth/getuserinfo")]


def test_a_code_is_good_once_and_the_state_must_match(world, client) -> None:  # type: ignore[no-untyped-def]
    back = authorize(client, "zhaolei")
    params = query_of(back)
    forged = client.get(f"/console/auth/callback?code={params['code']}&state=forged")
    assert forged.status_code == 400 and "登录已过期" in forged.get_data(as_text=True)
    again = https_client(world.app)
    replay = authorize(again, "zhaolei")  # a fresh state in this browser …
    stale = client.get(replay.split("?")[0] + f"?code={params['code']}&state=x")
    assert stale.status_code == 400
    assert again.get(replay).status_code == 302
    reused = again.get(replay)  # … and its code, spent
    assert reused.status_code in (400, 403)


def test_residents_and_strangers_cannot_sign_in(world, client) -> None:  # type: ignore[no-untyped-def]
    got = sign_in(client, "zhangsan")
    assert got.status_code == 403 and "不在本街道的工作人员名单中" in got.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    got = sign_in(client, "stranger01")  # a corp member GridBot does not know
    assert got.status_code == 403


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    ticket = world.tickets()[0]
    for form in ({"reason": "测试"}, {"reason": "测试", "csrf_token": "wrong"}):
        got = client.post(f"/console/tickets/{ticket.id}/escalate", data=form)
        assert got.status_code == 400 and "安全校验" in got.get_data(as_text=True)
    assert world.tickets()[0].level == ticket.level
    with world.session() as session:
        assert session.scalar(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "escalate")) is None


def test_without_a_secret_key_the_console_is_closed(world) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from settings.model import ConsoleSettings
    from web import create_app

    world.runtime.settings = dataclasses.replace(world.runtime.settings,
                                                 console=ConsoleSettings())
    app = create_app(world.runtime)
    got = https_client(app).get("/console/login")
    assert got.status_code == 503 and "SECRET_KEY" in got.get_data(as_text=True)


# -- dashboard and scope ---------------------------------------------------------------------


def test_dashboard_counts_what_the_viewer_may_see(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    page = _page(client, "/console/")
    assert 'id="count-open">3<' in page and 'id="count-urgent">1<' in page
    assert "东顺苑第一网格" in page and "西湖第一网格" in page and "<svg" in page
    leader = https_client(world.app)
    sign_in(leader, "sunli")  # 西湖社区's leader
    page = _page(leader, "/console/")
    assert 'id="count-open">1<' in page and "东顺苑第一网格" not in page


def test_list_filters_and_scope(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    tickets = world.tickets()
    assert _page(client, "/console/tickets").count("data-ticket=") == 3
    page = _page(client, "/console/tickets?urgent=1")
    assert page.count("data-ticket=") == 1 and f'data-ticket="{tickets[2].id}"' in page
    page = _page(client, "/console/tickets?grid=640323001002")
    assert page.count("data-ticket=") == 1 and f'data-ticket="{tickets[1].id}"' in page
    page = _page(client, "/console/tickets?q=下水道")
    assert page.count("data-ticket=") == 1 and f'data-ticket="{tickets[0].id}"' in page
    assert _page(client, f"/console/tickets?q=%23{tickets[1].id}").count("data-ticket=") == 1
    assert _page(client, "/console/tickets?status=closed").count("data-ticket=") == 0
    assert _page(client, "/console/tickets?since=2000-01-01&until=2000-01-02").count(
        "data-ticket=") == 0
    assert client.get("/console/tickets?since=yesterday").status_code == 400
    worker = https_client(world.app)
    sign_in(worker, "chenjing")  # 西湖第一网格's worker
    page = _page(worker, "/console/tickets")
    assert page.count("data-ticket=") == 1 and f'data-ticket="{tickets[1].id}"' in page
    assert worker.get(f"/console/tickets/{tickets[0].id}").status_code == 403
    page = _page(worker, "/console/tickets?mine=1")
    assert page.count("data-ticket=") == 1  # 陈静 holds it
    assert _page(client, "/console/tickets?mine=1").count("data-ticket=") == 0  # 赵磊 none
    assert worker.post(f"/console/tickets/{tickets[0].id}/escalate",
                       data={"reason": "x", "csrf_token": csrf_of(worker)}).status_code == 403


# -- the ticket page and its actions --------------------------------------------------------


def test_ticket_page_shows_text_reasons_deadlines_trail_and_messages(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    ticket = world.tickets()[0]
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert "下水道堵了" in page and "市政设施" in page
    assert "接单时限" in page and "处理记录" in page
    assert "id=\"messages\"" in page  # the dispatch card and the receipt were sent
    assert 'id="form-escalate"' in page and 'id="form-close"' in page


def test_escalate_from_the_console_is_on_the_trail_and_told_in_chat(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    ticket = world.tickets()[0]
    client.get(f"/console/tickets/{ticket.id}")
    got = client.post(f"/console/tickets/{ticket.id}/escalate",
                      data={"reason": "涉及管网改造", "csrf_token": csrf_of(client)})
    assert got.status_code == 302
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert "已上报" in page and "涉及管网改造" in page and "经控制台" in page
    with world.session() as session:
        event = session.scalar(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "escalate"))
        assert event is not None and event.data["via"] == "console"
        after = session.get(Ticket, ticket.id)
        assert after is not None and after.level == "leader"
        told = [m.target for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.created_at >= event.created_at))]
    assert "wanghong" in told  # the leader now holding it
    world.deliver()
    assert any("涉及管网改造" in text for text in world.received("wanghong"))


def test_dispatch_transfer_and_close(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    ticket = world.tickets()[1]  # 西湖第一网格, with 陈静
    client.get(f"/console/tickets/{ticket.id}")
    with world.session() as session:
        from store.models import Person

        people = {p.userid: p.id for p in session.scalars(select(Person))}
    # 刘洋 works 西湖第二网格: not offered, and refused by the core (as in chat) with the reason
    form = _page(client, f"/console/tickets/{ticket.id}").split('id="form-transfer"')[1]
    form = form.split("</form>")[0]
    assert f'value="{people["sunli"]}"' in form and f'value="{people["liuyang"]}"' not in form
    got = client.post(f"/console/tickets/{ticket.id}/transfer",
                      data={"person": str(people["liuyang"]), "csrf_token": csrf_of(client)})
    assert got.status_code == 302
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert 'class="flash error"' in page and world.tickets()[1].assignee_id == people["chenjing"]
    got = client.post(f"/console/tickets/{ticket.id}/transfer",
                      data={"person": str(people["sunli"]), "csrf_token": csrf_of(client)})
    assert world.tickets()[1].assignee_id == people["sunli"]
    world.deliver()
    assert any("转派" in t for t in world.received("sunli"))
    got = client.post(f"/console/tickets/{ticket.id}/close",
                      data={"reason": "", "csrf_token": csrf_of(client)})
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert "请填写原因" in page and world.tickets()[1].status == "dispatched"
    client.post(f"/console/tickets/{ticket.id}/close",
                data={"reason": "重复反映，已并入其他工单", "csrf_token": csrf_of(client)})
    assert world.tickets()[1].status == "withdrawn"
    world.deliver()
    assert any("已由综治中心赵磊关闭" in t for t in world.reached("wangwu"))
    assert any("无需再处理" in t for t in world.received("sunli"))


def test_a_refusal_by_the_core_is_shown_with_its_reason(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    ticket = world.tickets()[0]
    client.get(f"/console/tickets/{ticket.id}")
    got = client.post(f"/console/tickets/{ticket.id}/transfer",
                      data={"person": "999999", "csrf_token": csrf_of(client)})
    assert got.status_code == 302
    assert "没有这位工作人员" in _page(client, f"/console/tickets/{ticket.id}")


# -- notices ---------------------------------------------------------------------------------


NOTICE = {"title": "防汛通知", "body": "今晚暴雨，请低洼地带群众转移。",
          "grids": ["640323001002"], "roles": ["worker"], "kind": "now"}


def test_notice_preview_stores_nothing_then_create_and_cancel(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    client.get("/console/notices")
    form = {**NOTICE, "csrf_token": csrf_of(client), "step": "preview"}
    page = client.post("/console/notices", data=form).get_data(as_text=True)
    assert "发布预览" in page and "成员 2 人" in page
    assert world.count(Notice) == 0 and not world.outbox()[-1].payload.get("markdown", {}).get(
        "content", "").startswith("防汛")
    form["step"] = "create"
    got = client.post("/console/notices", data=form)
    assert got.status_code == 302 and world.count(Notice) == 1
    page = _page(client, got.headers["Location"].replace(HTTPS, ""))
    assert "投递情况" in page and "取消通知" not in page or "进行中" in page
    deadline = {**NOTICE, "kind": "none", "deadline": "2099-12-31", "reminders": "7,3,1",
                "title": "城乡居民医保缴费", "csrf_token": csrf_of(client), "step": "preview"}
    page = client.post("/console/notices", data=deadline).get_data(as_text=True)
    assert "提醒计划" in page and "截止前 7 个工作日" in page
    deadline["step"] = "create"
    got = client.post("/console/notices", data=deadline)
    notice_path = got.headers["Location"].replace(HTTPS, "")
    number = int(notice_path.rsplit("/", 1)[1])
    client.post(f"{notice_path}/cancel", data={"csrf_token": csrf_of(client)})
    with world.session() as session:
        assert session.get(Notice, number).status == "cancelled"


def test_only_the_centre_broadcasts(world) -> None:  # type: ignore[no-untyped-def]
    worker = https_client(world.app)
    sign_in(worker, "lijuan")
    assert "新建通知" not in _page(worker, "/console/notices")
    got = worker.post("/console/notices", data={**NOTICE, "csrf_token": csrf_of(worker),
                                                "step": "create"})
    assert got.status_code == 403 and world.count(Notice) == 0


# -- downloads -------------------------------------------------------------------------------


def test_month_report_downloads_xlsx_and_csv(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    month = world.tickets()[0].created_at.astimezone(
        world.runtime.services.calendar.tz).strftime("%Y-%m")
    assert 'id="download-xlsx"' in _page(client, f"/console/report?month={month}")
    got = client.get(f"/console/report/{month}.xlsx")
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(got.data))
    assert "工单明细" in book.sheetnames  # reports' workbook: a sheet per view, every ticket
    rows = list(book["考单"].iter_rows(values_only=True))
    assert any(row and row[0] == "合计" and row[3] == 3 for row in rows)
    got = client.get(f"/console/report/{month}.csv")
    assert got.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert table[0][0] == "范围" and any(r[0] == "合计" and r[3] == "3" for r in table)
    assert client.get("/console/report/2026-13.csv").status_code == 400
    leader = https_client(world.app)
    sign_in(leader, "sunli")  # 西湖社区: her subtree only
    page = _page(leader, f"/console/report?month={month}")
    assert 'id="download-csv-640323001002"' in page and 'id="download-csv"' not in page
    assert leader.get(f"/console/report/{month}.csv").status_code == 403
    assert leader.get(f"/console/report/{month}.csv?grid=640323001001").status_code == 403
    table = list(csv.reader(io.StringIO(leader.get(
        f"/console/report/{month}.csv?grid=640323001002").data.decode("utf-8-sig"))))
    assert any(r[0] == "合计" and r[3] == "1" for r in table)
    got = leader.get(f"/console/report/{month}.xlsx?grid=640323001002001")  # a grid below
    assert got.status_code == 200
    department = https_client(world.app)
    sign_in(department, "minzheng")
    assert department.get("/console/report").status_code == 403
    assert department.get(f"/console/report/{month}.csv").status_code == 403


def test_monthly_figures_agree_with_the_kpi_report(world) -> None:  # type: ignore[no-untyped-def]
    from cases.kpi import kpi_rows
    from cases.kpi_query import load_facts, month_bounds
    from cases.permissions import Reach
    from cases.ticket_search import monthly_figures

    tz = world.runtime.services.calendar.tz
    month = datetime.now(tz).strftime("%Y-%m")
    with world.session() as session:
        index = world.runtime.services.roster.get(session)
        [figures] = monthly_figures(session, index, Reach(everything=True), [month], tz)
        total = kpi_rows(load_facts(session, *month_bounds(month, tz)), 1).total
    assert figures.tickets == total.tickets == 3
    assert figures.resolution_rate == total.resolution_rate
    assert figures.satisfaction_rate == total.satisfaction_rate


def test_dispatch_of_an_unplaced_ticket_to_a_grid(world, client) -> None:  # type: ignore[no-untyped-def]
    world.say_to_app("stranger01", "小区路灯坏了好几天了，晚上太黑，麻烦来修一下")
    ticket = world.tickets()[-1]
    assert ticket.grid_id is None  # at the centre's triage
    sign_in(client, "zhaolei")
    page = _page(client, "/console/tickets?grid=-&status=open")
    assert page.count("data-ticket=") == 1 and f'data-ticket="{ticket.id}"' in page
    assert 'id="count-unplaced">1<' in _page(client, "/console/")
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert 'id="form-dispatch"' in page
    client.post(f"/console/tickets/{ticket.id}/dispatch",
                data={"grid": "640323001002002", "csrf_token": csrf_of(client)})
    after = world.tickets()[-1]
    assert after.status == "dispatched" and after.grid_id is not None
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert "刘洋" in page and "经控制台" in page
    world.deliver()
    assert any(f"#{ticket.id}" in t for t in world.received("liuyang"))


def test_reclassify_goes_through_the_corrections_of_cases(world, client) -> None:  # type: ignore[no-untyped-def]
    from store.correction_models import ClassifierCorrection

    sign_in(client, "zhaolei")
    ticket = world.tickets()[1]  # 楼道堆满杂物: 安全隐患 at intake
    assert ticket.category == "safety"
    assert 'id="form-reclassify"' in _page(client, f"/console/tickets/{ticket.id}")
    client.post(f"/console/tickets/{ticket.id}/reclassify",
                data={"category": "environment", "reason": "楼道杂物属环境卫生",
                      "csrf_token": csrf_of(client)})
    assert world.tickets()[1].category == "environment"
    page = _page(client, f"/console/tickets/{ticket.id}")
    assert "已改为「环境卫生」" in page and "经控制台" in page
    with world.session() as session:
        [correction] = session.scalars(select(ClassifierCorrection)).all()
        assert (correction.predicted, correction.corrected) == ("safety", "environment")
        assert correction.reason == "楼道杂物属环境卫生"
    # without a reason the core's code is not even asked
    client.post(f"/console/tickets/{ticket.id}/reclassify",
                data={"category": "safety", "reason": "", "csrf_token": csrf_of(client)})
    assert world.tickets()[1].category == "environment"
    worker = https_client(world.app)
    sign_in(worker, "chenjing")  # a worker may not 改类 (leaders, the centre, admin)
    assert 'id="form-reclassify"' not in _page(worker, f"/console/tickets/{ticket.id}")


def test_console_errors_are_pages_in_chinese(world, client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "zhaolei")
    got = client.get("/console/tickets/99999")
    assert got.status_code == 404 and "没有找到" in got.get_data(as_text=True)
    assert client.get("/console/notices/99999").status_code == 404


def test_behind_the_tls_proxy_wecom_sends_people_back_over_https(world) -> None:  # type: ignore[no-untyped-def]
    client = world.app.test_client()  # plain http, as nginx on this host forwards it
    got = client.get("/console/login/wecom?as=zhaolei",
                     headers={"X-Forwarded-Proto": "https", "Host": "grid.example.cn"})
    assert query_of(got.headers["Location"])["redirect_uri"] == (
        "https://grid.example.cn/console/auth/callback")
    got = client.get("/console/login/wecom?qr=1", headers={"Host": "grid.example.cn"})
    sent_to = got.headers["Location"]
    assert "/wwlogin/sso/login?" in sent_to and query_of(sent_to)["login_type"] == "CorpApp"
    assert query_of(sent_to)["redirect_uri"].startswith("http://grid.example.cn/")


def test_charts_are_plain_svg_with_gaps_for_months_without_data() -> None:
    from web.console.charts import Series, bar_chart, line_chart

    svg = str(line_chart(["2026-01", "2026-02", "2026-03", "2026-04"],
                         [Series("办结率", [0.5, None, 0.75, 1.0]), Series("<x>", [None] * 4)],
                         title="趋势"))
    assert svg.startswith("<svg") and "<script" not in svg and "&lt;x&gt;" in svg
    assert svg.count("<polyline") == 1  # the run after the gap; a lone point is a dot
    assert svg.count("<circle") == 3
    bars = str(bar_chart(["甲", "乙"], [10, 5], [2, 0], title="网格", total_name="在办",
                         highlight_name="超期"))
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="14"', bars)]
    assert widths[0] == 2 * widths[2] and widths[1] == widths[0] / 5 and widths[3] == 0


def test_after_sign_in_only_a_console_page_is_a_destination(world, client) -> None:  # type: ignore[no-untyped-def]
    got = client.get(authorize(client, "zhaolei", next_path="/console/notices"))
    assert got.headers["Location"].endswith("/console/notices")
    for elsewhere in ("https://evil.example/console/", "//evil.example/console/", "/demo"):
        other = https_client(world.app)
        got = other.get(authorize(other, "zhaolei", next_path=elsewhere))
        assert got.headers["Location"].endswith("/console/"), elsewhere


def test_stale_figures_are_answered_at_once_and_counted_again_in_the_background(world) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from cases.permissions import Reach
    from cases.ticket_search import months_back
    from web.console.figures import FiguresCache

    runtime = world.runtime
    tz = runtime.services.calendar.tz
    months = months_back(datetime.now(tz).date(), 3)
    cache = FiguresCache(runtime.session_factory, ttl=0.0, recent_ttl=0.0)
    everything = Reach(everything=True)

    def this_month() -> int:
        with world.session() as session:
            index = runtime.services.roster.get(session)
            return cache.figures(session, index, everything, months, tz)[-1].tickets

    assert this_month() == 3  # counted: nothing kept yet
    world.say_in_group("lisi", "wrDSY2", "小区东门的路灯坏了三天了，晚上很黑")
    assert this_month() == 3  # stale, answered at once; a refresh has started
    for _ in range(100):
        if not any(t.name == "console-figures" for t in threading.enumerate()):
            break
        time.sleep(0.05)
    assert this_month() == 4
