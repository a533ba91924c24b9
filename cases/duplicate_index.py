"""The duplicate search's index: open original tickets by the prefix bigrams of their text.

An open original (not merged, with a grid and a category other than 其他) has one
``TicketMatchKey`` row per bigram of its text's prefix (``cases.duplicates.prefix``); the row
leaves when the ticket leaves the open statuses and comes back when it is reopened, and follows
the ticket to another grid. A new report looks up its own prefix among the keys of its grid area
and category from the last 48 hours, sizes within reach of the threshold, and reads at most
``limit`` tickets, those sharing the most prefix bigrams with it: a bounded read however many
tickets are open, where the search used to load every open ticket of the grid and category.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cases.duplicates import bigrams, prefix, size_range
from cases.model import OPEN_STATUSES
from store.models import Ticket, TicketMatchKey

#: The most tickets one duplicate search reads, however many open tickets could match.
CANDIDATE_LIMIT = 20
_OPEN = [str(status) for status in OPEN_STATUSES]


def indexable(ticket: Ticket) -> bool:
    """Whether a new report could be merged into ``ticket`` (open original, grid, category)."""
    return (ticket.grid_id is not None and ticket.category != "other"
            and ticket.duplicate_of_id is None and ticket.status in _OPEN)


def index_ticket(session: Session, ticket: Ticket) -> None:
    """Add ``ticket``'s keys (flushed ticket; nothing unless :func:`indexable`)."""
    if not indexable(ticket):
        return
    grams = bigrams(ticket.text)
    assert ticket.grid_id is not None
    session.add_all(
        TicketMatchKey(ticket_id=ticket.id, gram=gram, category=ticket.category,
                       grid_id=ticket.grid_id, size=len(grams), created_at=ticket.created_at)
        for gram in prefix(grams))


def after_change(session: Session, ticket: Ticket, was_open: bool, grid_moved: bool) -> None:
    """Keep ``ticket``'s keys in step with a transition: dropped on leaving the open statuses
    (closed, withdrawn, merged), added again on reopening, moved with a transfer."""
    now_open = indexable(ticket)
    if was_open and not now_open:
        session.execute(delete(TicketMatchKey).where(TicketMatchKey.ticket_id == ticket.id))
    elif now_open and not was_open:
        index_ticket(session, ticket)
    elif now_open and grid_moved:
        session.execute(update(TicketMatchKey).where(TicketMatchKey.ticket_id == ticket.id)
                        .values(grid_id=ticket.grid_id))


def candidates(
    session: Session, area: Collection[int], category: str, text: str, since: datetime,
    limit: int = CANDIDATE_LIMIT,
) -> list[tuple[int, str]]:
    """``(id, text)`` of at most ``limit`` open originals of ``area`` and ``category`` created
    since ``since`` that could be as similar to ``text`` as the threshold asks, those sharing
    the most prefix bigrams first; ordered by id."""
    grams = bigrams(text)
    keys = prefix(grams)
    if not keys or not area:
        return []
    smallest, largest = size_range(len(grams))
    shared = func.count().label("shared")
    best = (
        select(TicketMatchKey.ticket_id)
        .join(Ticket, Ticket.id == TicketMatchKey.ticket_id)
        .where(
            TicketMatchKey.category == category,
            TicketMatchKey.gram.in_(keys),
            TicketMatchKey.grid_id.in_(area),
            TicketMatchKey.created_at >= since,
            TicketMatchKey.size.between(smallest, largest),
            Ticket.status.in_(_OPEN),
            Ticket.duplicate_of_id.is_(None),
            Ticket.grid_id.in_(area),
        )
        .group_by(TicketMatchKey.ticket_id)
        .order_by(shared.desc(), TicketMatchKey.ticket_id)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(Ticket.id, Ticket.text).where(Ticket.id.in_(select(best.c.ticket_id)))
        .order_by(Ticket.id))
    return [(ticket_id, body) for ticket_id, body in rows]
