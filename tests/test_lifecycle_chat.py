"""The 六单 lifecycle through the simulator: a resident's message to the rating, every command
with good and bad arguments, card buttons, and a representative set of the permission matrix."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.models import Person, Ticket, TicketEvent

REPORT = "我家门口的下水道堵了，污水都冒到路面上了"


def open_one(bot) -> int:  # type: ignore[no-untyped-def]
    bot.say_in_group("zhangsan", "wrDSY1", REPORT)
    [ticket] = bot.tickets()
    bot.deliver()
    bot.state.clear_records()
    return ticket.id


def last_reply(bot, userid: str) -> str:  # type: ignore[no-untyped-def]
    bot.deliver()
    return bot.received(userid)[-1]


def ticket(bot, number: int) -> Ticket:  # type: ignore[no-untyped-def]
    with bot.session() as session:
        row = session.get(Ticket, number)
        _ = row.grid  # loaded while the session is open
        return row


def test_whole_lifecycle_from_report_to_rating(bot):
    n = open_one(bot)
    bot.say_to_app("lijuan", f"接单 {n}")
    assert ticket(bot, n).status == "accepted"
    assert f"已接单：工单 #{n}" in last_reply(bot, "lijuan")
    assert "已由网格员李娟接单" in last_reply(bot, "zhangsan")

    bot.say_to_app("lijuan", f"进度 {n} 已联系物业，明天上午疏通")
    assert "已联系物业，明天上午疏通" in last_reply(bot, "zhangsan")

    bot.say_to_app("lijuan", f"办结 {n} 已疏通，现场照片已上传")
    done = ticket(bot, n)
    assert (done.status, done.resolved_level) == ("resolved", "worker")
    prompt = last_reply(bot, "zhangsan")
    assert f"请对工单 #{n} 的处理结果评价：回复 1 满意 / 2 一般 / 3 不满意" in prompt

    bot.say_to_app("zhangsan", "1")
    closed = ticket(bot, n)
    assert (closed.status, closed.rating) == ("closed", "satisfied")
    assert "感谢您的评价（满意）" in last_reply(bot, "zhangsan")
    assert "居民评价：满意" in last_reply(bot, "lijuan")
    with bot.session() as session:
        rows = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == n)
                               .order_by(TicketEvent.id)).all()
        lijuan = session.scalar(select(Person).where(Person.userid == "lijuan"))
    assert [(r.action, r.from_status, r.to_status) for r in rows] == [
        ("create", None, "created"), ("dispatch", "created", "dispatched"),
        ("accept", "dispatched", "accepted"), ("progress", "accepted", "accepted"),
        ("resolve", "accepted", "resolved"), ("rate", "resolved", "closed")]
    assert rows[2].actor_id == lijuan.id and rows[2].source_message_id is not None
    assert rows[4].note == "已疏通，现场照片已上传"


def test_unsatisfied_reopens_and_escalates_to_the_leader(bot):
    n = open_one(bot)
    bot.say_to_app("lijuan", f"接单 {n}")
    bot.say_to_app("lijuan", f"办结 {n} 已疏通")
    bot.say_to_app("zhangsan", "3")
    reopened = ticket(bot, n)
    assert (reopened.status, reopened.level, reopened.rating) == ("dispatched", "leader",
                                                                  "unsatisfied")
    assert "上报网格长王红" in last_reply(bot, "zhangsan")
    bot.deliver()
    assert any("居民不满意" in text for text in bot.received("wanghong"))
    bot.say_to_app("wanghong", f"接单 {n}")
    bot.say_to_app("wanghong", f"办结 {n} 已请市政重新疏通")
    bot.say_to_app("zhangsan", f"评价 {n} 一般 还行吧")
    final = ticket(bot, n)
    assert (final.status, final.rating, final.resolved_level) == ("closed", "average", "leader")
    assert final.rating_comment == "还行吧"


@pytest.mark.parametrize("typed", ["接单{n}", "接单 #{n}", "接单　{wide}", "/接单 {n}"])
def test_accept_is_forgiving(bot, typed):
    n = open_one(bot)
    wide = str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    bot.say_to_app("lijuan", typed.format(n=n, wide=wide))
    assert ticket(bot, n).status == "accepted"


def test_card_button_does_what_the_typed_command_does(bot):
    n = open_one(bot)
    bot.click("lijuan", f"ticket-{n}-dispatch", f"接单 {n}")
    assert ticket(bot, n).status == "accepted"


@pytest.mark.parametrize(
    ("userid", "command", "answer"),
    [
        ("lijuan", "接单", "用法：接单 工单号"),
        ("lijuan", "进度 {n}", "用法：进度 工单号 内容"),
        ("lijuan", "办结 {n}", "用法：办结 工单号 说明"),
        ("lijuan", "上报 {n}", "用法：上报 工单号 原因"),
        ("lijuan", "转派 {n}", "用法：转派 工单号 姓名"),
        ("lijuan", "转派 {n} 不存在的人", "没有找到叫「不存在的人」"),
        ("lijuan", "退回", "用法：退回 工单号 原因"),
        ("lijuan", "详情", "用法：详情 工单号"),
        ("lijuan", "接单 999", "没有找到工单 #999"),
        ("lijuan", "办结 {n} 已处理", "还未接单，请先接单再办结"),
        ("zhangwei", "接单 {n}", "不在您负责的范围内"),  # a worker of another grid
        ("chenjing", "详情 {n}", "不在您负责的范围内"),
        ("lisi", "查询 {n}", "不是您提交的"),  # another resident
        ("lisi", "接单 {n}", "您的身份（居民）无权接单"),
        ("zhangsan", "评价 {n} 满意", "还未办结，暂不能评价"),
        ("zhangsan", "评价 {n} 很好", "用法：评价 工单号"),
        ("lijuan", "评价 {n} 满意", "只有报事人本人可以评价"),
        ("lijuan", "撤销 {n}", "您的身份（网格员）无权撤销"),
        ("zhangwei", "派单 {n} 张伟", "无权派单"),
    ],
)
def test_bad_arguments_and_refusals_say_why(bot, userid, command, answer):
    n = open_one(bot)
    bot.say_to_app(userid, command.format(n=n))
    assert answer in last_reply(bot, userid)
    assert ticket(bot, n).status == "dispatched"


def test_someone_elses_ticket_is_refused_but_a_leader_may_take_over(bot):
    n = open_one(bot)
    bot.say_to_app("zhoudama", f"接单 {n}")  # micro of the same grid: dispatched to lijuan
    assert "已派给其他人处理" in last_reply(bot, "zhoudama")
    bot.say_to_app("wanghong", f"接单 {n}")  # the community's leader supervises
    taken = ticket(bot, n)
    assert taken.status == "accepted" and taken.level == "leader"


def test_escalate_transfer_return_and_centre_dispatch(bot):
    n = open_one(bot)
    bot.say_to_app("lijuan", f"上报 {n} 涉及多个部门")
    assert (ticket(bot, n).level, ticket(bot, n).status) == ("leader", "dispatched")
    bot.deliver()
    assert any("涉及多个部门" in text for text in bot.received("wanghong"))
    assert any("已上报网格长王红" in text for text in bot.received("zhangsan"))

    bot.say_to_app("wanghong", f"转派 {n} 周大妈")
    moved = ticket(bot, n)
    with bot.session() as session:
        assert session.get(Person, moved.assignee_id).userid == "zhoudama"
    bot.say_to_app("zhoudama", f"退回 {n} 不属于本网格")
    assert ticket(bot, n).status == "returned"
    bot.deliver()
    assert any(f"派单 {n}" in text for text in bot.received("zhaolei"))

    bot.say_to_app("zhaolei", f"派单 {n} 西湖第一网格")
    placed = ticket(bot, n)
    with bot.session() as session:
        assert session.get(Person, placed.assignee_id).userid == "chenjing"
    assert placed.grid.code == "640323001002001" and placed.status == "dispatched"


def test_centre_dispatches_an_unplaced_triage_ticket_to_a_worker(bot):
    bot.say_to_app("stranger01", "小区门口的路灯坏了好几天了，晚上一片漆黑")
    [t] = bot.tickets()
    assert t.level == "center"
    bot.say_to_app("zhaolei", f"派单 {t.id} 李娟")
    placed = ticket(bot, t.id)
    assert placed.grid.code == "640323001001001" and placed.level == "worker"
    bot.say_to_app("lijuan", f"接单 {t.id}")
    assert ticket(bot, t.id).status == "accepted"


def test_resident_queries_supplements_withdraws_and_attachments(bot):
    n = open_one(bot)
    bot.say_to_app("zhangsan", "查询")
    assert f"#{n} 市政设施｜待接单" in last_reply(bot, "zhangsan")
    bot.say_to_app("zhangsan", f"查询 {n}")
    assert f"工单 #{n}｜市政设施｜待接单" in last_reply(bot, "zhangsan")
    bot.say_to_app("zhangsan", f"补充 {n} 就在3号楼东侧")
    assert "就在3号楼东侧" in last_reply(bot, "lijuan")
    bot.say_to_app("zhangsan", f"撤销 {n}")
    assert ticket(bot, n).status == "withdrawn"
    assert "已被居民撤销" in last_reply(bot, "lijuan")
    bot.say_to_app("zhangsan", f"撤销 {n}")
    assert "已被撤销，不能再撤销" in last_reply(bot, "zhangsan")


def test_worker_task_list_most_urgent_first_and_detail(bot):
    first = open_one(bot)
    bot.say_to_app("zhangsan", "楼道里堆满了杂物，堵住了消防通道")
    second = max(t.id for t in bot.tickets())
    bot.say_to_app("lijuan", f"接单 {first}")  # its clock is now the 7-day one: less urgent
    bot.say_to_app("lijuan", "任务")
    tasks = last_reply(bot, "lijuan")
    assert tasks.index(f"#{second}") < tasks.index(f"#{first}")
    bot.say_to_app("lijuan", f"详情 {first}")
    detail = last_reply(bot, "lijuan")
    assert "分类依据：市政设施" in detail and "下水道" in detail and "时限：" in detail
