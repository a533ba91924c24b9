"""制单 and 派单: open a ticket from a resident's request and dispatch it to whoever is on duty.

Decides (with ``cases.ladder``) the ticket's grid (the reporter's home grid, else the group's
grid, else none → the township centre triages) and the first handling level (小事微网格员办、
大事网格员办、难事网格长办: ``sla.first_level`` per tier, skipping levels nobody holds; urgent ones
also alert the leader at once; unclassified or unplaced → centre). The dispatch itself, like every
later transition, goes through ``cases.lifecycle.decide`` and ``cases.service.Workflow``, which
start the clocks (``cases.deadlines``) and write the audit events. Reports what happened as an
:class:`Opened` value; saying it in chat is the caller's job.

A report that repeats an open ticket of the same grid and category from the last 48 hours
(``cases.duplicates``, looked up through ``cases.duplicate_index``) is recorded as a ticket of
its own, ``merged`` into the open one (``duplicate_of_id``), and not dispatched again; the caller
tells the resident the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cases.calendar import WorkCalendar
from cases.deadlines import SlaClock, Stage
from cases.duplicate_index import candidates, index_ticket
from cases.duplicates import WINDOW, best_match
from cases.ladder import Handler, Level, first_handler, handler_for
from cases.lifecycle import decide
from cases.model import Action, Actor
from cases.next_due import refresh_next_due
from cases.service import Workflow, view_of
from settings.model import Settings
from store.models import Grid, GroupChat, Person, Ticket, TicketEvent
from store.roster import RosterIndex, people_by_ids


@dataclass(frozen=True)
class Request:
    """What the classifier made of a message, as far as opening a ticket needs it."""

    text: str
    category: str
    second_category: str | None
    tier: str
    urgent: bool
    department: str | None
    location: str | None
    explanation: dict[str, Any]


@dataclass(frozen=True)
class Origin:
    """Where an order from another system came from (``cases.external``): the system's name,
    its own id for the order, and the caller's contact it gave (kept private)."""

    source: str
    external_id: str
    contact: dict[str, Any]


@dataclass(frozen=True)
class Opened:
    """A newly opened and dispatched ticket, and who was told to handle it."""

    ticket: Ticket
    handler: Person | None
    leaders_to_alert: tuple[Person, ...]
    triage: bool
    duplicate_of: Ticket | None = None  # set when the report was merged into an open ticket


def _place(reporter: Person, group: GroupChat | None) -> Grid | None:
    if reporter.grid is not None:
        return reporter.grid
    if group is not None and group.grid is not None:
        return group.grid
    return None


def _first_handler(
    roster: RosterIndex, settings: Settings, grid: Grid | None, request: Request
) -> tuple[Handler | None, bool]:
    if grid is None or request.category == "other":
        center = roster.by_code[settings.center_grid]
        return first_handler(roster.path_codes(center.id), roster.duties, Level.CENTER), True
    path = roster.path_codes(grid.id)
    start = Level(settings.sla.first_level.get(request.tier, Level.WORKER.value))
    return first_handler(path, roster.duties, start), False


def find_duplicate(
    session: Session, roster: RosterIndex, grid: Grid | None, category: str, text: str,
    now: datetime,
) -> Ticket | None:
    """An open ticket of the same grid and category, at most 48 hours old, with similar text.

    "The same grid" is the grid-level node the (micro-)grid belongs to, with all below it. Reads
    a bounded number of likely candidates through the prefix index (``cases.duplicate_index``).
    """
    if grid is None or category == "other":
        return None
    area = roster.subtree(roster.enclosing(grid.id, "grid"))
    found = best_match(text, candidates(session, area, category, text, now - WINDOW))
    return None if found is None else session.get(Ticket, found[0])


def open_ticket(
    session: Session,
    *,
    settings: Settings,
    calendar: WorkCalendar,
    roster: RosterIndex,
    reporter: Person,
    group: GroupChat | None,
    request: Request,
    channel: str,
    reply_to: dict[str, Any],
    source_message_id: int | None,
    now: datetime,
    grid: Grid | None = None,
    origin: Origin | None = None,
) -> Opened:
    """Create the ticket (制单), dispatch it (派单) and write both audit events.

    ``grid``: where the ticket belongs when the caller knows (an outside order placed by its
    grid code or address), else the reporter's or the group's grid. ``origin``: an outside
    system's order, which is never merged into a resident's ticket (the system is owed its own
    answer).
    """
    grid = grid or _place(reporter, group)
    clock = SlaClock(settings.sla, calendar)
    original = (None if origin is not None
                else find_duplicate(session, roster, grid, request.category, request.text, now))
    # who gets it and who is alerted are read first, so that the ticket is written once, already
    # dispatched, and its two events together (three statements for 制单 and 派单, not five)
    handler: Handler | None = None
    triage = False
    person: Person | None = None
    alert: tuple[Person, ...] = ()
    if original is None:
        handler, triage = _first_handler(roster, settings, grid, request)
        person = people_by_ids(session, handler.person_ids[:1])[0] if handler else None
        if request.urgent and grid is not None:
            leaders = handler_for(Level.LEADER, roster.path_codes(grid.id), roster.duties)
            if leaders is not None:
                alert = tuple(p for p in people_by_ids(session, leaders.person_ids)
                              if p is not person)
    dispatch_due = clock.due(Stage.DISPATCH, now, request.tier)
    ticket = Ticket(
        status="created",
        level=Level.WORKER,
        category=request.category,
        second_category=request.second_category,
        tier=request.tier,
        urgent=request.urgent,
        department=request.department,
        text=request.text,
        location=request.location,
        classification=request.explanation,
        grid=grid,
        reporter=reporter,
        reporter_id=reporter.id,
        chat_id=group.chat_id if group else None,
        channel=channel,
        reply_to=reply_to,
        source_message_id=source_message_id,
        source=origin.source if origin else None,
        external_id=origin.external_id if origin else None,
        contact=origin.contact or None if origin else None,
        created_at=now,
        dispatch_due=dispatch_due.at,
        deadlines_provisional=dispatch_due.provisional,
    )
    refresh_next_due(ticket, clock)  # dispatching below moves it to the accept clock
    session.add(ticket)
    session.add(
        TicketEvent(
            ticket=ticket,
            actor_id=reporter.id,
            action="create",
            from_status=None,
            to_status="created",
            source_message_id=source_message_id,
            created_at=now,
            note=request.text[:200],
            data={"classification": request.explanation},
        )
    )
    workflow = Workflow(session, settings, clock)
    path = roster.path_codes(grid.id) if grid is not None else ()
    if original is not None:
        opened = _merge(workflow, ticket, original, path, source_message_id, now)
        session.flush()
        return opened
    if handler is not None and person is not None:
        decision = decide(
            view_of(ticket, path), Action.DISPATCH, Actor.system(), assignee_id=person.id,
            level=handler.level, source_message_id=source_message_id,
            data={"grid": handler.grid_code, "triage": triage},
        )
        workflow.apply(ticket, Action.DISPATCH, decision, now=now)
    session.flush()
    index_ticket(session, ticket)  # a later report of the same matter finds it
    return Opened(ticket=ticket, handler=person, leaders_to_alert=alert, triage=triage)


def _merge(
    workflow: Workflow, ticket: Ticket, original: Ticket, path: tuple[str, ...],
    source_message_id: int | None, now: datetime,
) -> Opened:
    """Record the new report as merged into ``original`` (the bot's own 合并)."""
    decision = decide(
        view_of(ticket, path), Action.MERGE, Actor.system(), duplicate_of=original.id,
        source_message_id=source_message_id, note=f"#{original.id}",
    )
    workflow.apply(ticket, Action.MERGE, decision, now=now)
    # counted where the original is handled (KPIs attribute the case to its handler)
    ticket.level = original.level
    ticket.assignee_id = original.assignee_id
    return Opened(ticket=ticket, handler=None, leaders_to_alert=(), triage=False,
                  duplicate_of=original)
