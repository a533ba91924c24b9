"""Reaching a resident: the routes a message can take to them, chosen from what is known.

The routes, each an outbox channel:

* **app** — a 1:1 message from the self-built app (``message/send``, text). WeCom accepts it only
  for members of the corp within the app's visible range and answers ``invaliduser`` for the
  others; that answer marks the person's app route unusable (``Person.app_reachable`` False).
* **group** — in their grid group: through the group robot (``webhook``, text with
  ``mentioned_list``, so WeCom @-mentions them), or, where the group is the app's own chat
  (``appchat``, which cannot @), with their name leading the text. Group text is PII-masked.

The group is the ticket's (where it was reported), else the one the resident last wrote in,
else the one they were enrolled from. A resident enrolled from a group whose app route is not
proven gets the group route first; everyone else the app first, with the group behind it.

The smart bot's ``response_url`` is no route for later messages: WeCom lets it be called once,
within an hour, and the bot's immediate answer to that message (已受理 …) uses it.

:func:`send_to_resident` renders the message for every route at once and writes the first
route's outbox row ``pending`` with the others ``held`` behind it (``fallback_of_id``), all in
the caller's transaction. The delivery worker then calls :func:`after_delivery` with each
outcome: a success sets the held rows ``skipped``; a failure for good releases the next usable
held row — and when none is left, the ticket's trail records that the resident was not reached
and its handler (or the centre) is told what was tried.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.residents import note_unreached
from nlp import mask_pii
from notify.wording import residents as T
from store.clock import utcnow
from store.models import GroupChat, OutboxMessage, Person, Ticket
from store.outbox import enqueue, put
from store.roster import people_with_role

FALLBACK_DEPTH = 4  # longest chain of routes ever written for one message
SKIPPED_UNREACHABLE = "skipped: invaliduser earlier"  # an app route known not to reach them


@dataclass(frozen=True)
class Route:
    """One way to a resident: an outbox channel and target, and the group it passes through."""

    kind: str  # app|group
    channel: str  # app|webhook|appchat
    target: str
    group: GroupChat | None = None

    @property
    def via(self) -> str:
        """How a confirmation to staff says it (通过应用私信, 在网格群「…」@居民)."""
        if self.kind == "app":
            return T.VIA_APP
        return T.VIA_GROUP.format(group=_group_name(self.group))


@dataclass(frozen=True)
class Reach:
    """The routes planned for one message to a resident, the first one in use."""

    routes: tuple[Route, ...]

    @property
    def reachable(self) -> bool:
        return bool(self.routes)

    @property
    def via(self) -> str:
        return self.routes[0].via if self.routes else ""


def plan(session: Session, person: Person, chat_id: str | None = None) -> list[Route]:
    """The routes to ``person``, in the order to try them (empty: no way to reach them)."""
    group_route = _group_route(session, person, chat_id)
    app_route = (Route("app", "app", person.userid) if person.app_reachable is not False
                 else None)
    group_first = person.enrolled_via in ("group", "aibot") and person.app_reachable is not True
    ordered = [group_route, app_route] if group_first else [app_route, group_route]
    return [route for route in ordered if route is not None]


def _group_route(session: Session, person: Person, chat_id: str | None) -> Route | None:
    for candidate in dict.fromkeys(
        c for c in (chat_id, person.seen_chat_id, person.enrolled_chat_id) if c
    ):
        group = session.scalar(select(GroupChat).where(GroupChat.chat_id == candidate))
        if group is None:
            continue
        if group.webhook_key:
            return Route("group", "webhook", group.webhook_key, group)
        if group.appchat:
            return Route("group", "appchat", group.chat_id, group)
    return None


def render(route: Route, person: Person, text: str, reply_hint: str = "") -> dict[str, Any]:
    """The WeCom body (``text`` msgtype) of ``text`` on ``route``."""
    if route.kind == "app":
        return {"text": {"content": text}}
    content = mask_pii(text) + reply_hint
    if route.channel == "webhook":
        return {"text": {"content": content, "mentioned_list": [person.userid]}}
    return {"text": {"content": f"@{person.name or person.userid} {content}"}}


def send_to_resident(
    session: Session, person: Person, *, key: str, text: str, ticket_id: int | None,
    urgent: bool = False, chat_id: str | None = None, reply_hint: str = "",
    now: datetime | None = None,
) -> Reach:
    """Queue ``text`` for ``person`` on their first route, the other routes held behind it.

    ``chat_id``: the group the message concerns (the ticket's); ``reply_hint`` is added where
    the resident must @ the bot to answer. With no route at all, the failure is reported at once.
    """
    routes = tuple(plan(session, person, chat_id))
    if not routes:
        if ticket_id is not None:
            _report(session, ticket_id, person, text, [], key=key, now=now or utcnow())
        return Reach(())
    previous: int | None = None
    for index, route in enumerate(routes):
        row: dict[str, Any] = dict(
            key=key if index == 0 else f"{key}|{route.kind}", channel=route.channel,
            target=route.target, msgtype="text",
            payload=render(route, person, text, reply_hint), ticket_id=ticket_id,
            urgent=urgent, person_id=person.id, fallback_of_id=previous,
            status="pending" if index == 0 else "held",
        )
        if index == len(routes) - 1:  # nothing refers to the last row: it may wait in a buffer
            put(session, **row)
        else:
            previous = enqueue(session, **row)
    return Reach(routes)


# -- after each delivery attempt --------------------------------------------------------------


def after_delivery(session: Session, row_id: int, *, ok: bool, final: bool,
                   now: datetime) -> None:
    """What a resident's row's outcome means: route knowledge, fallback, or the failure report.

    ``final``: the row failed for good (``failed`` or ``dead``); retries still to come are not
    the end of the route.
    """
    row = session.get(OutboxMessage, row_id)
    if row is None or row.person_id is None:
        return
    person = session.get(Person, row.person_id)
    if person is None:
        return
    if ok:
        if row.channel == "app" and person.app_reachable is None:
            person.app_reachable = True
        _skip_followers(session, row)
        return
    if not final:
        return
    if row.channel == "app" and "invaliduser" in (row.last_error or ""):
        person.app_reachable = False
    follower = _follower(session, row)
    while follower is not None and follower.channel == "app" and person.app_reachable is False:
        follower.status, follower.last_error = "skipped", SKIPPED_UNREACHABLE
        follower = _follower(session, follower)
    if follower is not None:
        follower.status, follower.next_attempt_at = "pending", now
        return
    if row.ticket_id is not None:
        chain = _chain(session, row)
        _report(session, row.ticket_id, person, _content(chain[0]),
                [(r, r.last_error or "") for r in chain
                 if r.status in ("failed", "dead") or r.last_error == SKIPPED_UNREACHABLE],
                key=f"unreached:{chain[0].id}", now=now)


def _follower(session: Session, row: OutboxMessage) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(
        OutboxMessage.fallback_of_id == row.id, OutboxMessage.status == "held"))


def _skip_followers(session: Session, row: OutboxMessage) -> None:
    follower = _follower(session, row)
    for _ in range(FALLBACK_DEPTH):
        if follower is None:
            return
        follower.status = "skipped"
        follower = _follower(session, follower)


def _chain(session: Session, row: OutboxMessage) -> list[OutboxMessage]:
    """The rows of one message to the resident, first route first."""
    chain = [row]
    while chain[0].fallback_of_id is not None and len(chain) < FALLBACK_DEPTH:
        earlier = session.get(OutboxMessage, chain[0].fallback_of_id)
        if earlier is None:
            break
        chain.insert(0, earlier)
    return chain


def _content(row: OutboxMessage) -> str:
    part = (row.payload or {}).get(row.msgtype) or {}
    return str(part.get("content", "")) if isinstance(part, dict) else ""


# -- telling the truth ------------------------------------------------------------------------


def _route_label(session: Session, row: OutboxMessage) -> str:
    if row.channel == "app":
        return T.ROUTE_APP
    column = GroupChat.webhook_key if row.channel == "webhook" else GroupChat.chat_id
    group = session.scalar(select(GroupChat).where(column == row.target))
    template = T.ROUTE_WEBHOOK if row.channel == "webhook" else T.ROUTE_APPCHAT
    return template.format(group=_group_name(group))


def _error_label(error: str) -> str:
    """A delivery error as staff can read it (the raw error stays on the outbox row)."""
    if error.startswith("invaliduser"):
        return T.ERROR_INVALIDUSER
    if error == SKIPPED_UNREACHABLE:
        return T.ERROR_SKIPPED
    found = re.match(r"errcode (-?\d+)", error)
    if found:
        code = int(found.group(1))
        return T.ERROR_CODES.get(code) or T.ERROR_CODE.format(code=code)
    return T.ERROR_OTHER.format(error=error[:60])


def _report(
    session: Session, ticket_id: int, person: Person, message: str,
    tried: Sequence[tuple[OutboxMessage, str]], *, key: str, now: datetime,
) -> None:
    """Put the failure on the ticket's trail and tell its handler (or the centre) the truth."""
    attempts = [(row.channel, _route_label(session, row), _error_label(error))
                for row, error in tried]
    if person.app_reachable is False and not any(channel == "app" for channel, _, _ in attempts):
        attempts.append(("app", T.ROUTE_APP, T.ERROR_SKIPPED))  # known not to reach them
    if any(channel != "app" for channel, _, _ in attempts):
        described = T.TRIED_JOIN.join(T.TRIED_ITEM.format(route=route, error=error)
                                      for _, route, error in attempts)
    else:  # no group to try: say so, whatever the app answered
        described = T.NO_ROUTE
    note_unreached(session, ticket_id, T.NOTE_UNREACHED.format(tried=described),
                   {"resident": person.userid, "routes": [c for c, _, _ in attempts],
                    "errors": [error for _, error in tried]}, now)
    ticket = session.get(Ticket, ticket_id)
    staff = [ticket.assignee] if ticket is not None and ticket.assignee is not None else \
        people_with_role(session, "center")
    text = T.TO_STAFF_UNREACHED.format(
        number=ticket_id, resident=person.name or person.userid, message=message[:120],
        tried=described)
    for member in staff:
        enqueue(session, key=f"{key}:{member.userid}", channel="app", target=member.userid,
                msgtype="text", payload={"text": {"content": text}}, ticket_id=ticket_id,
                urgent=True)


def _group_name(group: GroupChat | None) -> str:
    return (group.name if group is not None and group.name else T.UNKNOWN_GROUP)
