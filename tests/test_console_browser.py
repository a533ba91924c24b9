"""The console in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium; CI
installs it, nothing is downloaded). Sign-in through the simulator's WeCom authorize page, the
dashboard at desktop and phone width, list filters, ticket actions, a notice, both downloads
opened and checked, a scope refusal and a CSRF refusal. Every page is screenshot into
tests/artifacts/console/ (kept by CI as an artefact)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.console_helpers import REPORTS, console_app, console_settings
from tests.harness import Harness
from wecom.simulator.app import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "console"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def site(settings, engine, simulator) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """GridBot with three tickets reported in chat, its console served on a real port."""
    state, sim_url = simulator
    harness = Harness.start(console_settings(settings, sim_url), engine, state, sim_url)
    for userid, chat, text in REPORTS:
        harness.say_in_group(userid, chat, text)
    base_url, stop = serve_in_thread(console_app(harness.runtime), host="localhost")
    harness.console_url = base_url  # type: ignore[attr-defined]
    yield harness
    stop()
    harness.stop()


@pytest.fixture
def page(browser, site) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Any, userid: str) -> None:
    """The demo's person picker: the link goes through the simulator's WeCom authorize page."""
    page.goto(f"{site.console_url}/console/login")
    page.click(f'a[data-userid="{userid}"]')
    page.wait_for_selector("header .who span")
    assert re.match(rf"{site.console_url}/console/", page.url)


def test_sign_in_and_the_dashboard(page, site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.console_url}/console/tickets")
    assert "/console/login" in page.url
    assert page.get_by_text("使用企业微信登录").is_visible()
    shot(page, "01-login")
    sign_in(page, site, "zhaolei")  # back where they were going
    assert "/console/tickets" in page.url
    page.click("nav >> text=概览")
    assert page.locator("header .who span").inner_text() == "赵磊"
    assert page.locator("#count-open").inner_text() == "3"
    assert page.locator("#count-urgent").inner_text() == "1"
    assert page.locator("svg.chart").count() == 2
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["gridbot_console"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    assert "gridbot_console" not in page.evaluate("document.cookie")
    shot(page, "02-dashboard")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "03-dashboard-phone")
    page.click("header .who button")
    assert page.get_by_text("您已退出登录").is_visible()
    page.goto(f"{site.console_url}/console/")
    assert "/console/login" in page.url


def test_list_filters(page, site) -> None:  # type: ignore[no-untyped-def]
    # A click that submits a form starts a navigation and returns at once; expect() retries until
    # the new page shows what is asked (a bare count() could read the old page, or an empty one).
    tickets = site.tickets()
    rows = page.locator("tr[data-ticket]")
    sign_in(page, site, "zhaolei")
    page.click("nav >> text=工单")
    expect(rows).to_have_count(3)
    page.select_option("select[name=grid]", "640323001002")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*grid=640323001002.*"))
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-ticket", str(tickets[1].id))
    page.click("text=清除")
    expect(rows).to_have_count(3)
    page.check("input[name=urgent]")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*urgent=.*"))
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-ticket", str(tickets[2].id))
    page.click("text=清除")
    expect(rows).to_have_count(3)
    page.fill("input[name=q]", "下水道")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*q=%E4%B8%8B.*"))
    expect(rows).to_have_count(1)
    expect(page.locator("#page-info")).to_contain_text("共 1 件")
    shot(page, "04-tickets-filtered")


def test_ticket_actions(page, site) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = site.tickets()
    sign_in(page, site, "zhaolei")
    page.goto(f"{site.console_url}/console/tickets/{first.id}")
    assert "下水道堵了" in page.locator("#report-text").inner_text()
    assert page.locator("#explain").inner_text().strip()
    shot(page, "05-ticket")
    page.fill("#form-escalate input[name=reason]", "涉及主管网，需社区协调")
    page.click("#form-escalate button")
    expect(page.locator(".flash")).to_contain_text("已上报")
    expect(page.locator("#handler")).to_have_text("王红")
    assert "经控制台" in page.locator("#trail").inner_text()
    shot(page, "06-ticket-escalated")
    page.goto(f"{site.console_url}/console/tickets/{second.id}")
    page.fill("#form-close input[name=reason]", "居民已自行解决")
    page.click("#form-close button")
    expect(page.locator("#status")).to_have_text("已撤销")
    site.deliver()
    assert any("涉及主管网" in text for text in site.received("wanghong"))
    assert any("居民已自行解决" in text for text in site.reached("wangwu"))


def test_a_notice_with_its_preview_status_and_cancel(page, site) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site, "zhaolei")
    page.click("nav >> text=通知")
    page.fill("input[name=title]", "城乡居民医保缴费")
    page.fill("textarea[name=body]", "请于月底前完成缴费。")
    page.select_option("select[name=grids]", ["640323001001"])
    page.check("input[name=roles][value=worker]")
    page.check("input[name=kind][value=none]")
    page.fill("input[name=deadline]", "2099-12-31")
    page.click("button[value=preview]")
    expect(page.locator("#preview")).to_contain_text("发布预览")
    preview = page.locator("#preview").inner_text()
    assert "发布预览" in preview and "提醒计划" in preview and "截止前 3 个工作日" in preview
    shot(page, "07-notice-preview")
    page.click("button[value=create]")
    expect(page.locator(".flash")).to_contain_text("已发布")
    expect(page.locator("#notice-status")).to_have_text("进行中")
    shot(page, "08-notice-status")
    page.click("#form-cancel button")
    expect(page.locator("#notice-status")).to_have_text("已取消")


def test_downloads_open_as_spreadsheets(page, site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site, "zhaolei")
    page.click("nav >> text=考单下载")
    shot(page, "09-report")
    with page.expect_download() as download:
        page.click("#download-xlsx")
    saved = tmp_path / "report.xlsx"
    download.value.save_as(saved)
    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert any(row and row[0] == "合计" and row[3] == 3 for row in rows)
    with page.expect_download() as download:
        page.click("#download-csv")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:4] == ["范围", "排名", "名称", "工单数"]


def test_scope_and_csrf_refusals(page, site) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = site.tickets()
    sign_in(page, site, "chenjing")  # 西湖第一网格's worker
    page.goto(f"{site.console_url}/console/tickets")
    assert page.locator("tr[data-ticket]").count() == 1
    answer = page.goto(f"{site.console_url}/console/tickets/{first.id}")
    assert answer is not None and answer.status == 403
    assert "没有权限" in page.content()
    shot(page, "10-scope-refused")
    page.goto(f"{site.console_url}/console/tickets/{second.id}")
    page.eval_on_selector("#form-escalate input[name=csrf_token]", "e => e.value = 'forged'")
    page.fill("#form-escalate input[name=reason]", "试图伪造")
    with page.expect_navigation() as answer:
        page.click("#form-escalate button")
    assert answer.value is not None and answer.value.status == 400
    assert "安全校验" in page.content()
    shot(page, "11-csrf-refused")
    assert site.tickets()[1].level == "worker"
