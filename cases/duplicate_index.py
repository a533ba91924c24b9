"""The duplicate search's index: open original tickets by the prefix bigrams of their text.

An open original (not merged, with a grid and a category other than 其他) has one
``TicketMatchKey`` row per bigram of its text's prefix (``cases.duplicates.prefix``); the row
leaves when the ticket leaves the open statuses and comes back when it is reopened, and follows
the ticket to another grid. A new report looks up its own prefix among the keys of its grid area
and category from the last 48 hours, sizes within reach of the threshold, and reads at most
``limit`` tickets, those sharing the most prefix bigrams with it. Each prefix bigram
contributes only its ``PER_KEY`` newest keys, so the rows read are bounded by the prefix's
length however many open tickets share a common bigram (a flood of 5,000 reports in one grid
and category made a search read every key of 小区 and 单元: up to 0.4 s a report on PostgreSQL).
The price: among more than ``PER_KEY`` open tickets sharing every bigram of the prefix, only
the newest are compared.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Select, bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.orm import Session

from cases.duplicates import bigrams, prefix, size_range
from cases.model import OPEN_STATUSES
from store.models import Ticket, TicketMatchKey

#: The most tickets one duplicate search reads, however many open tickets could match.
CANDIDATE_LIMIT = 20
#: The most keys one prefix bigram contributes to a search (its newest ones).
PER_KEY = 500
_OPEN = [str(status) for status in OPEN_STATUSES]
_INSERT_KEYS = insert(TicketMatchKey.__table__)


def indexable(ticket: Ticket) -> bool:
    """Whether a new report could be merged into ``ticket`` (open original, grid, category)."""
    return (ticket.grid_id is not None and ticket.category != "other"
            and ticket.duplicate_of_id is None and ticket.status in _OPEN)


def index_ticket(session: Session, ticket: Ticket) -> None:
    """Add ``ticket``'s keys (flushed ticket; nothing unless :func:`indexable`).

    One Core ``INSERT`` of plain rows: a ticket has a dozen keys or so, and as ORM objects they
    were most of the objects a report's routing made (each built, tracked and flushed: about a
    sixth of its CPU). Nothing reads them back through the session.
    """
    if not indexable(ticket):
        return
    grams = bigrams(ticket.text)
    assert ticket.grid_id is not None
    rows = [{"ticket_id": ticket.id, "gram": gram, "category": ticket.category,
             "grid_id": ticket.grid_id, "size": len(grams), "created_at": ticket.created_at}
            for gram in prefix(grams)]
    if rows:
        session.connection().execute(_INSERT_KEYS, rows)


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
    params: dict[str, object] = {f"gram{i}": key for i, key in enumerate(keys)}
    params.update(category=category, area=list(area), since=since, smallest=smallest,
                  largest=largest)
    rows = session.execute(_search(len(keys), limit), params)
    return [(ticket_id, body) for ticket_id, body in rows]


@lru_cache(maxsize=128)
def _search(keys: int, limit: int) -> Select[tuple[int, str]]:
    """The search for a prefix of ``keys`` bigrams, built once per size with bound parameters
    (``gram0`` …, ``category``, ``area``, ``since``, ``smallest``, ``largest``): building the
    union of its members anew for every report cost more than running it (3 ms of Python a
    search, 40% of a report's routing on SQLite)."""
    # Each prefix bigram contributes at most PER_KEY of its newest keys, so a bigram that half
    # the grid's reports share (小区, 单元) costs no more than a rare one: the rows read are
    # bounded by len(keys) × PER_KEY however many open tickets share it.
    area = bindparam("area", expanding=True)
    per_key = [
        select(TicketMatchKey.ticket_id)
        .where(
            TicketMatchKey.category == bindparam("category"),
            TicketMatchKey.gram == bindparam(f"gram{i}"),
            TicketMatchKey.grid_id.in_(area),
            TicketMatchKey.created_at >= bindparam("since"),
            TicketMatchKey.size.between(bindparam("smallest"), bindparam("largest")),
        )
        .order_by(TicketMatchKey.created_at.desc())
        .limit(PER_KEY)
        .subquery()  # SQLite takes a LIMIT in a UNION's member only inside a subquery
        for i in range(keys)
    ]
    members = [select(newest.c.ticket_id) for newest in per_key]
    hits = (union_all(*members) if len(members) > 1 else members[0]).subquery()
    # The counting touches only the bounded hits; tickets are joined after it, by primary key
    # (joined inside it, a planner misled by stale statistics ran the per-bigram scans once per
    # open ticket of the grid: 0.47 s for 1,771 of them).
    best = (
        select(hits.c.ticket_id, func.count().label("shared"))
        .group_by(hits.c.ticket_id)
        .order_by(func.count().desc(), hits.c.ticket_id)
        .limit(limit)
        .subquery()
    )
    return (
        select(Ticket.id, Ticket.text)
        .join(best, best.c.ticket_id == Ticket.id)
        .where(
            Ticket.status.in_(_OPEN),
            Ticket.duplicate_of_id.is_(None),
            Ticket.grid_id.in_(area),
        )
        .order_by(Ticket.id)
    )
