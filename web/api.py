"""JSON API for the township's other systems, under ``/api/v1``, with bearer-token auth.

    POST   /api/v1/notices            create (201 with the notice and its plan)
    GET    /api/v1/notices            list (``?all=1`` includes finished and cancelled ones)
    GET    /api/v1/notices/<id>       the notice with delivery status (targets/delivered/…)
    POST   /api/v1/notices/<id>/cancel  (or DELETE /api/v1/notices/<id>) cancel

Every request needs ``Authorization: Bearer <token>``: a client's token with the
``notices:write`` scope (``bot.py api-token add``), or a legacy token from ``api.tokens`` /
``GRIDBOT_API_TOKENS`` (401 otherwise, 403 without the scope, 429 over the token's rate limit). Every error
answers JSON ``{"error": code, "reason": "<Chinese reason>"}`` — bad input (400), no token (401),
an unknown notice or path (404), a wrong method (405), a body over 64 KiB (413) and an internal
error (500) alike.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from cases.notice_policy import NoticeRuleError, parse_offsets
from notify.notice_service import (
    NoticeDraft,
    NoticeNotFound,
    cancel_notice,
    create_notice,
    describe,
    list_notices,
    notice_dict,
    notice_status,
)
from notify.wording import notices as T
from store.clock import utcnow
from store.db import transaction
from store.ids import fits_id, shown
from vocab import ApiScope
from web import api_texts
from web.api_auth import ApiRefusal, admit, bearer_token
from web.app_runtime import current_runtime

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def _error(status: int, code: str, reason: str) -> tuple[Response, int]:
    return jsonify({"error": code, "reason": reason}), status


@bp.app_errorhandler(HTTPException)
def _http_error(error: HTTPException) -> HTTPException | tuple[Response, int]:
    """Under ``/api/``, any HTTP error (routing's 404 and 405 too) as JSON; elsewhere unchanged."""
    open311 = request.path.startswith("/open311/")
    if not open311 and not request.path.startswith(f"{bp.url_prefix}/") \
            and request.path != bp.url_prefix:
        return error
    status = error.code or 500
    code, reason = api_texts.HTTP_ERRORS.get(status, api_texts.OTHER_ERROR)
    if open311:  # GeoReport v2's error list
        if status == 404 and not request.path.endswith(".json"):
            reason = api_texts.OPEN311_FORMAT
        response = jsonify([{"code": status, "description": reason.format(status=status)}])
        response.status_code = status
        return response, status
    response, status = _error(status, code, reason.format(status=status))
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def refusal_response(refusal: ApiRefusal) -> tuple[Response, int]:
    """An :class:`ApiRefusal` as the JSON API's error."""
    response, status = _error(refusal.status, refusal.code, refusal.reason)
    response.headers.update(refusal.headers)
    return response, status


@bp.before_request
def _authenticate() -> tuple[Response, int] | None:
    verdict = admit(current_runtime(), bearer_token(), ApiScope.NOTICES_WRITE)
    return refusal_response(verdict) if isinstance(verdict, ApiRefusal) else None


def _author() -> str:
    name = str(request.headers.get("X-GridBot-Author") or "").strip()[:50]
    return f"api:{name}" if name else "api"


def _parse_time(value: Any, tz: Any) -> datetime:
    if not isinstance(value, str):
        raise NoticeRuleError("bad_time", text=value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise NoticeRuleError("bad_time", text=value) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def draft_from_json(data: Any, tz: Any) -> NoticeDraft:
    """The request body as a draft (raises NoticeRuleError with the reason)."""
    if not isinstance(data, dict):
        raise NoticeRuleError("bad_json")
    schedule = data.get("schedule") or {"kind": "now"}
    if not isinstance(schedule, dict):
        raise NoticeRuleError("bad_kind")
    kind = str(schedule.get("kind") or "now")
    deadline = None
    if data.get("deadline"):
        try:
            deadline = date.fromisoformat(str(data["deadline"]))
        except ValueError as exc:
            raise NoticeRuleError("bad_date", text=data["deadline"]) from exc
    if deadline is not None and kind == "now" and "schedule" not in data:
        kind = "none"
    audience = data.get("audience")
    if audience is not None and not isinstance(audience, dict):
        raise NoticeRuleError("audience_field", field="audience")
    reminders = data.get("reminders")
    return NoticeDraft(
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        audience=audience or {},
        kind=kind,
        run_at=_parse_time(schedule.get("at"), tz) if kind == "once" else None,
        cron=str(schedule.get("cron") or "") or None if kind == "cron" else None,
        schedule_text=str(schedule.get("text") or schedule.get("cron") or ""),
        deadline=deadline,
        reminders=parse_offsets(reminders) if deadline is not None else (),
        urgent=bool(data.get("urgent", False)),
    )


@bp.post("/notices")
def create() -> tuple[Response, int]:
    rt = current_runtime()
    data = request.get_json(silent=True)
    try:
        draft = draft_from_json(data, rt.services.calendar.tz)
        with transaction(rt.session_factory) as session:
            notice, plan = create_notice(session, rt.services, draft, author=_author(),
                                         source="api", now=utcnow())
            body = {"notice": notice_dict(notice), "plan": plan.as_dict()}
    except NoticeRuleError as error:
        return _error(400, error.code, T.error_text(error.code, error.detail))
    rt.wake_delivery.set()
    return jsonify(body), 201


@bp.get("/notices")
def index() -> Response:
    rt = current_runtime()
    with transaction(rt.session_factory) as session:
        notices = list_notices(session, include_finished=request.args.get("all") == "1")
        return jsonify({"notices": [notice_dict(n) for n in notices]})


def _not_found(notice_id: int) -> tuple[Response, int]:
    return _error(404, "not_found", T.NOT_FOUND.format(id=shown(str(notice_id))))


@bp.get("/notices/<int:notice_id>")
def show(notice_id: int) -> tuple[Response, int]:
    if not fits_id(notice_id):  # no notice has it; PostgreSQL would refuse the parameter
        return _not_found(notice_id)
    rt = current_runtime()
    with transaction(rt.session_factory) as session:
        try:
            status = notice_status(session, notice_id)
        except NoticeNotFound:
            return _not_found(notice_id)
        body = status.as_dict()
        if status.notice.status == "active":
            body["plan"] = describe(session, rt.services, status.notice, utcnow()).as_dict()
        return jsonify(body), 200


@bp.route("/notices/<int:notice_id>/cancel", methods=["POST"])
@bp.route("/notices/<int:notice_id>", methods=["DELETE"])
def cancel(notice_id: int) -> tuple[Response, int]:
    if not fits_id(notice_id):
        return _not_found(notice_id)
    rt = current_runtime()
    with transaction(rt.session_factory) as session:
        try:
            withdrawn = cancel_notice(session, notice_id)
        except NoticeNotFound:
            return _not_found(notice_id)
        return jsonify({"id": notice_id, "status": "cancelled", "withdrawn": withdrawn}), 200
