"""A ticket's next due time: the earliest moment the SLA sweep has something to do for it.

``Ticket.next_due_at`` is indexed, so a sweep reads only the tickets whose moment has come
instead of every open ticket. It is written in the transaction of every change:

* by ``Workflow.apply`` (every transition: dispatch, accept, transfer, escalate, return, resolve,
  rate, reopen, close …) and by intake, with ``after=None``: the first moment of the running
  stage counted from its start, so nothing the sweep has not handled yet is ever skipped;
* by the sweep after it handled a ticket at ``now``, with ``after=now``: the first moment
  strictly later than that sweep.

What is due, by status (``schedules.sla`` does the work):

* a running stage (dispatch, accept, resolve): each reminder point
  (``SlaClock.reminder_times``), then the due time itself (escalation);
* ``resolved``: the rating deadline (closed as 未评价);
* anything else, or a stage whose due time has been handled: nothing (``None``).

A provisional deadline (``deadlines_provisional``) may move when the calendar learns a year;
that is not a moment of the ticket but a change of the calendar, so the sweep also reads the
provisional tickets whenever it runs with a calendar it has not recomputed them with yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case

from cases.deadlines import SlaClock, Stage
from cases.model import Status
from store.models import Ticket


def active_stage(ticket: Ticket) -> tuple[Stage, datetime, datetime] | None:
    """The running SLA stage of a ticket: (stage, started at, due at), or None."""
    status = ticket.status
    if status in (Status.CREATED, Status.RETURNED) and ticket.dispatch_due is not None:
        start = ticket.dispatched_at if status == Status.RETURNED else ticket.created_at
        return Stage.DISPATCH, start or ticket.created_at, ticket.dispatch_due
    if status == Status.DISPATCHED and ticket.accept_due and ticket.dispatched_at:
        return Stage.ACCEPT, ticket.dispatched_at, ticket.accept_due
    if status == Status.ACCEPTED and ticket.resolve_due and ticket.accepted_at:
        return Stage.RESOLVE, ticket.accepted_at, ticket.resolve_due
    return None


def running_due_column() -> Any:
    """:func:`active_stage`'s due time for the handler's statuses (dispatched, accepted) as a
    SQL expression, the creation time when no stage runs: lists sort and page by it."""
    return case(
        (and_(Ticket.status == Status.DISPATCHED, Ticket.accept_due.is_not(None),
              Ticket.dispatched_at.is_not(None)), Ticket.accept_due),
        (and_(Ticket.status == Status.ACCEPTED, Ticket.resolve_due.is_not(None),
              Ticket.accepted_at.is_not(None)), Ticket.resolve_due),
        else_=Ticket.created_at,
    )


def next_due(ticket: Ticket, clock: SlaClock, after: datetime | None = None) -> datetime | None:
    """The first moment after ``after`` (from the stage's start when None) something is due."""
    if ticket.status == Status.RESOLVED:
        if ticket.resolved_at is None:
            return None
        rating_due = clock.rating_due(ticket.resolved_at).at
        return rating_due if after is None or rating_due > after else None
    stage = active_stage(ticket)
    if stage is None:
        return None
    _, start, due = stage
    for point in clock.reminder_times(start, due):
        if after is None or point > after:
            return point
    return due if after is None or due > after else None


def refresh_next_due(ticket: Ticket, clock: SlaClock, after: datetime | None = None) -> None:
    """Store ``next_due`` on the ticket (the caller's transaction writes it)."""
    ticket.next_due_at = next_due(ticket, clock, after)
