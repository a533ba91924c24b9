"""The township's people and places in the database: sync from config, and look-ups.

``sync_township`` makes the grid tree, the roster and the group chats in the database match
config.yaml (upsert; people who left the roster are deactivated, never deleted, because tickets
point at them). The look-ups answer plain questions; deciding who should handle what is
``cases``' job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from settings.model import Settings
from store.models import Grid, GroupChat, Membership, Person
from vocab import STAFF_ROLES

_CHUNK = 5000  # ids per IN (…): below SQLite's limit on bound parameters


def sync_township(session: Session, settings: Settings) -> None:
    """Upsert grids, people, memberships and group chats from ``settings``."""
    grids = {g.code: g for g in session.scalars(select(Grid))}
    for node in settings.grids:  # parents come before children in settings.grids
        grid = grids.get(node.code)
        if grid is None:
            grid = grids[node.code] = Grid(code=node.code)
            session.add(grid)
        grid.name, grid.level = node.name, node.level
        grid.parent = grids[node.parent] if node.parent else None
    session.flush()

    people = _people_to_sync(session, [entry.userid for entry in settings.roster])
    listed = set()
    for entry in settings.roster:
        listed.add(entry.userid)
        person = people.get(entry.userid)
        if person is None:
            person = people[entry.userid] = Person(userid=entry.userid)
            session.add(person)
        person.name, person.role, person.active = entry.name, entry.role, True
        person.phone, person.department = entry.phone, entry.department
        person.grid = grids[entry.grids[0]] if entry.role == "resident" and entry.grids else None
    for userid, person in people.items():
        if userid not in listed and person.role in STAFF_ROLES:
            person.active = False
    session.flush()

    wanted = {
        (people[e.userid].id, grids[code].id, e.role)
        for e in settings.roster
        if e.role in STAFF_ROLES
        for code in e.grids
    }
    existing = {(m.person_id, m.grid_id, m.role): m for m in session.scalars(select(Membership))}
    for key in wanted - existing.keys():
        session.add(Membership(person_id=key[0], grid_id=key[1], role=key[2]))
    for key in existing.keys() - wanted:
        session.delete(existing[key])

    chats = {c.chat_id: c for c in session.scalars(select(GroupChat))}
    for group in settings.groups:
        chat = chats.get(group.chat_id)
        if chat is None:
            chat = GroupChat(chat_id=group.chat_id)
            session.add(chat)
        chat.name, chat.grid = group.name, grids[group.grid]
        chat.webhook_key, chat.appchat = group.webhook_key, group.appchat
    session.flush()


def _people_to_sync(session: Session, userids: list[str]) -> dict[str, Person]:
    """The listed people who exist, and every active staff member (who may have left): not the
    whole county's residents, who write in on their own and are not in the roster."""
    people: dict[str, Person] = {}
    for i in range(0, len(userids), _CHUNK):
        chunk = userids[i:i + _CHUNK]
        people.update((p.userid, p) for p in session.scalars(
            select(Person).where(Person.userid.in_(chunk))))
    for person in session.scalars(select(Person).where(
            Person.role.in_(STAFF_ROLES), Person.active.is_(True))):
        people.setdefault(person.userid, person)
    return people


def group_for(session: Session, chat_id: str | None) -> GroupChat | None:
    if not chat_id:
        return None
    return session.scalar(select(GroupChat).where(GroupChat.chat_id == chat_id))


def grid_by_code(session: Session, code: str) -> Grid | None:
    return session.scalar(select(Grid).where(Grid.code == code))


def grid_path(grid: Grid | None) -> tuple[Grid, ...]:
    """The grid and its ancestors, root first."""
    path: list[Grid] = []
    while grid is not None:
        path.append(grid)
        grid = grid.parent
    return tuple(reversed(path))


def load_grid_paths(session: Session, grid_ids: Iterable[int | None]) -> list[Grid]:
    """The grids and their ancestors, a level per query, so that walking many rows' paths
    (ladders, visibility) reads no grid one by one. Keep the list while walking: the session's
    identity map holds its objects only while someone else does."""
    loaded: list[Grid] = []
    wanted = {i for i in grid_ids if i is not None}
    while wanted:
        grids = session.scalars(select(Grid).where(Grid.id.in_(wanted))).all()
        loaded += grids
        wanted = {g.parent_id for g in grids if g.parent_id is not None}
    return loaded


def subtree_ids(session: Session, root_ids: Iterable[int]) -> set[int]:
    """Ids of the given grids and every grid below them."""
    all_grids = session.execute(select(Grid.id, Grid.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for grid_id, parent_id in all_grids:
        children.setdefault(parent_id, []).append(grid_id)
    found: set[int] = set()
    stack = list(root_ids)
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, ()))
    return found


def duties(
    session: Session, codes: Iterable[str] | None = None
) -> dict[str, dict[str, list[int]]]:
    """Grid code → role → ids of the active people holding that duty there; only the grids
    ``codes`` when given (a ticket's ladder path: a few rows, not the whole county's roster)."""
    query = (
        select(Grid.code, Membership.role, Person.id)
        .join(Membership, Membership.grid_id == Grid.id)
        .join(Person, Person.id == Membership.person_id)
        .where(Person.active.is_(True))
        .order_by(Person.id)
    )
    if codes is not None:
        query = query.where(Grid.code.in_(list(codes)))
    rows = session.execute(query).all()
    result: dict[str, dict[str, list[int]]] = {}
    for code, role, person_id in rows:
        result.setdefault(code, {}).setdefault(role, []).append(person_id)
    return result


def memberships_of(session: Session, person: Person) -> list[tuple[str, str]]:
    """(grid code, role) pairs of a staff member's duties."""
    rows = session.execute(
        select(Grid.code, Membership.role)
        .join(Membership, Membership.grid_id == Grid.id)
        .where(Membership.person_id == person.id)
    ).all()
    return [(code, role) for code, role in rows]


def people_by_ids(session: Session, ids: Iterable[int]) -> list[Person]:
    """The people of ``ids`` that exist, in the order asked.

    Those read before in the session are not read again: routing a batch of reports in one
    session dispatches most of them to the same few grid workers (a query per batch, not per
    report). The session's identity map holds its objects weakly, so the people read here are
    also kept in ``session.info``, for the current transaction only.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    transaction = session.get_transaction()
    read = session.info.get(_PEOPLE_READ)
    if transaction is None:  # none begun yet: this read begins one, kept for it alone
        read = None
    if read is None or read[0] is not transaction:
        read = (transaction, {})
        if transaction is not None:
            session.info[_PEOPLE_READ] = read
    held: dict[int, Person] = read[1]
    missing = [person_id for person_id in wanted if person_id not in held]
    if missing:
        held.update((p.id, p) for p in session.scalars(select(Person).where(
            Person.id.in_(missing))))
    return [held[person_id] for person_id in wanted if person_id in held]


_PEOPLE_READ = "people_by_ids"


def people_with_role(session: Session, role: str) -> list[Person]:
    return list(
        session.scalars(select(Person).where(Person.role == role, Person.active.is_(True)))
    )


@dataclass(frozen=True)
class GridInfo:
    """A grid node as plain data (no session needed)."""

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


@dataclass(frozen=True)
class RosterIndex:
    """The grid tree and the duties on it, read in two queries, for the hot path."""

    grids: dict[int, GridInfo]
    by_code: dict[str, GridInfo]
    duties: dict[str, dict[str, list[int]]]
    children: dict[int, list[int]]

    def subtree(self, grid_id: int) -> set[int]:
        """``grid_id`` and every grid below it."""
        found = {grid_id}
        frontier = [grid_id]
        while frontier:
            parent = frontier.pop()
            for child in self.children.get(parent, ()):
                found.add(child)
                frontier.append(child)
        return found

    def enclosing(self, grid_id: int, level: str) -> int:
        """The nearest node at ``level`` on the way up from ``grid_id`` (itself if none)."""
        current: int | None = grid_id
        while current is not None:
            if self.grids[current].level == level:
                return current
            current = self.grids[current].parent_id
        return grid_id

    def path_codes(self, grid_id: int | None) -> tuple[str, ...]:
        """Codes from the root down to ``grid_id`` (empty for None)."""
        codes: list[str] = []
        while grid_id is not None:
            info = self.grids[grid_id]
            codes.append(info.code)
            grid_id = info.parent_id
        return tuple(reversed(codes))


def load_index(session: Session) -> RosterIndex:
    grids = {
        row.id: GridInfo(row.id, row.code, row.name, row.level, row.parent_id)
        for row in session.execute(
            select(Grid.id, Grid.code, Grid.name, Grid.level, Grid.parent_id)
        )
    }
    children: dict[int, list[int]] = {}
    for grid in grids.values():
        if grid.parent_id is not None:
            children.setdefault(grid.parent_id, []).append(grid.id)
    return RosterIndex(grids, {g.code: g for g in grids.values()}, duties(session), children)


class RosterCache:
    """A :class:`RosterIndex` reloaded at most every ``ttl`` seconds (the roster changes when
    config is synced, rarely; every process picks the change up within ``ttl``)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._index: RosterIndex | None = None
        self._loaded_at = 0.0

    def get(self, session: Session) -> RosterIndex:
        with self._lock:
            if self._index is None or time.monotonic() - self._loaded_at > self.ttl:
                self._index = load_index(session)
                self._loaded_at = time.monotonic()
            return self._index

    def invalidate(self) -> None:
        with self._lock:
            self._index = None
