"""A county-sized database for load tests and capacity planning (``bot.py seed``, bench/).

Into an empty, migrated database, fast (``COPY`` on PostgreSQL, one ``executemany`` per chunk on
SQLite):

* :func:`township`: the grid tree county → township → villages (10 grids each) → grids; a worker
  per grid, a leader per village, the centre and the county centre, micro-grid members up to the
  staff asked for, and residents spread over the grids;
* :class:`TicketSeeder`: tickets created over the last 12 months (more in recent months; ids
  in the order of creation),
  categories weighted as reports come in, tiers from the category; older tickets mostly closed
  (rated 满意/一般/不满意 or 未评价), some withdrawn or merged; recent ones dispatched, accepted or
  resolved, about 8% past a deadline (with the sweep's overdue mark); due times and
  ``next_due_at`` as the state machine keeps them; the open originals of the last 48 hours are
  indexed for the duplicate search;
* :func:`seed_county`: all of it, then fresh planner statistics.

Ids are given explicitly (and PostgreSQL's sequences moved past them), so the database must hold
no grids, people or tickets yet.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, func, select, text

from cases.calendar import WorkCalendar
from cases.deadlines import SlaClock
from cases.duplicates import WINDOW, bigrams, prefix
from cases.next_due import next_due
from settings.model import SlaSettings
from store.clock import utcnow
from store.models import Grid, Membership, Person, Ticket, TicketMatchKey
from store.sla import ClockMark

CATEGORIES = (("environment", 22, "easy"), ("facility", 20, "general"), ("property", 12, "general"),
              ("dispute", 10, "general"), ("security", 8, "general"), ("safety", 7, "hard"),
              ("welfare", 7, "general"), ("care", 5, "easy"), ("population", 4, "easy"),
              ("other", 5, "general"))
TEXTS = ("下水道堵了，污水冒到路面", "小区东门路灯坏了三天", "楼道堆满杂物堵住消防通道",
         "邻居装修噪音太大", "路口井盖丢了很危险", "垃圾三天没人清运")
TICKET_COLUMNS = (
    "id", "status", "category", "tier", "urgent", "text", "classification", "grid_id",
    "reporter_id", "channel", "reply_to", "assignee_id", "level", "resolved_level",
    "duplicate_of_id", "created_at", "dispatched_at", "accepted_at", "resolved_at", "closed_at",
    "accept_due", "resolve_due", "deadlines_provisional", "rating", "next_due_at")
RATINGS = (("satisfied", 60), ("average", 15), ("unsatisfied", 3), ("unrated", 22))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def bulk_insert(engine: Engine, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], chunk: int = 20_000) -> int:
    """Insert ``rows`` (tuples in ``columns`` order); the number inserted. Datetimes are aware
    UTC (as the store keeps them); JSON columns take dicts."""
    count = 0
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            names = ", ".join(columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([_plain(v) for v in row])
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= chunk:
                connection.execute(table.insert(), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
            count += len(batch)
    return count


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL and SQLite ``ANALYZE``)."""
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def _move_sequences(engine: Engine, tables: Iterable[str]) -> None:
    """PostgreSQL: ids were given, so move each table's sequence past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for name in tables:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT COALESCE(max(id), 1) FROM {name}))"))


@dataclass(frozen=True)
class Township:
    """Ids of what :func:`township` seeded."""

    center_code: str
    grid_ids: list[int]  # grid-level nodes
    workers: list[int]  # person id of each grid's worker, same order as grid_ids
    residents: list[int]  # person ids
    staff: int


def township(engine: Engine, grids: int, residents: int, *, per_village: int = 10,
             extra_staff: int = 0) -> Township:
    """Seed the tree, a worker per grid, a leader per village, the centre and the residents.

    ``extra_staff`` more staff (micro-grid members, 联户长) are spread over the grids as
    ``micro`` duties, so the roster reaches a county's size.
    """
    villages = max(1, grids // per_village)
    tree: list[tuple[int, str, str, str, int | None]] = [
        (1, "640323", "盐池县", "county", None), (2, "640323001", "东顺街道", "township", 1)]
    for v in range(villages):
        tree.append((3 + v, f"640323001{v:04d}", f"第{v + 1}村", "village", 2))
    first_grid = 3 + villages
    for g in range(grids):
        tree.append((first_grid + g, f"640323001{g % villages:04d}{g:05d}", f"第{g + 1}网格",
                     "grid", 3 + g % villages))
    bulk_insert(engine, Grid.__table__, ("id", "code", "name", "level", "parent_id"), tree)
    grid_ids = [first_grid + g for g in range(grids)]

    people: list[tuple[Any, ...]] = []
    duties: list[tuple[int, int, int, str]] = []
    pid = 0

    def staff(role: str, grid_id: int) -> int:
        nonlocal pid
        pid += 1
        people.append((pid, f"s{pid}", f"职员{pid}", f"1390000{pid:04d}"[-11:], role, None, True))
        duties.append((pid, pid, grid_id, role))
        return pid

    staff("center", 2)
    staff("county", 1)
    for v in range(villages):
        staff("leader", 3 + v)
    workers = [staff("worker", gid) for gid in grid_ids]
    for i in range(extra_staff):
        staff("micro", grid_ids[i % grids])
    staff_count = pid
    resident_ids = []
    for i in range(residents):
        pid += 1
        resident_ids.append(pid)
        people.append((pid, f"r{pid}", f"居民{pid}", None, "resident", grid_ids[i % grids], True))
    bulk_insert(engine, Person.__table__,
                ("id", "userid", "name", "phone", "role", "grid_id", "active"), people)
    bulk_insert(engine, Membership.__table__, ("id", "person_id", "grid_id", "role"), duties)
    _move_sequences(engine, ("grids", "people", "memberships"))
    return Township("640323001", grid_ids, workers, resident_ids, staff_count)


class TicketSeeder:
    """Tickets with realistic shapes; due times computed once per (stage, start hour, tier).

    :meth:`tickets` yields rows in :data:`TICKET_COLUMNS` order and collects, on the way, the
    overdue clock marks (``marks``) and the duplicate-search keys of the recent open originals
    (``match_keys``).
    """

    def __init__(self, clock: SlaClock, town: Township, now: datetime, seed: int = 12) -> None:
        self.clock = clock
        self.town = town
        self.now = now.replace(minute=0, second=0, microsecond=0)
        self.random = random.Random(seed)
        self.cache: dict[tuple[str, Any, Any], Any] = {}
        self.marks: list[tuple[int, str, str, datetime, datetime]] = []
        self.match_keys: list[tuple[int, str, str, int, int, datetime]] = []
        self.categories = [c for c, _, _ in CATEGORIES]
        self.weights = [w for _, w, _ in CATEGORIES]
        self.tiers = {c: t for c, _, t in CATEGORIES}
        self.keys_of = {body: (len(grams := bigrams(body)), prefix(grams)) for body in TEXTS}

    def _due(self, stage: str, start: datetime, tier: str) -> datetime:
        key = (stage, start, tier)
        if key not in self.cache:
            self.cache[key] = (self.clock.accept_due(start).at if stage == "accept"
                               else self.clock.resolve_due(start, tier).at)
        return self.cache[key]

    def _next(self, status: str, start: datetime, accept_due: Any, resolve_due: Any,
              resolved: Any) -> datetime | None:
        key = ("next:" + status, start if status != "resolved" else resolved, str(resolve_due))
        if key not in self.cache:
            probe = Ticket(status=status, dispatched_at=start, accepted_at=start,
                           resolved_at=resolved, accept_due=accept_due, resolve_due=resolve_due)
            self.cache[key] = next_due(probe, self.clock)
        return self.cache[key]

    def _ages(self, count: int) -> list[int]:
        """Hours before now, oldest first: ids follow the time of creation, as they do when
        tickets are opened one after the other. More tickets in recent months: a triangular
        spread over 365 days, heavier at 0."""
        return sorted((int(self.random.triangular(0, 365 * 24, 0)) for _ in range(count)),
                      reverse=True)

    def tickets(self, count: int) -> Iterator[tuple[Any, ...]]:
        r = self.random
        town = self.town
        for i, age in enumerate(self._ages(count), start=1):
            created = self.now - timedelta(hours=age + 1)
            category = r.choices(self.categories, self.weights)[0]
            tier = self.tiers[category]
            g = r.randrange(len(town.grid_ids))
            reporter = town.residents[r.randrange(len(town.residents))]
            age_days = (self.now - created).days
            roll = r.random()
            status = ("withdrawn" if roll < 0.03 else "merged" if roll < 0.08 else
                      "closed" if age_days > 40 or roll < 0.5 else
                      "resolved" if roll < 0.62 and age_days > 2 else
                      "accepted" if roll < 0.85 else "dispatched")
            dispatched = created + timedelta(hours=1)  # hour-aligned: due times computed once
            accept_due = self._due("accept", dispatched, tier)
            late_accept = r.random() < 0.08
            accepted = resolve_due = resolved = closed = rating = None
            if status in ("accepted", "resolved", "closed"):
                accepted = accept_due + timedelta(hours=2) if late_accept else (
                    dispatched + (accept_due - dispatched) * r.random())
                if accepted > self.now:
                    accepted = self.now - timedelta(minutes=5)
                accepted = accepted.replace(minute=0, second=0, microsecond=0)
                resolve_due = self._due("resolve", accepted, tier)
            if status in ("resolved", "closed"):
                late = r.random() < 0.1
                resolved = (resolve_due + timedelta(days=1) if late else
                            accepted + (resolve_due - accepted) * r.random())
                resolved = min(resolved, self.now - timedelta(hours=1)).replace(
                    minute=0, second=0, microsecond=0)
                if late:
                    self.marks.append((i, "resolve", "overdue", resolve_due, resolve_due))
            if status == "closed":
                closed = resolved + timedelta(days=r.randrange(0, 4))
                rating = r.choices([x for x, _ in RATINGS], [w for _, w in RATINGS])[0]
            if late_accept and accepted is not None:
                self.marks.append((i, "accept", "overdue", accept_due, accept_due))
            next_at = None
            if status in ("dispatched", "accepted", "resolved"):
                start = accepted if status == "accepted" else dispatched
                next_at = self._next(status, start, accept_due, resolve_due, resolved)
            body = TEXTS[i % len(TEXTS)]
            if (status in ("dispatched", "accepted") and category != "other"
                    and created >= self.now - WINDOW):
                size, keys = self.keys_of[body]
                self.match_keys.extend((i, gram, category, town.grid_ids[g], size, created)
                                       for gram in keys)
            yield (i, status, category, tier, r.random() < 0.02, body, {},
                   town.grid_ids[g], reporter, "app", {"userid": f"r{reporter}"},
                   town.workers[g], "worker", "worker" if resolved else None,
                   max(1, i - 50) if status == "merged" else None, created, dispatched,
                   accepted, resolved, closed, accept_due, resolve_due, False, rating, next_at)


def is_empty(engine: Engine) -> bool:
    """Whether the database holds no grids, people or tickets (seeding gives ids itself)."""
    with engine.connect() as connection:
        return not any(connection.scalar(select(func.count()).select_from(model))
                       for model in (Grid, Person, Ticket))


def seed_county(
    engine: Engine, sla: SlaSettings, calendar: WorkCalendar, *, grids: int, staff: int,
    residents: int, tickets: int, seed: int = 12, now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> Township:
    """Seed a county into ``engine`` (migrated and empty: see :func:`is_empty`)."""
    began = time.perf_counter()
    town = township(engine, grids=grids, residents=residents,
                    extra_staff=max(0, staff - grids - grids // 10 - 2))
    say(f"seeded {grids:,} grids, {town.staff:,} staff, {residents:,} residents "
        f"in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    seeder = TicketSeeder(SlaClock(sla, calendar), town, now or utcnow(), seed)
    bulk_insert(engine, Ticket.__table__, TICKET_COLUMNS, seeder.tickets(tickets))
    bulk_insert(engine, ClockMark.__table__,
                ("ticket_id", "stage", "kind", "due_at", "created_at"), seeder.marks)
    bulk_insert(engine, TicketMatchKey.__table__,
                ("ticket_id", "gram", "category", "grid_id", "size", "created_at"),
                seeder.match_keys)
    _move_sequences(engine, ("tickets", "clock_marks"))
    analyze(engine)
    say(f"seeded {tickets:,} tickets ({len(seeder.marks):,} overdue marks) "
        f"in {time.perf_counter() - began:.1f} s")
    return town


def county_config(engine: Engine, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a config.yaml document) with the seeded county as its grid tree and roster:
    the config to run GridBot on the seeded database with, so that the roster sync at start
    keeps the seeded staff on duty (a sync deactivates staff the config does not list). Group
    chats are left out (they name grids of the base's tree); residents stay in the database."""
    with engine.connect() as connection:
        nodes = connection.execute(
            select(Grid.id, Grid.code, Grid.name, Grid.level, Grid.parent_id).order_by(Grid.id)
        ).all()
        staff = connection.execute(
            select(Person.userid, Person.name, Person.role, Person.phone, Grid.code)
            .join(Membership, Membership.person_id == Person.id)
            .join(Grid, Grid.id == Membership.grid_id)
            .where(Person.role != "resident").order_by(Person.id, Grid.code)).all()
    specs: dict[int, dict[str, Any]] = {}
    root: dict[str, Any] | None = None
    for node in nodes:  # parents were seeded before their children
        spec = specs[node.id] = {"code": node.code, "name": node.name,
                                 "level": str(node.level)}
        if node.parent_id is None:
            root = spec
        else:
            specs[node.parent_id].setdefault("children", []).append(spec)
    roster: dict[str, dict[str, Any]] = {}
    for userid, name, role, phone, code in staff:
        entry = roster.setdefault(userid, {"userid": userid, "name": name, "role": str(role),
                                           "grids": [], **({"phone": phone} if phone else {})})
        entry["grids"].append(code)
    township_code = next(n.code for n in nodes if n.level == "township")
    return {**base, "grids": root, "center_grid": township_code, "groups": [],
            "roster": list(roster.values())}
