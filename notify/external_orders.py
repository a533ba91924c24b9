"""An order from another system, received: classified, opened once (``cases.external``) and
dispatched in chat exactly as a resident's report is — the handler's task card, the leader's
urgent alert — with its source on the card. The system itself hears by webhook, not in chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cases.external import Received, match_grid, receive
from cases.intake import Request
from nlp import extract_location
from notify.messenger import Messenger
from notify.tickets import send_dispatch, send_urgent_alerts
from services.container import Services
from store.models import Grid
from store.roster import grid_by_code


class OrderError(ValueError):
    """An order that cannot be taken; ``code`` names the reason (``web.api_texts``)."""

    def __init__(self, code: str, **detail: Any) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Order:
    """What a system hands in: its name, its id, the text, and what it knows of the rest."""

    source: str
    external_id: str
    text: str
    category: str | None = None
    grid_code: str | None = None
    address: str | None = None
    contact: dict[str, Any] = field(default_factory=dict)
    urgent: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kept beside the explanation (geo …)


def classify(services: Services, order: Order) -> Request:
    """The order as the intake takes it: the given category (its tier and department) or the
    classifier's; a text no category reaches goes to the centre's triage, flagged unsure."""
    classifier = services.classifier
    found = classifier.classify(order.text)
    explanation = dict(found.explanation or {})
    location = order.address or extract_location(order.text)
    if order.category:
        category = classifier.rules.category(order.category)
        if category is None:
            raise OrderError("unknown_category", category=order.category)
        explanation.update(given_by=order.source, unsure=False)
        return Request(order.text, category.code, None, category.tier,
                       found.urgent if order.urgent is None else order.urgent,
                       category.department, location, explanation)
    if found.kind != "request":  # chatter-like or a question: a person decides what it is
        other = classifier.rules.category("other")
        explanation.update(unsure=True)
        return Request(order.text, "other", None, other.tier if other else "general",
                       bool(order.urgent), other.department if other else None, location,
                       explanation)
    return Request(order.text, found.category, found.second_category, found.tier,
                   found.urgent if order.urgent is None else order.urgent, found.department,
                   location, explanation)


def place(session: Session, services: Services, order: Order) -> Grid | None:
    """The grid of the order: by code, else by the address matched against the grid names."""
    if order.grid_code:
        grid = grid_by_code(session, order.grid_code)
        if grid is None:
            raise OrderError("unknown_grid", grid=order.grid_code)
        return grid
    if order.address:
        info = match_grid(order.address, services.roster.get(session).grids.values())
        if info is not None:
            return session.get(Grid, info.id)
    return None


def receive_order(session: Session, services: Services, order: Order, now: datetime) -> Received:
    """Open ``order``'s ticket once and dispatch it in chat; a repeat finds it, tells nobody."""
    request = classify(services, order)
    if order.extra:
        request = replace(request, explanation={**request.explanation, "order": order.extra})
    grid = place(session, services, order)
    received = receive(
        session, settings=services.settings, calendar=services.calendar,
        roster=services.roster.get(session), source=order.source,
        external_id=order.external_id, request=request, grid=grid, contact=order.contact,
        now=now,
    )
    opened = received.opened
    if opened is None or opened.duplicate_of is not None:
        return received
    ticket = opened.ticket
    messenger = Messenger(session, services.settings.aibot.name)
    category = services.classifier.category_name(ticket.category)
    if opened.handler is not None:
        send_dispatch(messenger, ticket, opened.handler, category, services.calendar,
                      key=f"ticket:{ticket.id}:dispatch:1")
    if opened.leaders_to_alert:
        send_urgent_alerts(messenger, ticket, opened.leaders_to_alert, category,
                           key=f"ticket:{ticket.id}:urgent")
    return received
