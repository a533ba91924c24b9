"""A ticket as other systems read it (the JSON API, webhooks): plain JSON, times with the
township's UTC offset, PII masked in the text and the trail, the caller's contact never shown."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from cases import wording as core_texts
from nlp import mask_pii
from notify.ticket_events import title
from store.models import Ticket, TicketEvent
from vocab import Action, Status


def iso(when: datetime | None, tz: tzinfo) -> str | None:
    return None if when is None else when.astimezone(tz).isoformat(timespec="seconds")


def status_label(status: str) -> str:
    try:
        return core_texts.STATUS_LABELS[Status(status)]
    except ValueError:
        return status


def action_label(action: str) -> str:
    try:
        return core_texts.ACTION_LABELS[Action(action)]
    except ValueError:
        return {"create": "制单"}.get(action, action)


def ticket_json(ticket: Ticket, tz: tzinfo, *, category_name: str | None = None,
                updated_at: datetime | None = None) -> dict[str, Any]:
    """The ticket's public fields (no contact, no chat ids, PII masked)."""
    return {
        "id": ticket.id,
        "source": ticket.source,
        "external_id": ticket.external_id,
        "status": str(ticket.status),
        "status_label": status_label(ticket.status),
        "category": ticket.category,
        "category_name": category_name or ticket.category,
        "tier": str(ticket.tier),
        "urgent": bool(ticket.urgent),
        "text": mask_pii(ticket.text),
        "address": ticket.location,
        "grid": ({"code": ticket.grid.code, "name": ticket.grid.name} if ticket.grid else None),
        "level": str(ticket.level),
        "handler": (ticket.assignee.name or None) if ticket.assignee else None,
        "created_at": iso(ticket.created_at, tz),
        "updated_at": iso(updated_at or ticket.created_at, tz),
        "deadlines": {
            "dispatch": iso(ticket.dispatch_due, tz),
            "accept": iso(ticket.accept_due, tz),
            "resolve": iso(ticket.resolve_due, tz),
            "provisional": bool(ticket.deadlines_provisional),
        },
        "resolved_at": iso(ticket.resolved_at, tz),
        "closed_at": iso(ticket.closed_at, tz),
        "rating": str(ticket.rating) if ticket.rating else None,
        "duplicate_of": ticket.duplicate_of_id,
    }


def event_json(event: TicketEvent, tz: tzinfo) -> dict[str, Any]:
    """One step of the trail."""
    return {
        "id": event.id,
        "at": iso(event.created_at, tz),
        "action": event.action,
        "action_label": action_label(event.action),
        "from_status": str(event.from_status) if event.from_status else None,
        "to_status": str(event.to_status) if event.to_status else None,
        "note": mask_pii(event.note or ""),
        "actor": title(event.actor) if event.actor is not None else None,
    }
