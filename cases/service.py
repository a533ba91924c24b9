"""The 六单 workflow over the store: load a ticket, ask ``cases.lifecycle.decide``, apply it.

``Workflow.act`` is the one way a ticket changes after intake: it builds the ``TicketView`` and
``Actor`` from the store (the actor's scopes are their memberships), finds the next handler up
the ladder for escalations (``cases.ladder``), calls ``decide``, applies ``changes`` and
``stamps``, starts the SLA stage's clock (``cases.deadlines.SlaClock``) and stores the ticket's
next due time (``cases.next_due``), writes the
``TicketEvent`` audit row and returns an :class:`Outcome`. It speaks no chat: the handlers and the
sweep turn an ``Outcome`` into messages. It flushes but never commits (the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from cases import duplicate_index
from cases import wording as core_texts
from cases.deadlines import SlaClock, Stage
from cases.ladder import Handler, Level, escalation_target, first_handler, level_for_role
from cases.lifecycle import Decision, decide, refuse
from cases.model import Action, Actor, Duty, Rating, Role, Status, TicketView
from cases.next_due import active_stage as active_stage  # re-exported: handlers read it here
from cases.next_due import refresh_next_due
from cases.permissions import check
from settings.model import Settings
from store.models import Grid, Person, Ticket, TicketEvent
from store.roster import duties, grid_by_code, grid_path, memberships_of, people_by_ids


@dataclass(frozen=True)
class Outcome:
    """What became of one attempted action (``allowed`` False: ``reason`` says why, in Chinese)."""

    allowed: bool
    action: Action
    ticket: Ticket | None
    reason: str | None = None
    from_status: str | None = None
    event: TicketEvent | None = None
    previous_assignee: Person | None = None
    new_assignee: Person | None = None
    handler: Handler | None = None  # the ladder step an escalation went to

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def reassigned(self) -> bool:
        """Whether someone new now holds the ticket (tell them)."""
        return self.new_assignee is not None and self.new_assignee is not self.previous_assignee


def actor_for(session: Session, person: Person) -> Actor:
    """The acting person as the core sees them: role, duties by grid code, department."""
    try:
        role = Role(person.role)
    except ValueError:
        role = Role.RESIDENT
    scopes = tuple(Duty(code, r) for code, r in memberships_of(session, person))
    return Actor(person.id, role, scopes, person.department)


def place_path(ticket: Ticket) -> tuple[str, ...]:
    """Grid codes from the root down to the ticket's grid (empty when not placed yet)."""
    return tuple(g.code for g in grid_path(ticket.grid))


def ladder_path(session: Session, settings: Settings, ticket: Ticket) -> tuple[str, ...]:
    """The path the ladder climbs: the ticket's grid, or the township centre when unplaced."""
    path = place_path(ticket)
    if path:
        return path
    return tuple(g.code for g in grid_path(grid_by_code(session, settings.center_grid)))


def view_of(ticket: Ticket, path: tuple[str, ...] | None = None) -> TicketView:
    """The ``TicketView`` of a stored ticket."""
    return TicketView(
        id=ticket.id,
        status=Status(ticket.status),
        reporter_id=ticket.reporter_id,
        assignee_id=ticket.assignee_id,
        grid_path=place_path(ticket) if path is None else path,
        level=Level(ticket.level),
        department=ticket.department,
        duplicate_of=ticket.duplicate_of_id,
        category=ticket.category,
    )


def load(session: Session, ticket_id: int, *, lock: bool = False) -> Ticket | None:
    """The ticket, optionally row-locked (``SELECT … FOR UPDATE`` where the database has it)."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, StrEnum) else value


@dataclass(frozen=True)
class KnownDuties:
    """The duties of some grids, read once for many tickets (a sweep's batch): ``codes`` are
    the grids read, ``by_grid`` those of them with someone on duty."""

    codes: frozenset[str]
    by_grid: dict[str, dict[str, list[int]]]

    @classmethod
    def read(cls, session: Session, codes: Iterable[str]) -> KnownDuties:
        wanted = frozenset(codes)
        return cls(wanted, duties(session, wanted) if wanted else {})

    def covers(self, path: Sequence[str]) -> bool:
        return all(code in self.codes for code in path)

    def along(self, path: Sequence[str]) -> dict[str, dict[str, list[int]]]:
        return {code: self.by_grid[code] for code in path if code in self.by_grid}

    def person_ids(self) -> set[int]:
        return {pid for roles in self.by_grid.values() for ids in roles.values() for pid in ids}


class Workflow:
    """Ticket transitions in one session, with the township's settings and clock."""

    def __init__(self, session: Session, settings: Settings, clock: SlaClock, *,
                 known_duties: KnownDuties | None = None,
                 event_ids: Callable[[], int] | None = None) -> None:
        """``known_duties``: duties read once for many tickets. ``event_ids``: ids for new trail
        rows handed out by the caller, who then flushes them with its batch (without it each
        transition is flushed at once, to learn its event's id)."""
        self.session = session
        self.settings = settings
        self.clock = clock
        self.known_duties = known_duties
        self.event_ids = event_ids

    def duties(self, path: Sequence[str]) -> dict[str, dict[str, list[int]]]:
        """Who is on duty along ``path``: from ``known_duties`` when they cover it, else read."""
        known = self.known_duties
        if known is not None and known.covers(path):
            return known.along(path)
        return duties(self.session, path)

    # -- look-ups ------------------------------------------------------------------------------

    def actor(self, who: Person | Actor) -> Actor:
        return who if isinstance(who, Actor) else actor_for(self.session, who)

    def person(self, person_id: int | None) -> Person | None:
        return self.session.get(Person, person_id) if person_id is not None else None

    def next_handler(self, ticket: Ticket) -> Handler | None:
        """The first staffed level above the ticket's, or None at the top of the ladder."""
        path = ladder_path(self.session, self.settings, ticket)
        return escalation_target(ticket.level, path, self.duties(path))

    def rating_due(self, ticket: Ticket) -> datetime | None:
        """When an unanswered rating request closes the ticket as 未评价."""
        if ticket.resolved_at is None:
            return None
        return self.clock.rating_due(ticket.resolved_at).at

    # -- acting --------------------------------------------------------------------------------

    def act(
        self,
        ticket: Ticket,
        action: Action | str,
        who: Person | Actor,
        *,
        now: datetime,
        note: str = "",
        source_message_id: int | None = None,
        rating: Rating | str | None = None,
        to: Person | None = None,
        duplicate_of: int | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Try ``action`` on ``ticket`` as ``who``; apply it if allowed."""
        action = Action(action)
        actor = self.actor(who)
        view = view_of(ticket)
        kwargs: dict[str, Any] = {}
        handler: Handler | None = None
        if action is Action.ESCALATE or (
            action is Action.RATE and rating is not None and str(rating) == Rating.UNSATISFIED
        ):
            handler = self.next_handler(ticket)
            if handler is not None:
                kwargs = {"level": handler.level, "assignee_id": handler.person_ids[0]}
            elif action is Action.ESCALATE:
                # nobody on duty above: refuse rather than leave the ticket with no one
                return Outcome(False, action, ticket, reason=core_texts.top_of_ladder(ticket.id))
            else:  # 不满意 at the top: reopened at the same level, same handler
                kwargs = {"level": ticket.level, "assignee_id": ticket.assignee_id}
        if action is Action.TRANSFER and to is not None:
            kwargs["to"] = self.actor(to)
        decision = decide(
            view, action, actor, note=note, source_message_id=source_message_id,
            rating=rating, duplicate_of=duplicate_of, data=data, **kwargs,
        )
        return self.apply(ticket, action, decision, now=now, handler=handler)

    def dispatch_to(
        self,
        ticket: Ticket,
        who: Person | Actor,
        *,
        now: datetime,
        person: Person | None = None,
        grid: Grid | None = None,
        source_message_id: int | None = None,
    ) -> Outcome:
        """派单: place the ticket with a person and/or in a grid (centre triage, leaders).

        A ticket waiting for dispatch (created, returned) is dispatched; one already with a
        handler (e.g. the centre's own triage ticket) is re-placed and transferred, provided the
        actor may dispatch it.
        """
        actor = self.actor(who)
        target_grid = grid or ticket.grid or (self._home_grid(person) if person else None)
        path = tuple(g.code for g in grid_path(target_grid)) if target_grid else place_path(ticket)
        if person is None:
            found = (first_handler(path, duties(self.session, path), Level.WORKER)
                     if path else None)
            people = people_by_ids(self.session, found.person_ids[:1]) if found else []
            if not people:
                return Outcome(False, Action.DISPATCH, ticket, reason=None)
            person = people[0]
        level = level_for_role(person.role) or Level(ticket.level)
        moved = target_grid is not None and target_grid.id != ticket.grid_id
        if ticket.status in (Status.CREATED, Status.RETURNED):
            decision = decide(
                view_of(ticket), Action.DISPATCH, actor, assignee_id=person.id, level=level,
                grid_code=target_grid.code if moved and target_grid else None,
                source_message_id=source_message_id,
            )
            return self.apply(ticket, Action.DISPATCH, decision, now=now)
        permission = check(actor, Action.DISPATCH, view_of(ticket))
        if not permission:
            return self.apply(ticket, Action.DISPATCH, refuse(permission.reason or ""), now=now)
        placed = replace(view_of(ticket), grid_path=path)
        decision = decide(
            placed, Action.TRANSFER, actor, to=self.actor(person),
            source_message_id=source_message_id,
            data={"grid": target_grid.code} if moved and target_grid else None,
        )
        if decision.allowed and moved and target_grid is not None:
            decision = replace(decision, changes={**decision.changes, "grid_code": target_grid.code})
        return self.apply(ticket, Action.TRANSFER, decision, now=now)

    def _home_grid(self, person: Person) -> Grid | None:
        duties_of = memberships_of(self.session, person)
        return grid_by_code(self.session, duties_of[0][0]) if duties_of else person.grid

    def apply(
        self,
        ticket: Ticket,
        action: Action,
        decision: Decision,
        *,
        now: datetime,
        handler: Handler | None = None,
    ) -> Outcome:
        """Persist an allowed decision: columns, stamps, the new stage's due time, the ticket's
        next due time, the event. A ticket not written yet (being opened: ``cases.intake``) is
        changed in memory and its event attached to it; the caller's flush writes both, and
        the caller adds its duplicate keys."""
        if not decision.allowed or decision.event is None:
            return Outcome(False, action, ticket, reason=decision.reason)
        opening = inspect(ticket).pending  # a ticket being opened: not written yet
        previous = None if opening else ticket.assignee
        from_status = ticket.status
        was_open = duplicate_index.indexable(ticket)
        grid_moved = False
        for column, value in decision.changes.items():
            if column == "grid_code":
                grid_moved = True
                target = grid_by_code(self.session, str(value))
                ticket.grid = target
            else:
                setattr(ticket, column, _plain(value))
        for column in decision.stamps:
            setattr(ticket, column, now)
        if decision.to_status is not None:
            ticket.status = str(decision.to_status)
        if decision.clock is not None:
            self._start_clock(ticket, decision.clock, now)
        refresh_next_due(ticket, self.clock)
        if grid_moved:
            self.session.flush()  # ticket.grid_id from the new grid
        if not opening:  # a ticket being opened is indexed by its opener once it has its id
            duplicate_index.after_change(self.session, ticket, was_open, grid_moved)
        event = decision.event
        row = TicketEvent(
            ticket_id=ticket.id,
            actor_id=event.actor_id,
            action=str(event.action),
            from_status=str(event.from_status),
            to_status=str(event.to_status),
            source_message_id=event.source_message_id,
            note=event.note,
            data={k: _plain(v) for k, v in event.data.items()},
            created_at=now,
        )
        if self.event_ids is not None:
            row.id = self.event_ids()
        if opening:
            # the ticket's INSERT carries the transition; the opener's flush writes the ticket,
            # then its events together (the person is in the session: no query)
            row.ticket = ticket
            self.session.add(row)
            new_assignee = (self.session.get(Person, ticket.assignee_id)
                            if ticket.assignee_id is not None else None)
            return Outcome(True, action, ticket, from_status=from_status, event=row,
                           new_assignee=new_assignee, handler=handler)
        self.session.add(row)
        if self.event_ids is None:
            self.session.flush()
        # the changes set foreign keys; their objects load again when next read — from the
        # session's identity map, without a query, when the person or grid is already there
        self.session.expire(ticket, ["assignee", "grid"])
        new = ticket.assignee if ticket.assignee_id != (previous.id if previous else None) else None
        return Outcome(
            True, action, ticket, from_status=from_status, event=row,
            previous_assignee=previous, new_assignee=new, handler=handler,
        )

    def _start_clock(self, ticket: Ticket, stage: Stage, now: datetime) -> None:
        deadline = self.clock.due(stage, now, ticket.tier, ticket.source)
        if stage is Stage.DISPATCH:
            ticket.dispatch_due = deadline.at
        elif stage is Stage.ACCEPT:
            ticket.accept_due = deadline.at
        elif stage is Stage.RESOLVE:
            ticket.resolve_due = deadline.at
        ticket.deadlines_provisional = deadline.provisional
