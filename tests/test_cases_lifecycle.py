"""The 六单 state machine (cases.lifecycle.decide): every action from every status, the changes
and audit events of the legal ones, the readable reasons of the illegal ones."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cases import wording as texts
from cases.deadlines import Stage
from cases.ladder import Level
from cases.lifecycle import Decision, decide
from cases.model import Action, Actor, Rating, Status, TicketView

PATH = ("county", "town", "v1", "g1", "m1")
S = Status
A = Action

RESIDENT = Actor(1, "resident")
OTHER_RESIDENT = Actor(2, "resident")
MICRO = Actor(11, "micro", (("m1", "micro"),))
WORKER = Actor(21, "worker", (("g1", "worker"),))
PEER = Actor(22, "worker", (("g1", "worker"),))
STRANGER = Actor(23, "worker", (("g2", "worker"),))
LEADER = Actor(31, "leader", (("v1", "leader"),))
CENTER = Actor(41, "center", (("town", "center"),))
ADMIN = Actor(71, "admin")
SYSTEM = Actor.system()


def ticket(status: Status | str = S.DISPATCHED, **kw: Any) -> TicketView:
    base = TicketView(
        id=12, status=status, reporter_id=1, assignee_id=21, grid_path=PATH, level="worker"
    )
    return replace(base, **kw)


# Written out by hand, independent of lifecycle.TRANSITIONS: action → {from: to}.
ALL = set(Status)
OPEN = {S.CREATED, S.DISPATCHED, S.ACCEPTED, S.RETURNED}
LEGAL: dict[Action, dict[Status, Status]] = {
    A.VIEW: {s: s for s in ALL},
    A.DISPATCH: {S.CREATED: S.DISPATCHED, S.RETURNED: S.DISPATCHED},
    A.ACCEPT: {S.DISPATCHED: S.ACCEPTED},
    A.PROGRESS: {S.ACCEPTED: S.ACCEPTED},
    A.RESOLVE: {S.ACCEPTED: S.RESOLVED},
    A.RATE: {S.RESOLVED: S.CLOSED},
    A.CLOSE_UNRATED: {S.RESOLVED: S.CLOSED},
    A.REOPEN: {S.RESOLVED: S.DISPATCHED, S.CLOSED: S.DISPATCHED},
    A.ESCALATE: {s: S.DISPATCHED for s in OPEN},
    A.TRANSFER: {S.DISPATCHED: S.DISPATCHED, S.ACCEPTED: S.DISPATCHED},
    A.RETURN: {S.DISPATCHED: S.RETURNED, S.ACCEPTED: S.RETURNED},
    A.WITHDRAW: {s: S.WITHDRAWN for s in OPEN},
    A.MERGE: {s: S.MERGED for s in OPEN},
    A.SUPPLEMENT: {s: s for s in OPEN | {S.RESOLVED}},
    A.RECLASSIFY: {s: s for s in OPEN | {S.RESOLVED, S.CLOSED}},
}
ARGS: dict[Action, dict[str, Any]] = {
    A.TRANSFER: {"to": PEER},
    A.MERGE: {"duplicate_of": 7},
    A.RATE: {"rating": "satisfied"},
    A.RECLASSIFY: {"category": "safety"},
}


def actor_for(action: Action) -> Actor:
    """Someone whose permission is never the obstacle, so the status is what is tested."""
    return RESIDENT if action in (A.RATE, A.SUPPLEMENT, A.WITHDRAW) else ADMIN


@pytest.mark.parametrize(("action", "status"), [(a, s) for a in Action for s in Status])
def test_every_action_from_every_status(action: Action, status: Status) -> None:
    t = ticket(status, duplicate_of=7 if status is S.MERGED else None)
    d = decide(t, action, actor_for(action), note="说明", **ARGS.get(action, {}))
    if status in LEGAL[action]:
        assert d.allowed, d.reason
        assert d.reason is None
        assert d.to_status is LEGAL[action][status]
        if action is A.VIEW:
            assert d.event is None
        else:
            assert d.event is not None
            assert (d.event.action, d.event.from_status, d.event.to_status) == (
                action,
                status,
                LEGAL[action][status],
            )
            assert d.event.actor_id == actor_for(action).person_id
            assert d.event.note == "说明"
    else:
        assert not d.allowed
        assert not d
        assert d.event is None and d.to_status is None
        assert d.reason == texts.wrong_status(12, status, action, t.duplicate_of)
        assert d.reason.startswith("工单 #12") or d.reason.startswith("工单 #")


@pytest.mark.parametrize(
    ("status", "action", "actor", "reason"),
    [
        (S.RESOLVED, A.ACCEPT, WORKER, "工单 #12 已办结，不能再接单。"),
        (S.CLOSED, A.ACCEPT, WORKER, "工单 #12 已结单，不能再接单。"),
        (S.ACCEPTED, A.ACCEPT, WORKER, "工单 #12 已接单，无需重复接单。"),
        (S.DISPATCHED, A.RESOLVE, WORKER, "工单 #12 还未接单，请先接单再办结。"),
        (S.DISPATCHED, A.RATE, RESIDENT, "工单 #12 还未办结，暂不能评价。"),
        (S.CLOSED, A.RATE, RESIDENT, "工单 #12 已结单，不能再评价。"),
        (S.RESOLVED, A.WITHDRAW, RESIDENT, "工单 #12 已办结，不能再撤销。"),
        (S.WITHDRAWN, A.SUPPLEMENT, RESIDENT, "工单 #12 已被撤销，不能再补充。"),
        (S.CREATED, A.ACCEPT, WORKER, "工单 #12 还未派单，不能接单。"),
        (S.RETURNED, A.ACCEPT, ADMIN, "工单 #12 已退回综治中心，正在等待重新派单，不能接单。"),
    ],
)
def test_illegal_transition_reasons(
    status: Status, action: Action, actor: Actor, reason: str
) -> None:
    d = decide(ticket(status), action, actor, note="x", rating="satisfied")
    assert (d.allowed, d.reason) == (False, reason)


def test_merged_reason_names_the_original() -> None:
    d = decide(ticket(S.MERGED, duplicate_of=7), A.SUPPLEMENT, RESIDENT, note="x")
    assert d.reason == "工单 #12 已合并到工单 #7，不能再补充。"


def test_permission_is_checked_before_status() -> None:
    d = decide(ticket(S.CLOSED), A.ACCEPT, STRANGER)
    assert d.reason == texts.out_of_scope(12, A.ACCEPT)
    d = decide(ticket(S.CLOSED), A.VIEW, OTHER_RESIDENT)
    assert d.reason == "工单 #12 不是您提交的，无法查看。"


# --- each action's effects ---------------------------------------------------------------------


def test_dispatch_by_the_bot() -> None:
    d = decide(ticket(S.CREATED, assignee_id=None), A.DISPATCH, SYSTEM, assignee_id=21)
    assert d.to_status is S.DISPATCHED
    assert dict(d.changes) == {"assignee_id": 21, "level": Level.WORKER}
    assert d.stamps == ("dispatched_at",)
    assert d.clock is Stage.ACCEPT
    assert d.event is not None and d.event.actor_id is None
    assert dict(d.event.data) == {"assignee_id": 21, "level": "worker"}


def test_redispatch_returned_by_centre_to_another_grid() -> None:
    t = ticket(S.RETURNED, assignee_id=None, level="center")
    d = decide(
        t, A.DISPATCH, CENTER, assignee_id=24, level="worker", grid_code="g2", source_message_id=9
    )
    assert d.allowed
    assert d.changes["grid_code"] == "g2" and d.changes["level"] is Level.WORKER
    assert d.event is not None and d.event.source_message_id == 9
    assert not decide(t, A.DISPATCH, WORKER).allowed  # workers do not dispatch


def test_accept() -> None:
    d = decide(ticket(), A.ACCEPT, WORKER, source_message_id=5)
    assert d.to_status is S.ACCEPTED
    assert dict(d.changes) == {"assignee_id": 21}
    assert (d.stamps, d.clock) == (("accepted_at",), Stage.RESOLVE)
    assert d.event is not None and d.event.source_message_id == 5
    # unassigned: any handler of the grid claims it
    d = decide(ticket(assignee_id=None), A.ACCEPT, MICRO)
    assert dict(d.changes) == {"assignee_id": 11}
    # assigned to a colleague: a peer may not take it, the leader may (and the level rises)
    assert decide(ticket(), A.ACCEPT, PEER).reason == texts.assigned_to_other(12)
    d = decide(ticket(), A.ACCEPT, LEADER)
    assert dict(d.changes) == {"assignee_id": 31, "level": Level.LEADER}


def test_progress_and_supplement_keep_the_status() -> None:
    d = decide(ticket(S.ACCEPTED), A.PROGRESS, WORKER, note=" 已联系物业 ")
    assert (d.allowed, d.to_status, dict(d.changes), d.stamps, d.clock) == (
        True,
        S.ACCEPTED,
        {},
        (),
        None,
    )
    assert d.event is not None and d.event.note == "已联系物业"
    assert decide(ticket(S.ACCEPTED), A.PROGRESS, WORKER).reason == (
        "请写明进度内容，例如：进度 12 已联系物业。"
    )
    assert decide(ticket(S.ACCEPTED), A.PROGRESS, PEER).reason == texts.assigned_to_other(12)
    d = decide(ticket(S.RESOLVED), A.SUPPLEMENT, RESIDENT, note="漏水在二楼")
    assert d.allowed and d.to_status is S.RESOLVED
    assert not decide(ticket(S.RESOLVED), A.SUPPLEMENT, RESIDENT).allowed


def test_resolve_records_the_level() -> None:
    d = decide(ticket(S.ACCEPTED), A.RESOLVE, WORKER, note="已疏通")
    assert dict(d.changes) == {"resolved_level": Level.WORKER}
    assert (d.stamps, d.clock) == (("resolved_at",), Stage.RATING)
    d = decide(ticket(S.ACCEPTED, level="leader", assignee_id=31), A.RESOLVE, LEADER, note="好")
    assert d.changes["resolved_level"] is Level.LEADER
    d = decide(ticket(S.ACCEPTED), A.RESOLVE, LEADER, note="网格长亲自处理")
    assert d.changes["resolved_level"] is Level.LEADER
    assert decide(ticket(S.ACCEPTED), A.RESOLVE, WORKER).reason == (
        "请写明办结说明，例如：办结 12 已疏通。"
    )


@pytest.mark.parametrize("rating", ["satisfied", Rating.AVERAGE])
def test_rate_satisfied_or_average_closes(rating: str) -> None:
    d = decide(ticket(S.RESOLVED), A.RATE, RESIDENT, rating=rating, note="很快")
    assert d.to_status is S.CLOSED
    assert dict(d.changes) == {"rating": Rating(rating), "rating_comment": "很快"}
    assert d.stamps == ("closed_at",) and d.clock is None


def test_rate_unsatisfied_reopens_and_escalates() -> None:
    d = decide(ticket(S.RESOLVED), A.RATE, RESIDENT, rating="unsatisfied", assignee_id=31)
    assert d.to_status is S.DISPATCHED
    assert d.changes["level"] is Level.LEADER
    assert d.changes["assignee_id"] == 31
    assert d.changes["rating"] is Rating.UNSATISFIED
    assert d.changes["resolved_level"] is None and d.changes["resolved_at"] is None
    assert (d.stamps, d.clock) == (("dispatched_at",), Stage.ACCEPT)
    assert d.event is not None
    assert d.event.data["reopened"] is True and d.event.data["escalated"] is True
    assert d.event.data["from_level"] == "worker"
    top = decide(ticket(S.RESOLVED, level="county"), A.RATE, RESIDENT, rating="unsatisfied")
    assert top.changes["level"] is Level.COUNTY
    assert top.event is not None and top.event.data["escalated"] is False


@pytest.mark.parametrize("rating", [None, "4", "unrated", "满意"])
def test_rate_needs_a_valid_rating(rating: str | None) -> None:
    d = decide(ticket(S.RESOLVED), A.RATE, RESIDENT, rating=rating)
    assert d.reason == "请回复 1 满意 / 2 一般 / 3 不满意。"


def test_close_unrated() -> None:
    d = decide(ticket(S.RESOLVED), A.CLOSE_UNRATED, SYSTEM)
    assert d.to_status is S.CLOSED
    assert dict(d.changes) == {"rating": Rating.UNRATED}
    assert not decide(ticket(S.RESOLVED), A.CLOSE_UNRATED, WORKER).allowed


def test_reopen() -> None:
    d = decide(ticket(S.CLOSED), A.REOPEN, LEADER, note="居民再次反映")
    assert d.to_status is S.DISPATCHED
    assert d.changes["assignee_id"] == 21 and d.changes["level"] is Level.WORKER
    assert d.changes["rating"] is None and d.changes["closed_at"] is None
    assert decide(ticket(S.CLOSED), A.REOPEN, LEADER).reason == "请写明重新打开工单 #12的原因。"
    assert not decide(ticket(S.CLOSED), A.REOPEN, WORKER).allowed


def test_escalate() -> None:
    d = decide(ticket(S.ACCEPTED), A.ESCALATE, WORKER, note="涉及多个部门", assignee_id=31)
    assert d.to_status is S.DISPATCHED
    assert dict(d.changes) == {"level": Level.LEADER, "assignee_id": 31, "accepted_at": None}
    assert d.clock is Stage.ACCEPT
    assert d.event is not None and d.event.data["from_level"] == "worker"
    assert decide(ticket(S.ACCEPTED), A.ESCALATE, WORKER).reason == (
        "请写明上报原因，例如：上报 12 涉及多个部门。"
    )
    # the bot escalates an overdue stage without a note; its data goes into the event
    d = decide(ticket(), A.ESCALATE, SYSTEM, data={"stage": "accept", "overdue": True})
    assert d.event is not None and d.event.data["overdue"] is True
    assert d.changes["level"] is Level.LEADER and d.changes["assignee_id"] is None
    # explicit level (a skipped empty rung), never down or sideways, nothing above county
    d = decide(ticket(), A.ESCALATE, SYSTEM, level="center")
    assert d.changes["level"] is Level.CENTER
    assert decide(ticket(), A.ESCALATE, SYSTEM, level="worker").reason == (
        "工单 #12 目前由网格员处理，上报只能交给更高一级，不能交给网格员。"
    )
    assert decide(ticket(level="county"), A.ESCALATE, SYSTEM).reason == (
        "工单 #12 已在县级处理，无法继续上报。"
    )
    assert not decide(ticket(), A.ESCALATE, STRANGER, note="x").allowed


def test_transfer() -> None:
    d = decide(ticket(S.ACCEPTED), A.TRANSFER, WORKER, to=PEER)
    assert d.to_status is S.DISPATCHED
    assert dict(d.changes) == {"assignee_id": 22, "accepted_at": None, "level": Level.WORKER}
    assert (
        decide(ticket(), A.TRANSFER, WORKER).reason
        == "请指明把工单 #12转派给谁，例如：转派 12 张三。"
    )
    assert (
        decide(ticket(), A.TRANSFER, LEADER, to=WORKER).reason
        == "工单 #12 已由此人处理，无需转派。"
    )
    assert decide(ticket(), A.TRANSFER, WORKER, to=STRANGER).reason == (
        texts.transfer_target_out_of_scope(12)
    )
    assert not decide(ticket(), A.TRANSFER, WORKER, to=RESIDENT).allowed
    assert not decide(ticket(), A.TRANSFER, PEER, to=MICRO).allowed  # not PEER's ticket
    d = decide(ticket(), A.TRANSFER, LEADER, to=MICRO)
    assert d.changes["level"] is Level.MICRO
    # the centre can hand a ticket to a department, routing it there
    dept = Actor(61, "department", department="civil")
    assert not decide(ticket(), A.TRANSFER, CENTER, to=dept).allowed
    d = decide(ticket(), A.TRANSFER, CENTER, to=dept, department="civil")
    assert d.changes["department"] == "civil" and d.changes["level"] is Level.WORKER


def test_return_goes_back_to_the_centre() -> None:
    d = decide(ticket(S.ACCEPTED), A.RETURN, WORKER, note="不属于本网格")
    assert d.to_status is S.RETURNED
    assert dict(d.changes) == {"assignee_id": None, "level": Level.CENTER, "accepted_at": None}
    assert d.clock is Stage.DISPATCH
    assert (
        decide(ticket(), A.RETURN, WORKER).reason == "请写明退回原因，例如：退回 12 不属于本网格。"
    )


def test_withdraw() -> None:
    d = decide(ticket(S.ACCEPTED), A.WITHDRAW, RESIDENT)
    assert (d.to_status, d.stamps) == (S.WITHDRAWN, ("closed_at",))
    assert (
        decide(ticket(), A.WITHDRAW, OTHER_RESIDENT).reason == "工单 #12 不是您提交的，无法撤销。"
    )
    assert decide(ticket(), A.WITHDRAW, CENTER, note="居民电话撤销").allowed
    assert not decide(ticket(), A.WITHDRAW, WORKER).allowed


def test_merge() -> None:
    d = decide(ticket(S.CREATED), A.MERGE, SYSTEM, duplicate_of=7)
    assert (d.to_status, dict(d.changes)) == (S.MERGED, {"duplicate_of_id": 7})
    assert decide(ticket(), A.MERGE, SYSTEM).reason == "请指明工单 #12与哪张工单重复。"
    assert decide(ticket(), A.MERGE, SYSTEM, duplicate_of=12).reason == "工单 #12 不能合并到自身。"


def apply(t: TicketView, d: Decision) -> TicketView:
    """What the store would do with a decision (the fields TicketView has)."""
    assert d.allowed, d.reason
    fields: dict[str, Any] = {"status": d.to_status}
    for key in ("assignee_id", "level", "department"):
        if key in d.changes:
            fields[key] = d.changes[key]
    return replace(t, **fields)


def test_whole_lifecycle_with_unsatisfied_round() -> None:
    t = ticket(S.CREATED, assignee_id=None)
    t = apply(t, decide(t, A.DISPATCH, SYSTEM, assignee_id=21))
    t = apply(t, decide(t, A.ACCEPT, WORKER))
    t = apply(t, decide(t, A.PROGRESS, WORKER, note="已联系物业，明天上午疏通"))
    t = apply(t, decide(t, A.RESOLVE, WORKER, note="已疏通"))
    assert t.status is S.RESOLVED
    t = apply(t, decide(t, A.RATE, RESIDENT, rating="unsatisfied", assignee_id=31))
    assert (t.status, t.level, t.assignee_id) == (S.DISPATCHED, Level.LEADER, 31)
    assert not decide(t, A.ACCEPT, WORKER).allowed  # the worker no longer has it
    t = apply(t, decide(t, A.ACCEPT, LEADER))
    d = decide(t, A.RESOLVE, LEADER, note="已协调物业彻底维修")
    assert d.changes["resolved_level"] is Level.LEADER
    t = apply(t, d)
    t = apply(t, decide(t, A.RATE, RESIDENT, rating="satisfied"))
    assert t.status is S.CLOSED
