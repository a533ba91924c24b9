"""Residents outside the roster: who a message's sender is, and what their message tells us.

config.yaml's roster lists the staff (and the few residents a township registers); most
residents of a grid group are in no list. :func:`recognise` takes every sender:

* a person already known is returned, with what the message proves about reaching them: writing
  to the app 1:1 shows the app reaches them; writing in a grid group makes that group their group
  route; a resident still without a grid takes the grid of the group;
* an unknown member of a grid group (a group chat mapped to a grid) is enrolled as a resident of
  that grid (``enrolled_via`` group, the chat, first seen);
* an unknown 1:1 sender is enrolled without a grid (``enrolled_via`` app); the first grid group
  they write in gives them its grid. Until then their reports go to the centre's triage.

:func:`note_unreached` puts on a ticket's trail that a message for its resident could not be
delivered by any route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from store.models import GroupChat, Person, TicketEvent
from store.prompts import PendingPrompt
from vocab import UNREACHED, Enrolment, Role


@dataclass(frozen=True)
class Recognised:
    """A message's sender, and whether the bot has a question of theirs on record (a rating
    prompt or a "which ticket?"): only then is their message read as a possible answer."""

    person: Person
    prompts_on_record: bool


def recognise(
    session: Session, userid: str, *, one_to_one_app: bool, group: GroupChat | None,
    now: datetime,
) -> Recognised:
    """The person behind ``userid``, enrolled as a resident on first contact.

    ``one_to_one_app``: the message came through the self-built app (1:1); ``group``: the
    mapped group chat it was written in, if any.
    """
    grid_group = group if group is not None and group.grid_id is not None else None
    # their grid and whether any prompt of theirs is on record, in the same query: a report is
    # placed in the grid, and most senders have no prompt to look up (no more round trips)
    prompted = exists().where(PendingPrompt.person_id == Person.id)
    found = session.execute(
        select(Person, prompted).options(joinedload(Person.grid)).where(Person.userid == userid)
    ).first()
    if found is None:
        person = _enrol(session, userid, one_to_one_app=one_to_one_app, group=grid_group, now=now)
        on_record = False
    else:
        person, on_record = found
    _note_route(person, one_to_one_app, grid_group)
    return Recognised(person, prompts_on_record=bool(on_record))


def _note_route(person: Person, one_to_one_app: bool, grid_group: GroupChat | None) -> None:
    """What a resident's message proves about reaching them (staff are left as configured)."""
    if person.role != Role.RESIDENT:
        return
    if one_to_one_app and person.app_reachable is not True:
        person.app_reachable = True
    if grid_group is not None:
        if person.seen_chat_id != grid_group.chat_id:
            person.seen_chat_id = grid_group.chat_id
        if person.grid_id is None:
            person.grid_id = grid_group.grid_id


def _enrol(
    session: Session, userid: str, *, one_to_one_app: bool, group: GroupChat | None,
    now: datetime,
) -> Person:
    via = (Enrolment.GROUP if group is not None
           else Enrolment.APP if one_to_one_app else Enrolment.AIBOT)
    try:
        with session.begin_nested():
            person = Person(
                userid=userid, name="", role=Role.RESIDENT, active=True,
                grid_id=group.grid_id if group is not None else None,
                enrolled_via=via, enrolled_chat_id=group.chat_id if group is not None else None,
                first_seen_at=now,
            )
            session.add(person)
    except IntegrityError:  # a concurrent message of the same person enrolled them first
        found = session.scalar(select(Person).where(Person.userid == userid))
        assert found is not None
        return found
    return person


def note_unreached(
    session: Session, ticket_id: int, note: str, data: dict[str, Any], now: datetime
) -> TicketEvent:
    """The trail entry of a message the resident of ``ticket_id`` never received."""
    event = TicketEvent(ticket_id=ticket_id, actor_id=None, action=UNREACHED, note=note,
                        data=data, created_at=now)
    session.add(event)
    session.flush()
    return event
