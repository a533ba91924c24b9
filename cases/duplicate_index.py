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

from collections.abc import Callable, Collection
from datetime import datetime
from functools import lru_cache

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    union_all,
    update,
)
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
    params: dict[str, object] = dict(category=category, area=sorted(area), since=since,
                                     smallest=smallest, largest=largest)
    if session.get_bind().dialect.name == "postgresql":
        params.update(grams=list(keys))
        statement = _search_postgresql(limit)
    else:
        params.update({f"gram{i}": key for i, key in enumerate(keys)})
        statement = _search_sqlite(len(keys), limit)
    rows = session.execute(statement, params)
    return [(ticket_id, body) for ticket_id, body in rows]


# Each prefix bigram contributes at most PER_KEY of its newest keys, so a bigram that half the
# grid's reports share (小区, 单元) costs no more than a rare one: the rows read are bounded by
# len(keys) × PER_KEY however many open tickets share it. Both searches are built once with
# bound parameters (``category``, ``area``, ``since``, ``smallest``, ``largest`` and the grams):
# building them anew for every report cost more than running them (3 ms of Python a search,
# 40% of a report's routing on SQLite). On PostgreSQL the grams and the area are one array
# parameter each: with a member per gram and the area expanded into a parameter per grid in
# every member, the statement grew past psycopg's statement cache (4 kB), which split and parsed
# it again at every report.


def _newest_keys(gram: ColumnElement[str], in_area: ColumnElement[bool]) -> Select[tuple[int]]:
    """The tickets of at most PER_KEY newest keys of one bigram of the prefix."""
    return (
        select(TicketMatchKey.ticket_id)
        .where(
            TicketMatchKey.category == bindparam("category"),
            TicketMatchKey.gram == gram,
            in_area,
            TicketMatchKey.created_at >= bindparam("since"),
            TicketMatchKey.size.between(bindparam("smallest"), bindparam("largest")),
        )
        .order_by(TicketMatchKey.created_at.desc())
        .limit(PER_KEY)
    )


@lru_cache(maxsize=4)
def _search_postgresql(limit: int) -> Select[tuple[int, str]]:
    """One statement for every prefix: the grams and the area as one array each, a LATERAL per
    gram and grid (prepared by psycopg after its fifth use, so the server plans it once)."""
    area = bindparam("area", type_=ARRAY(Integer))
    grams = (func.unnest(bindparam("grams", type_=ARRAY(String))).table_valued("gram")
             .render_derived(name="grams"))
    grids = func.unnest(area).table_valued("grid").render_derived(name="grids")
    # a LATERAL per (gram, grid): all of the lookup index's columns bound, so each is a range
    # of it read newest first and stopped at PER_KEY (with the grid an ``= ANY`` filter, every
    # key of a common gram in the 48 hours was read and sorted: a cost that grew with a flood)
    newest = (_newest_keys(grams.c.gram, TicketMatchKey.grid_id == grids.c.grid)
              .lateral("newest"))
    hits = (select(newest.c.ticket_id).select_from(grams).join(grids, true())
            .join(newest, true()).subquery())
    return _best_tickets(hits, limit, lambda grid: grid == any_(area), lateral=True)


@lru_cache(maxsize=128)
def _search_sqlite(keys: int, limit: int) -> Select[tuple[int, str]]:
    """A statement per prefix length: the union of one member per gram (``gram0`` …), the area
    an expanding list (read through ``json_each`` as one parameter, the search took 0.7 ms
    more)."""
    area = bindparam("area", expanding=True)
    members = [
        # SQLite takes a LIMIT in a UNION's member only inside a subquery
        select(newest.c.ticket_id)
        for newest in (_newest_keys(bindparam(f"gram{i}"), TicketMatchKey.grid_id.in_(area))
                       .subquery() for i in range(keys))
    ]
    hits = (union_all(*members) if len(members) > 1 else members[0]).subquery()
    return _best_tickets(hits, limit, lambda grid: grid.in_(area))


def _best_tickets(
    hits: Subquery, limit: int, in_area: Callable[[ColumnElement[int]], ColumnElement[bool]],
    *, lateral: bool = False,
) -> Select[tuple[int, str]]:
    """Of the tickets in ``hits`` (one row per shared bigram), the ``limit`` sharing the most,
    still open originals of the area; ordered by id.

    ``in_area``: the area's test of a grid id column. ``lateral`` (PostgreSQL): each of those
    tickets looked up by its primary key in a LATERAL subquery, an order of joins the planner
    cannot turn round. Joined plainly, with statistics gone stale in a flood (the tables grow
    faster than autovacuum analyses them), it scanned every open ticket of the area and compared
    each with the 20 ids: 15 ms for 2,669 of them.
    """
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
    if lateral:
        # LIMIT 1 keeps the subquery whole: its one condition is the primary key, and the
        # others, applied outside it, cannot offer the planner another index
        ticket = (select(Ticket.id, Ticket.text, Ticket.status, Ticket.duplicate_of_id,
                         Ticket.grid_id)
                  .where(Ticket.id == best.c.ticket_id)
                  .limit(1)
                  .lateral("ticket"))
        return (
            select(ticket.c.id, ticket.c.text)
            .select_from(best)
            .join(ticket, true())
            .where(ticket.c.status.in_(_OPEN), ticket.c.duplicate_of_id.is_(None),
                   in_area(ticket.c.grid_id))
            .order_by(ticket.c.id)
        )
    return (
        select(Ticket.id, Ticket.text)
        .join(best, best.c.ticket_id == Ticket.id)
        .where(Ticket.status.in_(_OPEN), Ticket.duplicate_of_id.is_(None),
               in_area(Ticket.grid_id))
        .order_by(Ticket.id)
    )
