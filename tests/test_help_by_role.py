"""帮助 by role through the simulator: each role sees the commands it may use and no other, and
help cannot drift from what works: every command in a role's help is accepted from that role
(never refused for the role), and every ticket or notice command left out is refused for it."""

from __future__ import annotations

import dataclasses
import re

import pytest

from settings import Settings
from settings.model import RosterEntry
from tests.conftest import load_test_settings
from tests.test_county_chat import COUNTY_NODE

REPORT = "我家门口的下水道堵了，污水都冒到路面上了"
PEOPLE = {"resident": "zhangsan", "micro": "zhoudama", "worker": "lijuan", "leader": "wanghong",
          "center": "zhaolei", "department": "minzheng", "admin": "admin"}
#: One real use of every command, harmless first (each role gets a ticket of its own).
SAMPLES = {
    "任务": "任务", "详情": "详情 {n}", "查询": "查询 {n}", "补充": "补充 {n} 漏水在二楼",
    "评价": "评价 {n} 满意", "接单": "接单 {n}", "进度": "进度 {n} 已联系物业",
    "通知列表": "通知列表", "取消通知": "取消通知 999",
    "截止提醒": "截止提醒 2026-12-31 医保缴费 范围:全街道",
    "定时通知": "定时通知 2026-12-30 09:00 范围:全街道 内容:请按时缴费。",
    "立即通知": "立即通知 范围:东顺苑社区 内容:明天停水。",
    "办结": "办结 {n} 已疏通", "转派": "转派 {n} 张伟", "派单": "派单 {n} 李娟",
    "上报": "上报 {n} 需要协调", "退回": "退回 {n} 不属于本网格", "撤销": "撤销 {n}",
}
#: Commands whose refusal says the role may not (a resident's own commands only refuse others).
ROLE_GATED = set(SAMPLES) - {"任务", "查询", "补充", "评价"}
REFUSED_FOR_ROLE = ("无权", "只有综治中心或管理员", "不是您提交的")
ITEM = re.compile(r"^· (\S+?)(?:[ ：]|$)")


def help_of(bot, userid: str, ask: str = "帮助") -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    bot.state.clear_records()
    bot.say_to_app(userid, ask)
    bot.deliver()
    [text] = bot.received(userid)
    verbs = [found.group(1) for line in text.splitlines() if (found := ITEM.match(line))]
    return text, [v for v in verbs if v in SAMPLES]


def test_the_centre_sees_dispatch_and_the_notice_commands(bot):
    text, verbs = help_of(bot, "zhaolei")
    assert "综治中心" in text.splitlines()[0]
    for verb in ("派单", "详情", "任务", "截止提醒", "定时通知", "立即通知", "通知列表", "取消通知"):
        assert verb in verbs, verb
    assert "退回" not in verbs  # the centre is where returned tickets go
    assert "评价" not in verbs and "补充" not in verbs


def test_leader_worker_micro_department_and_resident(bot):
    _, leader = help_of(bot, "wanghong")
    assert {"派单", "接单", "上报", "退回", "详情"} <= set(leader)
    assert not {"截止提醒", "通知列表", "评价"} & set(leader)
    _, worker = help_of(bot, "lijuan")
    assert {"接单", "进度", "办结", "上报", "转派", "退回", "详情", "任务"} == set(worker)
    _, micro = help_of(bot, "zhoudama")
    assert set(micro) == set(worker)
    _, department = help_of(bot, "minzheng")
    assert "退回" in department and "派单" not in department
    text, resident = help_of(bot, "zhangsan")
    assert {"查询", "补充", "撤销", "评价"} == set(resident)
    assert "直接描述问题" in text and "政策咨询" in text


def test_an_unknown_slash_command_answers_with_the_askers_help(bot):
    text, verbs = help_of(bot, "zhaolei", "/派遣")
    assert text.startswith("没有「/派遣」这个命令") and "截止提醒" in verbs
    text, verbs = help_of(bot, "zhangsan", "/接单")
    assert "接单" not in verbs and "评价" in verbs


@pytest.mark.parametrize("role", sorted(PEOPLE))
def test_help_lists_exactly_what_works_for_the_role(bot, role):
    userid = PEOPLE[role]
    _, listed = help_of(bot, userid)
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    n = bot.tickets()[-1].id
    asker = userid if role != "resident" else "lisi"  # refusals to a resident who is no reporter
    for verb, sample in SAMPLES.items():
        if verb not in listed and verb not in ROLE_GATED:
            continue
        who = userid if verb in listed else asker
        bot.state.clear_records()
        bot.say_to_app(who, sample.format(n=n))
        bot.deliver()
        answer = "\n".join(bot.received(who))
        refused = any(word in answer for word in REFUSED_FOR_ROLE)
        if verb in listed:
            assert answer and not refused, (role, verb, answer)
        else:
            assert refused, (role, verb, answer)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The sample township with one of the county centre's staff (县综治中心) on the county."""
    base = load_test_settings(database_url)
    county = RosterEntry(userid="qianjin", name="钱进", role="county", grids=(COUNTY_NODE,))
    return dataclasses.replace(base, roster=(*base.roster, county))


def test_the_county_sees_the_commands_its_rules_allow(bot):
    text, verbs = help_of(bot, "qianjin")
    assert "县" in text.splitlines()[0]
    assert {"任务", "接单", "办结", "详情"} <= set(verbs)
    assert not {"评价", "补充"} & set(verbs)
