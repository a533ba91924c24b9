"""The SLA sweep: reminders before each due time, escalation when a stage is overdue, 未评价.

``sweep(source, services, now)`` reads only the tickets whose indexed ``next_due_at``
(``cases.next_due``) has come, in batches of ``BATCH_SIZE`` ordered by that time, and for each:

* a provisional deadline is computed again from its start (calendar data may have appeared);
* a stage past due (dispatch, accept, resolve) escalates the ticket one level up the ladder
  (micro → worker → leader → centre → county), telling the new handler (with the reason), the
  previous one and the resident;
* otherwise the latest reminder point (``SlaClock.reminder_times``) that has passed reminds the
  handler (earlier missed points are not sent late);
* a resolved ticket whose rating did not come within ``rating_days`` working days is closed as
  未评价 (``unrated``);
* then its ``next_due_at`` moves to the first moment after ``now`` (None: nothing more until the
  ticket changes).

Provisional deadlines move when the calendar changes, not at a moment of their own: the first
sweep with a calendar (and SLA settings) this process has not swept with yet also reads every
provisional ticket with a running clock.

Exactly once: every reminder and escalation inserts a ``ClockMark`` unique on
``(ticket_id, stage, kind, due_at)`` in the same transaction as its change, its outbox rows and
the ticket's new ``next_due_at``. A batch is claimed ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so a
concurrent sweep takes other tickets. When a batch fails on a concurrent writer (SQLite's single
writer, a unique mark) it rolls back whole and its tickets are tried again one transaction each,
re-read under the same condition: one the other sweep handled is no longer due and is skipped.
A restart re-reads the marks and the due times from the database, so nothing is repeated and
nothing is lost.

Cost: a batch is one transaction with a fixed number of statements, whatever it does — its
tickets, their grids and the duties along their ladders with those people, their marks; then the
marks, the next due times and the outbox rows (``store.outbox.buffered``) each written by one
statement. On PostgreSQL escalations add no round trips of their own: their trail rows take ids
from the sequence (``store.db.IdBlocks``) and the batch's transitions are flushed together at its
end. ``bench/sla_sweep.py`` measures it (1,000 due tickets: about 70 statements).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from cases.deadlines import DEFAULT_MORNING, SlaClock, Stage
from cases.ladder import Level, handler_for
from cases.model import Action, Actor, Status
from cases.next_due import next_due
from cases.service import KnownDuties, Workflow, active_stage, ladder_path
from notify import Messenger
from notify.ticket_events import Announcer
from notify.tickets import format_deadline
from notify.wording import tickets as T
from services.container import Services
from store.clock import utcnow
from store.db import IdBlocks
from store.models import Person, Ticket, TicketEvent
from store.outbox import buffered
from store.roster import load_grid_paths, people_by_ids
from store.sla import ClockMark

if TYPE_CHECKING:
    from schedules.context import JobContext

log = logging.getLogger(__name__)

BATCH_SIZE = 200
_CLOCKED = (Status.CREATED, Status.RETURNED, Status.DISPATCHED, Status.ACCEPTED, Status.RESOLVED)


@dataclass
class SweepReport:
    """What one sweep did (counts by kind; tickets skipped because another sweep held them)."""

    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    closed_unrated: list[int] = field(default_factory=list)
    recomputed: list[int] = field(default_factory=list)
    skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"reminded": len(self.reminded), "escalated": len(self.escalated),
                "closed_unrated": len(self.closed_unrated),
                "recomputed": len(self.recomputed), "skipped": self.skipped}

    def add(self, other: SweepReport) -> None:
        """Count a committed batch."""
        self.reminded += other.reminded
        self.escalated += other.escalated
        self.closed_unrated += other.closed_unrated
        self.recomputed += other.recomputed
        self.skipped += other.skipped


def _factory(source: Any) -> sessionmaker[Session]:
    return source.session_factory if hasattr(source, "session_factory") else source


def run_sweep(context: JobContext) -> dict[str, Any]:
    """The scheduler's job (every minute): one sweep at the current time, then wake delivery."""
    report = sweep(context, context.services, utcnow())
    context.runtime.wake_delivery.set()
    return report.as_dict()


def sweep(source: Any, services: Services, now: datetime, *,
          batch_size: int = BATCH_SIZE) -> SweepReport:
    """Run every due clock once; ``source`` is a session factory or anything with one."""
    run = _Sweep(_factory(source), services, now, batch_size)
    if _CalendarsSwept.is_new(services):
        run.provisional()
        _CalendarsSwept.remember(services)
    run.due()
    return run.report


class _CalendarsSwept:
    """The calendar and SLA settings the provisional tickets were last recomputed with."""

    _lock = threading.Lock()
    _last: tuple[object, object] | None = None

    @classmethod
    def is_new(cls, services: Services) -> bool:
        with cls._lock:
            last = cls._last
        return last is None or last[0] is not services.calendar or last[1] is not services.settings.sla

    @classmethod
    def remember(cls, services: Services) -> None:
        with cls._lock:
            cls._last = (services.calendar, services.settings.sla)


class _Sweep:
    """One sweep at ``now``: claims batches, runs each ticket's clocks, counts what it did."""

    def __init__(self, factory: sessionmaker[Session], services: Services, now: datetime,
                 batch_size: int) -> None:
        self.factory = factory
        self.services = services
        self.now = now
        self.batch_size = batch_size
        self.report = SweepReport()

    def due(self) -> None:
        """Every ticket whose next moment has come, oldest first (keyset on the index)."""
        condition = Ticket.next_due_at <= self.now
        after: tuple[datetime, int] | None = None
        while True:
            query = select(Ticket).where(condition)
            if after is not None:  # (next_due_at, id) > after, as the index can range over it
                query = query.where(Ticket.next_due_at >= after[0], or_(
                    Ticket.next_due_at > after[0], Ticket.id > after[1]))
            last = self._batch(query.order_by(Ticket.next_due_at, Ticket.id), condition)
            if last is None:
                return
            after = (last.next_due, last.id)

    def provisional(self) -> None:
        """Every provisional ticket with a running clock (its deadline may move)."""
        condition = Ticket.deadlines_provisional.is_(True) & Ticket.status.in_(
            [str(s) for s in _CLOCKED])
        after = 0
        while True:
            query = select(Ticket).where(condition, Ticket.id > after).order_by(Ticket.id)
            last = self._batch(query, condition)
            if last is None:
                return
            after = last.id

    def _batch(self, query: Select[tuple[Ticket]], condition: ColumnElement[bool]) -> _Key | None:
        """Claim and run one batch; the key of its last ticket, or None when it was the last."""
        query = (query.options(selectinload(Ticket.assignee), selectinload(Ticket.reporter))
                 .limit(self.batch_size)
                 .with_for_update(skip_locked=True, of=Ticket))
        ids: list[int] = []
        try:
            with self.factory() as session, session.begin(), buffered(session):
                tickets = list(session.scalars(query))
                if not tickets:
                    return None
                ids = [t.id for t in tickets]
                last = _Key(tickets[-1].next_due_at or self.now, tickets[-1].id)
                done = SweepReport()
                work = _TicketSweep(session, self.services, self.now, done, tickets)
                for ticket in tickets:
                    work.run(ticket)
                work.write()
        except (IntegrityError, OperationalError) as error:
            if not ids:
                raise
            log.info("sla sweep: batch of %d met a concurrent sweep (%s); one by one", len(ids),
                     type(error).__name__)
            self._one_by_one(ids, condition)
            return _Key(last.next_due, last.id) if len(ids) == self.batch_size else None
        self.report.add(done)
        return last if len(tickets) == self.batch_size else None

    def _one_by_one(self, ids: list[int], condition: ColumnElement[bool]) -> None:
        """A failed batch again, a transaction per ticket, each re-read under ``condition``."""
        for ticket_id in ids:
            done = SweepReport()
            try:
                with self.factory() as session, session.begin(), buffered(session):
                    ticket = session.scalar(
                        select(Ticket).where(Ticket.id == ticket_id, condition)
                        .with_for_update(skip_locked=True, of=Ticket))
                    if ticket is None:  # handled by the other sweep, or held by it now
                        done.skipped += 1
                    else:
                        work = _TicketSweep(session, self.services, self.now, done, [ticket])
                        work.run(ticket)
                        work.write()
            except (IntegrityError, OperationalError) as error:
                # another sweep did (or is doing) this one: its mark wins, ours rolled back
                log.info("sla sweep: ticket %s left to a concurrent sweep (%s)", ticket_id,
                         type(error).__name__)
                done = SweepReport(skipped=1)
            self.report.add(done)


@dataclass(frozen=True)
class _BatchClock(SlaClock):
    """The SLA clock of one batch: a stage's reminder points are computed once, though both
    the due check and the next due time ask for them."""

    points: dict[tuple[Any, ...], list[datetime]] = field(default_factory=dict, compare=False)

    def reminder_times(self, start: datetime, due: datetime,
                       fractions: Iterable[float] | None = None,
                       last_working_day: bool | None = None,
                       morning: time = DEFAULT_MORNING) -> list[datetime]:
        key = (start, due, None if fractions is None else tuple(fractions), last_working_day,
               morning)
        if key not in self.points:
            self.points[key] = super().reminder_times(
                start, due, key[2], last_working_day, morning)
        return list(self.points[key])


@dataclass(frozen=True)
class _Key:
    """Where a batch ended: the next batch starts after it."""

    next_due: datetime
    id: int


_MarkKey = tuple[int, str, str, datetime]


class _TicketSweep:
    """The clocks of a batch of tickets, one after the other, inside the caller's transaction."""

    def __init__(self, session: Session, services: Services, now: datetime,
                 report: SweepReport, tickets: list[Ticket]) -> None:
        self.session = session
        self.services = services
        self.now = now
        self.report = report
        self.clock = _BatchClock(services.settings.sla, services.calendar)
        # kept for the batch: its ladder paths are walked without reading a grid at a time, and
        # who is on duty along them is read once (with those people), not once per escalation
        self.grids = load_grid_paths(session, (t.grid_id for t in tickets))
        self.duties = KnownDuties.read(session, (g.code for g in self.grids))
        self.staff = people_by_ids(session, self.duties.person_ids())
        # PostgreSQL: trail rows get their ids from the sequence up front, and the batch's
        # transitions are flushed together at its end rather than one round trip each
        self.together = session.get_bind().dialect.name == "postgresql"
        self.workflow = Workflow(
            session, services.settings, self.clock, known_duties=self.duties,
            event_ids=IdBlocks(session, TicketEvent.__tablename__) if self.together else None)
        self.new_marks: list[dict[str, Any]] = []
        self.next_due: list[dict[str, Any]] = []
        self.marks: set[_MarkKey] = {
            (row.ticket_id, row.stage, row.kind, row.due_at) for row in session.execute(
                select(ClockMark.ticket_id, ClockMark.stage, ClockMark.kind, ClockMark.due_at)
                .where(ClockMark.ticket_id.in_([t.id for t in tickets])))
        }

    def run(self, ticket: Ticket) -> None:
        """Do what is due for the (locked) ticket; its next due time moves past ``now``."""
        with self.session.no_autoflush if self.together else nullcontext():
            self._due(ticket)
        self.next_due.append(
            {"id": ticket.id, "next_due_at": next_due(ticket, self.clock, after=self.now)})

    def write(self) -> None:
        """The batch's marks and next due times, one statement each (executemany)."""
        if self.new_marks:
            self.session.execute(insert(ClockMark), self.new_marks)
        if self.next_due:
            self.session.execute(update(Ticket), self.next_due)

    def _due(self, ticket: Ticket) -> None:
        if ticket.status == Status.RESOLVED:
            self._rating(ticket)
            return
        stage = active_stage(ticket)
        if stage is None:
            return
        name, start, due = stage
        if ticket.deadlines_provisional:
            due = self._recompute(ticket, name, start, due)
        if self.now >= due:
            self._overdue(ticket, name, due)
            return
        passed = [p for p in self.clock.reminder_times(start, due) if p <= self.now]
        if passed:
            self._remind(ticket, name, passed[-1], due)

    # -- marks ----------------------------------------------------------------------------------

    def _mark(self, ticket: Ticket, stage: Stage, kind: str, at: datetime) -> bool:
        """Add the mark; False when it is there already (done before).

        Written with the batch (``write``), in its transaction. A concurrent twin (possible on
        SQLite only: PostgreSQL's batches hold their rows) fails there on the unique constraint
        and rolls back.
        """
        key = (ticket.id, str(stage), kind, at)
        if key in self.marks:
            return False
        self.marks.add(key)
        self.new_marks.append({"ticket_id": ticket.id, "stage": str(stage), "kind": kind,
                               "due_at": at, "created_at": self.now})
        return True

    # -- what the clocks do ----------------------------------------------------------------------

    def _recompute(self, ticket: Ticket, stage: Stage, start: datetime, due: datetime) -> datetime:
        result = self.clock.recompute(stage, start, due, ticket.tier, ticket.source)
        ticket.deadlines_provisional = not result.final
        if not result.changed:
            return due
        column = {Stage.DISPATCH: "dispatch_due", Stage.ACCEPT: "accept_due",
                  Stage.RESOLVE: "resolve_due"}[stage]
        setattr(ticket, column, result.new.at)
        self.report.recomputed.append(ticket.id)
        for person in self._handlers(ticket):
            Messenger(self.session).text_to(
                person, key=f"t{ticket.id}:moved:{stage}:{result.new.at.isoformat()}:{person.userid}",
                text=T.DEADLINE_MOVED.format(number=ticket.id, due=self._fmt(ticket, result.new.at)),
                ticket_id=ticket.id)
        return result.new.at

    def _remind(self, ticket: Ticket, stage: Stage, point: datetime, due: datetime) -> None:
        if not self._mark(ticket, stage, "remind", point):
            return
        text = T.REMINDER.format(
            number=ticket.id, category=self._category(ticket), due=self._fmt(ticket, due),
            verb=T.STAGE_VERBS[str(stage)])
        for person in self._handlers(ticket):
            Messenger(self.session).text_to(
                person, key=f"t{ticket.id}:remind:{stage}:{point.isoformat()}:{person.userid}",
                text=text, ticket_id=ticket.id, urgent=ticket.urgent)
        self.report.reminded.append(ticket.id)

    def _overdue(self, ticket: Ticket, stage: Stage, due: datetime) -> None:
        if not self._mark(ticket, stage, "overdue", due):
            return
        reason = T.OVERDUE_REASONS[str(stage)] + f"（{self._fmt(ticket, due)}）"
        outcome = self.workflow.act(
            ticket, Action.ESCALATE, Actor.system(), now=self.now, note=reason,
            data={"overdue_stage": str(stage), "due": due.isoformat()},
        )
        if not outcome.allowed:
            log.warning("sla sweep: ticket %s overdue but not escalated: %s", ticket.id,
                        outcome.reason)
            return
        Announcer(Messenger(self.session, self.services.settings.aibot.name),
                  self.services.calendar, self._category(ticket)).announce(
            outcome, None, reason=reason)
        self.report.escalated.append(ticket.id)

    def _rating(self, ticket: Ticket) -> None:
        due = self.workflow.rating_due(ticket)
        if due is None or self.now < due:
            return
        if not self._mark(ticket, Stage.RATING, "overdue", due):
            return
        outcome = self.workflow.act(
            ticket, Action.CLOSE_UNRATED, Actor.system(), now=self.now,
            data={"rating_days": self.services.settings.sla.rating_days},
        )
        if outcome.allowed:
            Announcer(Messenger(self.session, self.services.settings.aibot.name),
                      self.services.calendar, self._category(ticket)).announce(outcome, None)
            self.report.closed_unrated.append(ticket.id)

    # -- helpers -----------------------------------------------------------------------------------

    def _handlers(self, ticket: Ticket) -> list[Person]:
        """Who a reminder goes to: the assignee, else the centre on duty for the ticket."""
        if ticket.assignee is not None:
            return [ticket.assignee]
        path = ladder_path(self.session, self.services.settings, ticket)
        level = Level(ticket.level) if ticket.level else Level.CENTER
        on_path = self.workflow.duties(path)
        found = handler_for(level, path, on_path) or handler_for(Level.CENTER, path, on_path)
        return people_by_ids(self.session, found.person_ids) if found else []

    def _category(self, ticket: Ticket) -> str:
        return self.services.classifier.category_name(ticket.category)

    def _fmt(self, ticket: Ticket, when: datetime) -> str:
        return format_deadline(ticket, when, self.services.calendar)
