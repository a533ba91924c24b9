"""The tickets API under ``/api/v1``: orders in from other systems, tickets out to them.

    POST /api/v1/tickets                 hand in an order (tickets:write): 201 opened, 200 repeat
    GET  /api/v1/tickets                 list (tickets:read): status, grid subtree, source,
                                         updated_since, limit + cursor
    GET  /api/v1/tickets/<id>            one ticket with its trail (tickets:read)
    POST /api/v1/tickets/<id>/events     the source system's 补充 / 撤销 / 评价 (tickets:write)

An order is idempotent by (source, external_id). A token bound to a source (``--source``)
hands in, reads and acts on that source's orders only. Errors are the API's JSON
``{"error", "reason"}`` with a Chinese reason (``web.api_texts``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cases import wording as core_texts
from cases.deadlines import SlaClock
from cases.model import Action
from cases.service import Workflow
from notify.external_orders import Order, OrderError, receive_order
from notify.messenger import Messenger
from notify.ticket_events import Announcer
from notify.ticket_json import event_json, ticket_json
from store.clock import utcnow
from store.db import transaction
from store.ids import fits_id
from store.models import Ticket, TicketEvent
from store.roster import grid_by_code
from store.serialise import serialise_on
from vocab import ApiScope, ExternalEvent, Rating, Status
from web import api_texts
from web.api import refusal_response
from web.api_auth import ApiRefusal, Caller, admit, bearer_token, current_caller, write_turn
from web.app_runtime import AppRuntime, current_runtime

bp = Blueprint("tickets_api", __name__, url_prefix="/api/v1")

MAX_PAGE = 100
CHAT_SOURCE = "chat"  # ?source=chat: residents' reports (no system may take the name)
#: what rendering a ticket reads, loaded with the page (not one query per ticket)
EAGER = (selectinload(Ticket.grid), selectinload(Ticket.assignee))
DEFAULT_PAGE = 50
EVENT_WORDS = {"补充": ExternalEvent.SUPPLEMENT, "supplement": ExternalEvent.SUPPLEMENT,
               "撤销": ExternalEvent.WITHDRAW, "withdraw": ExternalEvent.WITHDRAW,
               "评价": ExternalEvent.RATE, "rate": ExternalEvent.RATE}
RATING_WORDS = {"满意": Rating.SATISFIED, "satisfied": Rating.SATISFIED,
                "一般": Rating.AVERAGE, "average": Rating.AVERAGE,
                "不满意": Rating.UNSATISFIED, "unsatisfied": Rating.UNSATISFIED}
ACTIONS = {ExternalEvent.SUPPLEMENT: Action.SUPPLEMENT, ExternalEvent.WITHDRAW: Action.WITHDRAW,
           ExternalEvent.RATE: Action.RATE}


def error(status: int, code: str, reason: str) -> tuple[Response, int]:
    return jsonify({"error": code, "reason": reason}), status


def requires(scope: ApiScope) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let the request in only with a token carrying ``scope``, within its rate limit."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            verdict = admit(current_runtime(), bearer_token(), scope)
            if isinstance(verdict, ApiRefusal):
                return refusal_response(verdict)
            return view(*args, **kwargs)

        return guarded

    return decorate


# -- bodies ---------------------------------------------------------------------------------


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("nul_character")
    return value


class ContactBody(BaseModel):
    """The caller's contact (kept private: the handler's card only)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32)

    _clean = field_validator("name", "phone")(_no_nul)


class OrderBody(BaseModel):
    """``POST /api/v1/tickets``."""

    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    external_id: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=2000)
    category: str | None = Field(None, max_length=32)
    grid: str | None = Field(None, max_length=64)
    address: str | None = Field(None, max_length=128)
    contact: ContactBody | None = None
    urgent: bool | None = None

    _clean = field_validator("source", "external_id", "text", "category", "grid", "address")(
        _no_nul)


class EventBody(BaseModel):
    """``POST /api/v1/tickets/<id>/events``."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=16)
    text: str = Field("", max_length=2000)
    event_id: str | None = Field(None, min_length=1, max_length=128)  # the source's own id
    rating: str | None = Field(None, max_length=16)  # 评价: 满意 / 一般 / 不满意

    _clean = field_validator("type", "text", "event_id", "rating")(_no_nul)


def validation_reason(exc: ValidationError) -> tuple[str, str]:
    """(code, Chinese reason) of a body's first problem."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "body"
    if "nul_character" in str(first.get("msg", "")):
        return "bad_field", api_texts.ORDER_ERRORS["nul_character"]
    template = api_texts.FIELD_ERRORS.get(first.get("type", ""), api_texts.FIELD_ERROR)
    return "bad_field", template.format(field=field, **(first.get("ctx") or {}))


def parse(model: type[BaseModel]) -> BaseModel | tuple[Response, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(400, "bad_json", api_texts.NOT_JSON)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return error(400, *validation_reason(exc))


# -- reading --------------------------------------------------------------------------------


def updated_column() -> Any:
    """The time of a ticket's latest event (its last change)."""
    return (select(func.max(TicketEvent.created_at)).where(TicketEvent.ticket_id == Ticket.id)
            .correlate(Ticket).scalar_subquery())


def render(rt: AppRuntime, ticket: Ticket, updated: datetime | None) -> dict[str, Any]:
    return ticket_json(ticket, rt.services.calendar.tz, updated_at=updated,
                       category_name=rt.services.classifier.category_name(ticket.category))


def visible(caller: Caller, ticket: Ticket | None) -> bool:
    return ticket is not None and caller.may_act_on(ticket.source)


def load_visible(session: Session, caller: Caller, ticket_id: int) -> Ticket | None:
    ticket = session.get(Ticket, ticket_id) if fits_id(ticket_id) else None
    return ticket if ticket is not None and visible(caller, ticket) else None


def not_found(ticket_id: int) -> tuple[Response, int]:
    return error(404, "not_found", api_texts.TICKET_NOT_FOUND.format(id=ticket_id))


# -- endpoints ------------------------------------------------------------------------------


@bp.post("/tickets")
@requires(ApiScope.TICKETS_WRITE)
def create_ticket() -> tuple[Response, int]:
    rt = current_runtime()
    caller = current_caller()
    body = parse(OrderBody)
    if not isinstance(body, OrderBody):
        return body  # type: ignore[return-value]
    source = body.source or caller.source
    if source == CHAT_SOURCE:  # the list filter's word for residents' chat reports
        return error(400, "bad_field", api_texts.FIELD_ERRORS["string_pattern_mismatch"].format(
            field="source"))
    if not source:
        return error(400, "no_source", api_texts.ORDER_ERRORS["no_source"])
    if not caller.may_act_on(source):
        return error(403, "wrong_source",
                     api_texts.ORDER_ERRORS["wrong_source"].format(allowed=caller.source))
    order = Order(source=source, external_id=body.external_id, text=body.text,
                  category=body.category, grid_code=body.grid, address=body.address,
                  contact=body.contact.model_dump(exclude_none=True) if body.contact else {},
                  urgent=body.urgent)
    try:
        with write_turn(), transaction(rt.session_factory) as session:
            received = receive_order(session, rt.services, order, utcnow())
            session.flush()
            updated = session.scalar(select(updated_column()).where(Ticket.id ==
                                                                     received.ticket.id))
            answer = render(rt, received.ticket, updated)
    except OrderError as exc:
        return error(400, exc.code, api_texts.ORDER_ERRORS[exc.code].format(**exc.detail))
    if received.created:
        rt.wake_delivery.set()
    response = jsonify({"ticket": answer, "created": received.created})
    response.headers["Location"] = f"{bp.url_prefix}/tickets/{answer['id']}"
    return response, 201 if received.created else 200


def _filters(caller: Caller) -> list[Any] | tuple[Response, int]:
    args = request.args
    where: list[Any] = []
    if args.get("status"):
        statuses = [s.strip() for s in args["status"].split(",") if s.strip()]
        if any(s not in Status.__members__.values() for s in statuses):
            return error(400, "bad_filter", api_texts.BAD_FILTER.format(name="status",
                                                                       value=args["status"]))
        where.append(Ticket.status.in_(statuses))
    source = args.get("source")
    if source:
        where.append(Ticket.source.is_(None) if source == CHAT_SOURCE else Ticket.source == source)
    if caller.source is not None:
        where.append(Ticket.source == caller.source)
    if args.get("updated_since"):
        try:
            since = datetime.fromisoformat(args["updated_since"].replace("Z", "+00:00"))
        except ValueError:
            return error(400, "bad_filter", api_texts.BAD_FILTER.format(
                name="updated_since", value=args["updated_since"]))
        if since.tzinfo is None:
            since = since.replace(tzinfo=current_runtime().services.calendar.tz)
        where.append(Ticket.id.in_(select(TicketEvent.ticket_id)
                                   .where(TicketEvent.created_at >= since)))
    return where


def _int_arg(name: str, default: int, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        return None
    return int(raw)


@bp.get("/tickets")
@requires(ApiScope.TICKETS_READ)
def list_tickets() -> tuple[Response, int]:
    rt = current_runtime()
    caller = current_caller()
    where = _filters(caller)
    if isinstance(where, tuple):
        return where
    limit = _int_arg("limit", DEFAULT_PAGE, 1, MAX_PAGE)
    cursor = _int_arg("cursor", 0, 0, 2**63 - 1)
    if limit is None or cursor is None:
        bad = "limit" if limit is None else "cursor"
        return error(400, "bad_filter", api_texts.BAD_FILTER.format(
            name=bad, value=request.args.get(bad)))
    with transaction(rt.session_factory) as session:
        grid_code = request.args.get("grid")
        if grid_code:
            grid = grid_by_code(session, grid_code)
            if grid is None:
                return error(400, "unknown_grid",
                             api_texts.ORDER_ERRORS["unknown_grid"].format(grid=grid_code))
            where.append(Ticket.grid_id.in_(rt.services.roster.get(session).subtree(grid.id)))
        rows = session.execute(
            select(Ticket, updated_column()).where(Ticket.id > cursor, *where)
            .options(*EAGER).order_by(Ticket.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        tickets = [render(rt, ticket, updated) for ticket, updated in rows]
    return jsonify({"tickets": tickets,
                    "next_cursor": tickets[-1]["id"] if more and tickets else None}), 200


@bp.get("/tickets/<int:ticket_id>")
@requires(ApiScope.TICKETS_READ)
def show_ticket(ticket_id: int) -> tuple[Response, int]:
    rt = current_runtime()
    with transaction(rt.session_factory) as session:
        ticket = load_visible(session, current_caller(), ticket_id)
        if ticket is None:
            return not_found(ticket_id)
        updated = session.scalar(select(updated_column()).where(Ticket.id == ticket.id))
        body = render(rt, ticket, updated)
        body["trail"] = [event_json(e, rt.services.calendar.tz) for e in ticket.events]
    return jsonify({"ticket": body}), 200


@bp.post("/tickets/<int:ticket_id>/events")
@requires(ApiScope.TICKETS_WRITE)
def post_event(ticket_id: int) -> tuple[Response, int]:
    rt = current_runtime()
    caller = current_caller()
    body = parse(EventBody)
    if not isinstance(body, EventBody):
        return body  # type: ignore[return-value]
    kind = EVENT_WORDS.get(body.type.strip().lower())
    if kind is None:
        return error(400, "bad_type", api_texts.EVENT_TYPES)
    if kind is ExternalEvent.SUPPLEMENT and not body.text.strip():
        return error(400, "bad_field", api_texts.FIELD_ERRORS["string_too_short"].format(
            field="text"))
    rating = RATING_WORDS.get((body.rating or "").strip().lower())
    if kind is ExternalEvent.RATE and rating is None:
        return error(400, "bad_rating", api_texts.EVENT_RATING)
    action = ACTIONS[kind]
    services = rt.services
    with write_turn(), transaction(rt.session_factory) as session:
        serialise_on(session, f"order-events:{ticket_id}")
        ticket = load_visible(session, caller, ticket_id)
        if ticket is None:
            return not_found(ticket_id)
        if not ticket.source:
            return error(409, "not_an_order", api_texts.NOT_AN_ORDER.format(id=ticket_id))
        if body.event_id is not None:  # a repeat of an event already taken: the same answer
            seen = next((e for e in ticket.events
                         if (e.data or {}).get("external_event_id") == body.event_id), None)
            if seen is not None:
                updated = session.scalar(select(updated_column()).where(Ticket.id == ticket.id))
                return jsonify({"ticket": render(rt, ticket, updated),
                                "event": event_json(seen, services.calendar.tz)}), 200
        workflow = Workflow(session, services.settings,
                            SlaClock(services.settings.sla, services.calendar))
        reporter = ticket.reporter
        outcome = workflow.act(
            ticket, action, reporter, now=utcnow(), note=body.text.strip(),
            rating=rating if action is Action.RATE else None,
            data={"external_event_id": body.event_id} if body.event_id else None)
        if not outcome:
            return error(409, "refused", api_texts.EVENT_REFUSED.format(
                id=ticket_id, action=core_texts.ACTION_LABELS[action],
                reason=outcome.reason or ""))
        announcer = Announcer(Messenger(session, services.settings.aibot.name),
                              services.calendar, services.classifier.category_name(
                                  ticket.category))
        announcer.announce(outcome, reporter)
        assert outcome.event is not None
        event = event_json(outcome.event, services.calendar.tz)
        updated = session.scalar(select(updated_column()).where(Ticket.id == ticket.id))
        answer = render(rt, ticket, updated)
    rt.wake_delivery.set()
    return jsonify({"ticket": answer, "event": event}), 201


