"""Notices in the console (``/console/notices``): the list, a new notice with a preview of its
audience and reminder plan, its delivery status, and cancelling it.

Everything goes through ``notify.notice_service`` as chat and the JSON API do. The preview
stores the notice in a savepoint that is rolled back: what it shows is exactly the plan the
notice would get, and nothing is kept or sent.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from cases.notice_policy import NoticeRuleError, may_broadcast, parse_offsets
from notify.notice_service import (
    NoticeDraft,
    NoticeNotFound,
    Plan,
    cancel_notice,
    create_notice,
    describe,
    list_notices,
    notice_status,
)
from notify.tickets import format_time
from notify.wording import notices as N
from store.clock import utcnow
from store.ids import fits_id
from web.app_runtime import current_runtime
from web.console import wording as W
from web.console.auth import signed_in, viewer
from web.console.blueprint import bp
from web.console.pages import grid_choices

log = logging.getLogger(__name__)
ROLE_CHOICES = ("leader", "worker", "micro", "resident")


def _draft(form: Any, tz: Any) -> NoticeDraft:
    kind = form.get("kind", "now")
    deadline = None
    if form.get("deadline"):
        try:
            deadline = date.fromisoformat(form["deadline"])
        except ValueError as exc:
            raise NoticeRuleError("bad_date", text=form["deadline"]) from exc
    run_at = None
    if kind == "once":
        try:
            run_at = datetime.fromisoformat(form.get("run_at", "")).replace(tzinfo=tz)
        except ValueError as exc:
            raise NoticeRuleError("bad_time", text=form.get("run_at", "")) from exc
    cron = None
    if kind == "cron":
        from cases.notice_policy import phrase_to_cron

        cron = phrase_to_cron(form.get("cron", "").strip())
    return NoticeDraft(
        title=form.get("title", "").strip(), body=form.get("body", "").strip(),
        audience={"grids": form.getlist("grids"), "roles": form.getlist("roles")},
        kind=kind, run_at=run_at, cron=cron, schedule_text=form.get("cron", "").strip(),
        deadline=deadline,
        reminders=parse_offsets(form.get("reminders", "")) if deadline else (),
        urgent=form.get("urgent") == "1",
    )


def plan_lines(plan: Plan) -> list[str]:
    """The plan in words: audience, send time, next runs, reminders."""
    tz = current_runtime().services.calendar.tz
    roles = "、".join(N.ROLE_NAMES.get(r, r) for r in plan.roles) or W.NO_DATA
    lines = [W.PLAN_GROUPS.format(groups=plan.groups, members=plan.members, roles=roles)]
    if plan.send_at is not None:
        lines.append(W.PLAN_SEND_AT.format(when=format_time(plan.send_at, tz))
                     + (W.PLAN_DEFERRED if plan.deferred else ""))
    if plan.next_slots:
        lines.append(W.PLAN_NEXT.format(slots="、".join(format_time(s, tz)
                                                         for s in plan.next_slots)))
    if plan.reminders:
        lines.append(W.PLAN_REMINDERS)
        lines.extend(W.PLAN_REMINDER.format(offset=r.offset, when=format_time(r.at, tz))
                     for r in plan.reminders)
    if plan.provisional_years:
        lines.append(W.PLAN_PROVISIONAL.format(
            years="、".join(str(y) for y in plan.provisional_years)))
    return lines


def _page(form: Any = None, preview: list[str] | None = None, error: str | None = None,
          status: int = 200) -> Any:
    rt = current_runtime()
    notices = list_notices(g.db, include_finished=True)
    return render_template(
        "console/notices.html", notices=notices, form=form, preview=preview, error=error,
        can_broadcast=may_broadcast(viewer().role), grids=grid_choices(rt.services.roster.get(g.db)),
        roles=[(r, N.ROLE_NAMES[r]) for r in ROLE_CHOICES],
        when=lambda t: format_time(t, rt.services.calendar.tz)), status


@bp.get("/notices")
@signed_in
def notices() -> Any:
    return _page()


@bp.post("/notices")
@signed_in
def notice_create() -> Any:
    if not may_broadcast(viewer().role):
        abort(403)
    rt = current_runtime()
    db = g.db
    me = viewer().person
    form = request.form
    now = utcnow()
    try:
        draft = _draft(form, rt.services.calendar.tz)
        if form.get("step") != "create":
            with db.begin_nested() as preview:
                _, plan = create_notice(db, rt.services, draft, author=f"console:{me.userid}",
                                        source="api", now=now)
                preview.rollback()
            return _page(form, plan_lines(plan))
        notice, _plan = create_notice(db, rt.services, draft, author=f"console:{me.userid}",
                                      source="api", now=now)
        db.commit()
        log.info("console: %s created notice %s", me.userid, notice.id)
    except NoticeRuleError as error:
        db.rollback()
        return _page(form, error=N.error_text(error.code, error.detail), status=400)
    rt.wake_delivery.set()
    flash(W.CREATED.format(id=notice.id), "ok")
    return redirect(url_for("console.notice", notice_id=notice.id))


@bp.get("/notices/<int:notice_id>")
@signed_in
def notice(notice_id: int) -> Any:
    if not fits_id(notice_id):
        abort(404)
    rt = current_runtime()
    try:
        status = notice_status(g.db, notice_id)
    except NoticeNotFound:
        abort(404)
    plan = (plan_lines(describe(g.db, rt.services, status.notice, utcnow()))
            if status.notice.status == "active" else [])
    return render_template("console/notice.html", s=status, plan=plan,
                           can_broadcast=may_broadcast(viewer().role),
                           when=lambda t: format_time(t, rt.services.calendar.tz))


@bp.post("/notices/<int:notice_id>/cancel")
@signed_in
def notice_cancel(notice_id: int) -> Any:
    if not may_broadcast(viewer().role):
        abort(403)
    if not fits_id(notice_id):
        abort(404)
    try:
        withdrawn = cancel_notice(g.db, notice_id)
    except NoticeNotFound:
        abort(404)
    g.db.commit()
    log.info("console: %s cancelled notice %s", viewer().person.userid, notice_id)
    flash(W.CANCELLED.format(id=notice_id, pending=withdrawn), "ok")
    return redirect(url_for("console.notice", notice_id=notice_id))
