"""改类 teaches the classifier: staff correct a ticket's category in chat, each correction is a
label (``classifier_corrections``), ``rules eval --from-tickets`` shows the rules' errors on
them, ``rules learn --from-tickets`` learns rules that ``rules eval`` then scores better, and
``cases.corrections.accuracy_for_month`` gives the console the month's figure."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from cases.corrections import accuracy_for_month, labelled_tickets, recent_corrections
from store.correction_models import ClassifierCorrection
from store.models import Person, Ticket, TicketEvent

CST = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]

# Reports the township's default rules put in the wrong category (checked below: the bot opens
# them with the first category, the centre corrects them to the second).
WRONG = [
    ("我家门口的那个雨水井盖被人偷了，只剩个大坑", "security", "facility"),
    ("我们组的路灯线被偷了，一整排都不亮", "security", "facility"),
    ("村里的桥面有个大洞，拖拉机差点掉下去", "safety", "facility"),
    ("国道边上的护栏缺了一截，晚上很危险", "safety", "facility"),
    ("楼道的声控灯坏了三个月了，报给物业好几次", "facility", "property"),
    ("小区里的路灯坏了物业说归市政管，市政说归物业管", "facility", "property"),
    ("村里修路挖断了我家的水管，施工队说不归他们管", "facility", "dispute"),
    ("楼上家暖气片漏水淹了我家木地板，人家说保险不赔他也不赔", "facility", "dispute"),
    ("电梯旁边堆满了装修垃圾和油漆桶，闻着都呛", "environment", "safety"),
]


def report(bot, text: str) -> Ticket:  # type: ignore[no-untyped-def]
    before = {t.id for t in bot.tickets()}
    bot.say_in_group("zhangsan", "wrDSY1", text)
    [ticket] = [t for t in bot.tickets() if t.id not in before]
    return ticket


def last_reply(bot, userid: str) -> str:  # type: ignore[no-untyped-def]
    bot.deliver()
    return bot.received(userid)[-1]


def test_centre_corrects_a_category_in_chat_and_the_correction_is_a_label(bot):
    ticket = report(bot, WRONG[0][0])
    assert (ticket.category, ticket.department) == ("security", "派出所")
    n = ticket.id

    bot.say_to_app("zhaolei", f"改类 {n} 市政设施 井盖丢了，属于市政设施")
    assert last_reply(bot, "zhaolei") == (
        f"工单 #{n} 已由“治安防范”改为“市政设施”，已记为分类纠正，用于改进自动分类。")
    with bot.session() as session:
        row = session.get(Ticket, n)
        assert (row.category, row.department) == ("facility", "村建办")  # routed with it
        centre = session.scalar(select(Person).where(Person.userid == "zhaolei"))
        [label] = session.scalars(select(ClassifierCorrection)).all()
        event = session.get(TicketEvent, label.event_id)
    assert (label.ticket_id, label.text, label.predicted, label.previous, label.corrected) == (
        n, WRONG[0][0], "security", "security", "facility")
    assert (label.reason, label.actor_id) == ("井盖丢了，属于市政设施", centre.id)
    assert (event.action, event.from_status, event.to_status) == (
        "reclassify", row.status, row.status)
    assert event.data["from_category"] == "security" and event.data["category"] == "facility"

    bot.say_to_app("zhaolei", f"详情 {n}")
    assert "改类：治安防范 → 市政设施，原因：井盖丢了，属于市政设施" in last_reply(bot, "zhaolei")

    # corrected twice: the label is the latest correction, the prediction stays the classifier's
    bot.say_to_app("admin", f"改类 {n} safety 井盖缺失是安全隐患")
    assert "已由“市政设施”改为“安全隐患”" in last_reply(bot, "admin")
    with bot.session() as session:
        [labelled] = labelled_tickets(session)
        second = session.scalars(select(ClassifierCorrection).order_by(
            ClassifierCorrection.id)).all()[-1]
    assert (labelled.ticket_id, labelled.predicted, labelled.label) == (n, "security", "safety")
    assert (second.predicted, second.previous, second.corrected) == (
        "security", "facility", "safety")
    with bot.session() as session:
        listed = recent_corrections(session, ticket_id=n)
        assert recent_corrections(session, ticket_id=n + 1000) == []
    assert [(r.previous, r.corrected, r.actor) for r in listed] == [
        ("facility", "safety", "系统管理员"), ("security", "facility", "赵磊")]
    assert listed[0].reason == "井盖缺失是安全隐患" and listed[0].text == WRONG[0][0]


def test_who_may_correct_and_what_is_refused(bot):
    n = report(bot, WRONG[1][0]).id  # 东顺苑第一网格: leader 王红, not 孙丽

    bot.say_to_app("lijuan", f"改类 {n} 市政设施 路灯")
    assert last_reply(bot, "lijuan") == "您的身份（网格员）无权改类。"
    bot.say_to_app("sunli", f"改类 {n} 市政设施 路灯")
    assert "不在您负责的范围内" in last_reply(bot, "sunli")
    bot.say_to_app("wanghong", f"改类 {n} 市政")
    assert last_reply(bot, "wanghong") == (
        "请写明改类原因，例如：改类 12 安全隐患 电动车在楼道充电。".replace("12", str(n)))
    bot.say_to_app("wanghong", f"改类 {n} 交通 路灯线被偷")
    refusal = last_reply(bot, "wanghong")
    assert refusal.startswith(f"没有“交通”这一类，工单 #{n}未改类。可选：")
    assert "市政设施" in refusal and "其他" in refusal
    bot.say_to_app("wanghong", f"改类 {n} 治安防范 就是偷盗")
    assert last_reply(bot, "wanghong") == f"工单 #{n} 已是“治安防范”，无需改类。"
    bot.say_to_app("wanghong", f"改类 {n}")
    assert last_reply(bot, "wanghong").startswith("用法：改类 工单号 类别 原因")
    with bot.session() as session:
        row = session.get(Ticket, n)
        assert row.category == "security"
        assert session.scalars(select(ClassifierCorrection)).all() == []
        row.department = "民政办"  # routed by hand to another department than its category's
        session.commit()

    bot.say_to_app("wanghong", f"改类 {n} 市政设施，路灯线被偷，路灯不亮")
    assert "改为“市政设施”" in last_reply(bot, "wanghong")
    with bot.session() as session:
        row = session.get(Ticket, n)
        assert (row.category, row.department) == ("facility", "民政办")  # kept
        [label] = session.scalars(select(ClassifierCorrection)).all()
    assert label.reason == "路灯线被偷，路灯不亮"

    bot.say_to_app("zhangsan", "帮助")
    assert "改类" not in last_reply(bot, "zhangsan")
    bot.say_to_app("wanghong", "帮助")
    assert "改类 12 类别 原因" in last_reply(bot, "wanghong")


def _seed_month(session) -> None:  # type: ignore[no-untyped-def]
    """Six November tickets, three corrected (one back to its prediction), one withdrawn and
    corrected (not counted), one October ticket corrected (another month)."""
    zhangsan = session.scalar(select(Person).where(Person.userid == "zhangsan"))
    when = datetime(2026, 11, 10, 9, tzinfo=CST)

    def ticket(category: str, status: str = "dispatched", created: datetime = when) -> Ticket:
        row = Ticket(category=category, status=status, text="某事", reporter=zhangsan,
                     created_at=created)
        session.add(row)
        session.flush()
        return row

    def correct(row: Ticket, *steps: str) -> None:
        predicted = row.category
        for corrected in steps:
            session.add(ClassifierCorrection(ticket_id=row.id, text=row.text,
                                             predicted=predicted, previous=row.category,
                                             corrected=corrected, created_at=when))
            row.category = corrected
            session.flush()

    ticket("facility")
    ticket("facility")
    correct(ticket("security"), "facility")  # security → facility
    correct(ticket("security"), "facility")  # security → facility
    correct(ticket("safety"), "environment", "safety")  # corrected back: the prediction stood
    correct(ticket("dispute"), "property")  # dispute → property
    correct(ticket("dispute", status="withdrawn"), "property")  # not a case: not counted
    correct(ticket("care", created=datetime(2026, 10, 31, 23, tzinfo=CST)), "welfare")
    session.commit()


def test_accuracy_for_month_counts_the_corrections_in_sql(session_factory):
    with session_factory() as session:
        _seed_month(session)
        stats = accuracy_for_month(session, "2026-11", CST)
        october = accuracy_for_month(session, "2026-10", CST)
        empty = accuracy_for_month(session, "2026-12")  # township time by default
        labelled = labelled_tickets(session, *(datetime(2026, 11, 1, tzinfo=CST),
                                                datetime(2026, 12, 1, tzinfo=CST)))
    assert (stats.tickets, stats.corrected) == (6, 3)
    assert stats.accuracy == pytest.approx(3 / 6)
    assert stats.confusions == (("security", "facility", 2), ("dispute", "property", 1))
    by_code = {c.code: c for c in stats.categories}
    # facility: predicted for 2, is 4 now, the 2 predicted were right
    assert (by_code["facility"].predicted, by_code["facility"].actual,
            by_code["facility"].correct) == (2, 4, 2)
    assert by_code["facility"].precision == 1.0 and by_code["facility"].recall == 0.5
    assert (by_code["security"].predicted, by_code["security"].correct) == (2, 0)
    assert by_code["security"].precision == 0.0 and by_code["security"].recall is None
    assert (by_code["safety"].predicted, by_code["safety"].correct) == (1, 1)
    assert (by_code["property"].predicted, by_code["property"].recall) == (0, 0.0)
    assert (october.tickets, october.corrected, october.accuracy) == (1, 1, 0.0)
    assert (empty.tickets, empty.accuracy, empty.categories) == (0, None, ())
    # the labels of November's tickets: the withdrawn one too (a label is a label)
    assert sorted(t.label for t in labelled) == [
        "facility", "facility", "property", "property", "safety"]


# ---------------------------------------------------------------------------------------------
# End to end: corrected in chat → eval shows the errors → learn → eval improves
# ---------------------------------------------------------------------------------------------


def _config(tmp_path: Path, database_url: str) -> str:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": database_url}
    for key in ("rules", "faq", "userdict"):
        raw["classifier"][key] = str(ROOT / raw["classifier"][key])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def _base_data(tmp_path: Path, per_label: int = 12) -> Path:
    """A small labelled CSV from the dev split, without the corrected tickets' texts (so what
    the learnt rules know of those comes from the corrections)."""
    texts = {text for text, _, _ in WRONG}
    kept: dict[str, list[str]] = {}
    with (ROOT / "tests" / "data" / "grid_chat_dev.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["text"] not in texts and len(kept.setdefault(row["label"], [])) < per_label:
                kept[row["label"]].append(row["text"])
    path = tmp_path / "base.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for label, rows in kept.items():
            writer.writerows((text, label) for text in rows)
    return path


def _accuracy(output: str) -> float:
    found = re.search(r"accuracy (\d\.\d+)", output)
    assert found, output
    return float(found.group(1))


def test_corrections_teach_the_classifier_end_to_end(bot, database_url, tmp_path, capsys,
                                                     monkeypatch):
    import bot as entry

    numbers = []
    for text, predicted, corrected in WRONG:
        ticket = report(bot, text)
        assert ticket.category == predicted, text
        name = {"facility": "市政设施", "property": "物业服务", "dispute": "矛盾纠纷",
                "safety": "安全隐患"}[corrected]
        bot.say_to_app("zhaolei", f"改类 {ticket.id} {name} 分错了")
        numbers.append(ticket.id)
    with bot.session() as session:
        assert [t.ticket_id for t in labelled_tickets(session)] == numbers

    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = _config(tmp_path, database_url)
    month = datetime.now(UTC).astimezone(CST).strftime("%Y-%m")

    # the township's rules on its corrected tickets: the errors show
    assert entry.main(["--config", config, "rules", "eval", "--from-tickets",
                       "--month", month]) == 0
    before = capsys.readouterr().out
    assert f"on {len(WRONG)} corrected tickets of {month}" in before
    assert f"misclassified: {len(WRONG)} of {len(WRONG)}" in before
    assert f"#{numbers[0]} [facility -> security] 我家门口的那个雨水井盖被人偷了" in before
    assert _accuracy(before) == 0.0

    # learnt from the base data alone, for comparison; then with the corrections
    base = _base_data(tmp_path)
    alone, learnt = tmp_path / "alone.yaml", tmp_path / "learnt.yaml"
    assert entry.main(["--config", config, "rules", "learn", str(base), "--out",
                       str(alone)]) == 0
    assert entry.main(["--config", config, "rules", "learn", str(base), "--from-tickets",
                       "--out", str(learnt)]) == 0
    learn_out = capsys.readouterr().out
    assert f"{len(WRONG)} corrected tickets" in learn_out
    assert "corrected tickets (x2)" in learnt.read_text(encoding="utf-8").splitlines()[0]

    assert entry.main(["--config", config, "rules", "eval", "--from-tickets",
                       "--rules", str(alone)]) == 0
    without = _accuracy(capsys.readouterr().out)
    assert entry.main(["--config", config, "rules", "eval", "--from-tickets",
                       "--rules", str(learnt)]) == 0
    after = capsys.readouterr().out
    assert _accuracy(after) >= 0.8
    assert _accuracy(after) > without
    assert f"rules {learnt} on {len(WRONG)} corrected tickets" in after

    # no month with corrections, no data; nothing to learn from either
    assert entry.main(["--config", config, "rules", "eval", "--from-tickets",
                       "--month", "2020-01"]) == 0
    assert "no corrected tickets of 2020-01 to evaluate on" in capsys.readouterr().out
    assert entry.main(["--config", config, "rules", "eval", "--from-tickets",
                       "--month", "11/2026"]) == 2
    assert entry.main(["--config", config, "rules", "learn", "--out", str(tmp_path / "x")]) == 2
