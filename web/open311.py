"""Open311 GeoReport v2 at ``/open311/v2/``: civic apps that speak Open311 work unchanged.

    GET  /open311/v2/services.json              the categories (service_code = category code)
    GET  /open311/v2/requests.json              tickets (api_key with tickets:read)
    POST /open311/v2/requests.json              a new request (api_key with tickets:write)
    GET  /open311/v2/requests/<id>.json         one ticket

GridBot's statuses map onto ``open`` (created, dispatched, accepted, returned) and ``closed``
(resolved, closed, withdrawn, merged), with the Chinese status and latest note in
``status_notes``. ``api_key`` is a token of ``bot.py api-token add`` (a Bearer header works
too); ``jurisdiction_id``, when given, must be the township's (or the county's) grid code.
A POST opens the ticket as an order of the token's source (else ``open311``) through the same
intake as the JSON API; an ``Idempotency-Key`` header makes repeats find the first request.
Contact fields (first_name, last_name, email, phone) are kept private. Errors are Open311's
``[{"code", "description"}]`` with the HTTP status, described in Chinese.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from cases.model import OPEN_STATUSES, Status
from nlp import mask_pii
from notify.external_orders import Order, OrderError, receive_order
from notify.ticket_json import iso, status_label
from notify.tickets import format_deadline
from services.container import Services
from store.clock import utcnow
from store.db import transaction
from store.ids import fits_id
from store.models import Ticket, TicketEvent
from vocab import ApiScope
from web import api_texts
from web.api_auth import ApiRefusal, Caller, admit, bearer_token, write_turn
from web.app_runtime import AppRuntime, current_runtime
from web.tickets_api import EAGER, updated_column

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code",
          "description", "agency_responsible", "service_notice", "requested_datetime",
          "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
          "long", "media_url")


def errors(status: int, description: str) -> tuple[Response, int]:
    """Open311's error list."""
    return jsonify([{"code": status, "description": description}]), status


def _jurisdiction(rt: AppRuntime) -> tuple[str, ...]:
    codes = [rt.settings.center_grid]
    if rt.settings.grids:
        codes.append(rt.settings.grids[0].code)  # the root (a county, or the township itself)
    return tuple(dict.fromkeys(c for c in codes if c))


@bp.before_request
def _check_jurisdiction() -> tuple[Response, int] | None:
    value = _param("jurisdiction_id")
    if value:
        expected = _jurisdiction(current_runtime())
        if value not in expected:
            return errors(404, api_texts.OPEN311_JURISDICTION.format(value=value,
                                                                    expected=expected[0]))
    return None


def _param(name: str) -> str:
    if request.method == "POST":
        value = request.form.get(name)
        if value is None and request.is_json:
            data = request.get_json(silent=True)
            value = data.get(name) if isinstance(data, dict) else None
        if value is not None:
            return str(value).strip()
    return str(request.args.get(name) or "").strip()


def _admit(scope: ApiScope) -> Caller | tuple[Response, int]:
    token = _param("api_key") or bearer_token()
    verdict = admit(current_runtime(), token, scope)
    if isinstance(verdict, ApiRefusal):
        reason = api_texts.OPEN311_NO_KEY if verdict.status == 401 else verdict.reason
        response, status = errors(verdict.status, reason)
        response.headers.update(verdict.headers)
        return response, status
    return verdict


# -- services ---------------------------------------------------------------------------------


@bp.get("/services.json")
def services() -> Response:
    classifier = current_runtime().services.classifier
    return jsonify([
        {"service_code": c.code, "service_name": c.name,
         "description": f"{c.name}（{'、'.join(list(c.keywords)[:6])}）" if c.keywords else c.name,
         "metadata": False, "type": "realtime", "keywords": ",".join(list(c.keywords)[:10]),
         "group": c.department or ""}
        for c in classifier.rules.categories
    ])


# -- requests ---------------------------------------------------------------------------------


def open311_status(status: str) -> str:
    return "open" if Status(status) in OPEN_STATUSES else "closed"


def _expected(ticket: Ticket) -> datetime | None:
    status = Status(ticket.status)
    if status is Status.ACCEPTED:
        return ticket.resolve_due
    if status is Status.DISPATCHED:
        return ticket.resolve_due or ticket.accept_due
    if status in (Status.CREATED, Status.RETURNED):
        return ticket.dispatch_due
    return None


def request_json(services: Services, ticket: Ticket, updated: datetime | None,
                 last_note: str) -> dict[str, Any]:
    """One ticket as a GeoReport v2 service request."""
    tz = services.calendar.tz
    order = (ticket.classification or {}).get("order") or {}
    notes = status_label(ticket.status) + (f"：{last_note}" if last_note else "")
    agency = services.settings.township + (f"（{ticket.grid.name}）" if ticket.grid else "")
    if ticket.department:
        agency += f" {ticket.department}"
    return {
        "service_request_id": str(ticket.id),
        "status": open311_status(ticket.status),
        "status_notes": notes,
        "service_name": services.classifier.category_name(ticket.category),
        "service_code": ticket.category,
        "description": mask_pii(ticket.text),
        "agency_responsible": agency,
        "service_notice": _notice(services, ticket),
        "requested_datetime": iso(ticket.created_at, tz),
        "updated_datetime": iso(updated or ticket.created_at, tz),
        "expected_datetime": iso(_expected(ticket), tz),
        "address": ticket.location or "",
        "address_id": order.get("address_id") or "",
        "zipcode": order.get("zipcode") or "",
        "lat": order.get("lat"),
        "long": order.get("long"),
        "media_url": order.get("media_url") or "",
    }


def _notice(services: Services, ticket: Ticket) -> str:
    if ticket.grid is None or ticket.accept_due is None:
        return api_texts.OPEN311_NOTICE_TRIAGE.format(township=services.settings.township)
    return api_texts.OPEN311_NOTICE.format(
        grid=ticket.grid.name, due=format_deadline(ticket, ticket.accept_due, services.calendar))


def _last_notes(session: Any, ids: list[int]) -> dict[int, str]:
    notes: dict[int, str] = {}
    if not ids:
        return notes
    for ticket_id, note in session.execute(
        select(TicketEvent.ticket_id, TicketEvent.note)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.action != "create",
               TicketEvent.note != "")
        .order_by(TicketEvent.id)
    ):
        notes[ticket_id] = mask_pii(note)[:200]
    return notes


def _date(name: str) -> datetime | None | tuple[Response, int]:
    raw = _param(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return errors(400, api_texts.OPEN311_BAD.format(name=name, value=raw))
    return value if value.tzinfo else value.replace(tzinfo=current_runtime().services.calendar.tz)


@bp.get("/requests.json")
def list_requests() -> tuple[Response, int]:
    caller = _admit(ApiScope.TICKETS_READ)
    if not isinstance(caller, Caller):
        return caller
    rt = current_runtime()
    where: list[Any] = []
    if caller.source is not None:
        where.append(Ticket.source == caller.source)
    ids = _param("service_request_id")
    if ids:
        wanted = [int(i) for i in ids.split(",") if i.strip().isdigit() and fits_id(int(i))]
        where.append(Ticket.id.in_(wanted))
    else:
        start, end = _date("start_date"), _date("end_date")
        for bound in (start, end):
            if isinstance(bound, tuple):
                return bound
        if start is None:
            start = (end if isinstance(end, datetime) else utcnow()) - timedelta(days=DEFAULT_DAYS)
        where.append(Ticket.created_at >= start)
        if isinstance(end, datetime):
            where.append(Ticket.created_at <= end)
        status = _param("status")
        if status:
            if status not in ("open", "closed"):
                return errors(400, api_texts.OPEN311_BAD.format(name="status", value=status))
            opened = [s.value for s in OPEN_STATUSES]
            where.append(Ticket.status.in_(opened) if status == "open"
                         else Ticket.status.not_in(opened))
        code = _param("service_code")
        if code:
            where.append(Ticket.category.in_([c for c in code.split(",") if c]))
    with transaction(rt.session_factory) as session:
        rows = session.execute(select(Ticket, updated_column()).where(*where).options(*EAGER)
                               .order_by(Ticket.id.desc()).limit(MAX_REQUESTS)).all()
        notes = _last_notes(session, [t.id for t, _ in rows])
        return jsonify([request_json(rt.services, t, u, notes.get(t.id, ""))
                        for t, u in rows]), 200


@bp.get("/requests/<service_request_id>.json")
def show_request(service_request_id: str) -> tuple[Response, int]:
    caller = _admit(ApiScope.TICKETS_READ)
    if not isinstance(caller, Caller):
        return caller
    rt = current_runtime()
    raw = service_request_id
    number = int(raw) if raw.isdigit() and fits_id(int(raw)) else None
    with transaction(rt.session_factory) as session:
        row = session.execute(select(Ticket, updated_column()).where(Ticket.id == number)
                              ).first() if number is not None else None
        if row is None or not caller.may_act_on(row[0].source):
            return errors(404, api_texts.OPEN311_NOT_FOUND.format(id=service_request_id[:20]))
        ticket, updated = row
        notes = _last_notes(session, [ticket.id])
        return jsonify([request_json(rt.services, ticket, updated, notes.get(ticket.id, ""))]), 200


def _float(name: str, low: float, high: float) -> float | None | tuple[Response, int]:
    raw = _param(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        return errors(400, api_texts.OPEN311_BAD.format(name=name, value=raw[:40]))
    return value


@bp.post("/requests.json")
def create_request() -> tuple[Response, int]:
    caller = _admit(ApiScope.TICKETS_WRITE)
    if not isinstance(caller, Caller):
        return caller
    rt = current_runtime()
    code = _param("service_code")
    if not code:
        return errors(400, api_texts.OPEN311_MISSING.format(name="service_code"))
    if rt.services.classifier.rules.category(code) is None:
        return errors(400, api_texts.OPEN311_SERVICE.format(value=code[:40]))
    lat, long = _float("lat", -90, 90), _float("long", -180, 180)
    for value in (lat, long):
        if isinstance(value, tuple):
            return value
    address, address_id = _param("address_string")[:128], _param("address_id")[:64]
    if (lat is None or long is None) and not address and not address_id:
        return errors(400, api_texts.OPEN311_LOCATION)
    description = _param("description")[:2000]
    if not description:
        return errors(400, api_texts.OPEN311_MISSING.format(name="description"))
    if "\x00" in description + address + address_id:
        return errors(400, api_texts.ORDER_ERRORS["nul_character"])
    name = (_param("last_name") + _param("first_name"))[:64]
    contact = {k: v for k, v in (("name", name), ("phone", _param("phone")[:32]),
                                 ("email", _param("email")[:128])) if v}
    extra = {k: v for k, v in (("lat", lat), ("long", long), ("address_id", address_id),
                               ("media_url", _param("media_url")[:500]),
                               ("device_id", _param("device_id")[:64])) if v not in (None, "")}
    key = (request.headers.get("Idempotency-Key") or "").strip()[:100]
    order = Order(source=caller.source or "open311",
                  external_id=key or f"o311-{uuid.uuid4().hex}", text=description,
                  category=code, address=address or None, contact=contact, extra=extra)
    try:
        with write_turn(), transaction(rt.session_factory) as session:
            received = receive_order(session, rt.services, order, utcnow())
            ticket = received.ticket
            answer = [{"service_request_id": str(ticket.id),
                       "service_notice": _notice(rt.services, ticket), "account_id": None}]
    except OrderError as exc:
        return errors(400, api_texts.ORDER_ERRORS[exc.code].format(**exc.detail))
    if received.created:
        rt.wake_delivery.set()
    return jsonify(answer), 201 if received.created else 200
