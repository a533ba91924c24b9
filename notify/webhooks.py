"""Webhooks: every status change of a ticket, queued for the systems that subscribe to it.

An API client with a ``webhook_url`` (``bot.py api-token add --webhook-url``) and the
``tickets:read`` scope hears of every status change of the tickets it may read — all of them, or
its own source's orders when the client speaks for one source. Each change is an audit event
(``TicketEvent`` whose status moved, the opening included); :func:`install` hooks the session
factory so that, whoever made the change — the API, a chat command, the SLA sweep — one outbox
row per subscriber is written in the same flush (channel ``hook``, keyed by subscriber and
event: written once). ``schedules.hooks`` signs and POSTs it with the outbox's retries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from nlp import mask_pii
from notify.ticket_json import action_label, status_label
from store.api_clients import ApiClient, subscribers
from store.clock import utcnow
from store.db import insert_skipping_taken
from store.models import Grid, OutboxMessage, Ticket, TicketEvent
from vocab import ApiScope, OutboxChannel

EVENT_NAME = "ticket.status_changed"
_CACHE = "gridbot.webhook_subscribers"


def hook_key(client_id: int, event_id: int) -> str:
    """The outbox key (and the ``X-GridBot-Delivery`` header) of one event for one client."""
    return f"hook:{client_id}:e{event_id}"


def hook_body(ticket: Ticket, row: TicketEvent, grid_code: str | None) -> dict[str, Any]:
    """What a subscriber is told of one status change."""
    return {
        "event": EVENT_NAME,
        "event_id": row.id,
        "at": (row.created_at or utcnow()).isoformat(timespec="seconds"),
        "ticket": {
            "id": ticket.id, "source": ticket.source, "external_id": ticket.external_id,
            "status": str(ticket.status), "status_label": status_label(ticket.status),
            "category": ticket.category, "urgent": bool(ticket.urgent), "grid": grid_code,
            "level": str(ticket.level),
        },
        "change": {
            "action": row.action, "action_label": action_label(row.action),
            "from_status": str(row.from_status) if row.from_status else None,
            "to_status": str(row.to_status) if row.to_status else None,
            "note": mask_pii(row.note or "")[:500],
        },
    }


def _changes(session: Session) -> list[TicketEvent]:
    return [obj for obj in session.new if isinstance(obj, TicketEvent)
            and obj.to_status is not None and obj.from_status != obj.to_status]


def _subscribers(session: Session) -> list[ApiClient]:
    """The live subscribers with ``tickets:read``, read once per transaction (a request opens
    a ticket in several flushes)."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is not None and cached[0] is transaction:
        return cached[1]
    clients = [c for c in subscribers(session) if ApiScope.TICKETS_READ in c.scope_set]
    session.info[_CACHE] = (transaction, clients)
    return clients


def _after_flush(session: Session, _context: Any) -> None:
    changes = _changes(session)
    if not changes:
        return
    clients = _subscribers(session)
    if not clients:
        return
    connection = session.connection()
    statement = insert_skipping_taken(OutboxMessage, OutboxMessage.idempotency_key,
                                      connection.dialect.name, OutboxMessage.id)
    for row in sorted(changes, key=lambda r: r.id):
        ticket = session.get(Ticket, row.ticket_id)
        if ticket is None:
            continue
        grid = session.get(Grid, ticket.grid_id) if ticket.grid_id is not None else None
        body = hook_body(ticket, row, grid.code if grid else None)
        for client in clients:
            if client.source is not None and client.source != ticket.source:
                continue
            connection.execute(statement, {
                "idempotency_key": hook_key(client.id, row.id),
                "channel": OutboxChannel.HOOK.value, "target": str(client.id),
                "msgtype": "json", "payload": body, "urgent": False, "ticket_id": ticket.id,
                "next_attempt_at": utcnow(), "status": "pending", "person_id": None,
                "fallback_of_id": None,
            })


def install(session_factory: sessionmaker[Session]) -> None:
    """Queue webhooks from every session of ``session_factory`` (once per factory)."""
    if not event.contains(session_factory, "after_flush", _after_flush):
        event.listen(session_factory, "after_flush", _after_flush)
