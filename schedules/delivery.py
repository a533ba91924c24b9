"""The outbox delivery worker: every outgoing message leaves through here, once, within limits.

Several workers (threads or processes) may run against one database. One round (``run_once``):

1. **Claim** in one short transaction. Claims are serialised — a transaction advisory lock on
   PostgreSQL (plus ``FOR UPDATE SKIP LOCKED`` on the rows), SQLite's single write lock taken by
   the transaction's first statement — so the rate windows below are read and charged atomically.
   Due ``pending`` rows whose lease is free are taken urgent first, then oldest; each is leased
   (``locked_by``, ``locked_until``) and charged to its recipient (``last_attempt_at``).
2. **Limits before sending**: WeCom silently drops app messages over 30/min or 1000/hour per
   member and refuses a robot's 21st message in a minute. Counters come from the outbox itself —
   rows per ``recipient_key`` attempted in the window (an indexed column; broadcasts to several
   members are keyed ``app*`` and counted per member from their targets) — so they hold across
   processes. A row that would exceed a window is deferred (``next_attempt_at`` = when the window
   allows), never sent to be dropped.
3. **Send** each claimed row outside any transaction, then record the outcome at once in its own
   short transaction, conditional on still holding the lease — except an app message WeCom
   accepted with its duplicate check on (below): its outcome waits for those of a few more such
   rows (``RECORD_GROUP``, ``RECORD_WAIT``), and they are recorded in one transaction, before
   any other row's outcome and before the round ends.

Repeats after a crash. A process killed after WeCom accepted a message but before step 3's
commit leaves the row pending, and another worker sends it again when the lease runs out. Two
things keep that from reaching people twice:

* **The outcome is recorded through a database blip**: a failed write of the outcome (connection
  lost, database locked) is retried with back-off (``DeliveryPolicy.record_retry_*``, each retry
  logged) before the worker gives up and ends its round.
* **WeCom drops the repeat of an app message**: at its first claim an ``app`` row is given
  ``enable_duplicate_check: 1`` and ``duplicate_check_interval`` (``duplicate_check_seconds``)
  in its payload, durably, so every attempt sends the same request JSON and WeCom does not show a
  repeat within the interval. A row whose content went to the same recipients lately (a second
  identical message meant to be seen twice, e.g. the same help text asked for again) gets
  ``enable_duplicate_check: 0`` instead, so the check never swallows a message on purpose.

Which is also why such a row's outcome may wait for a group's record: lost with a crash, it
costs a repeat that WeCom drops, not a message shown twice.

What stays at-least-once: group robots (``webhook``), ``appchat``, ``response_url`` and card
updates have no such check, and an app message re-sent after its interval. Their window is one
HTTP round trip plus the outcome's UPDATE (and its retries): they are recorded one by one. A
worker asked to stop (``stopping``: SIGTERM, a scheduler stepping down) stops between rows,
records what it sent and gives the rest back, so a restart does not open that window.
Everything else is exactly-once: a row is sent only by the worker holding its lease, and marked
sent only while that lease holds.

Failures: retryable ones (45009/45033, -1, HTTP 5xx, timeouts) back off exponentially with
jitter; a WeCom outage (HTTP 5xx, timeouts, -1) also ends the batch, releasing the rest untouched.
After ``max_attempts`` a row is ``dead`` and the admins get an alert (itself an outbox row, keyed
on the dead row). ``invaliduser`` and other permanent errors mark the row ``failed``.

A row meant for a resident (``person_id``) reports each outcome to ``notify.residents`` in the
same transaction: success skips the resident's held fallback rows; a failure for good releases
the next one (their grid group after an ``invaliduser``), or reports that nothing reached them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import socket
import threading
import time
from bisect import bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from notify.residents import after_delivery
from notify.wording import tickets as texts
from schedules.hooks import with_hooks
from schedules.runtime import JobRuntime
from settings.model import WeComSettings
from store.clock import utcnow
from store.models import OutboxMessage, outbox_recipient_key
from store.outbox import enqueue
from wecom.sender import DeliveryResult, Sender

log = logging.getLogger(__name__)

ALERT_KEY_PREFIX = "outbox-dead:"
# Outcomes of app messages WeCom would not show twice are recorded this many at a time, or
# after this many seconds since the first of them was sent, whichever comes first: one writer's
# turn and one commit for many (under a flood on SQLite, one turn per row let ~40 rows a second
# out while the router held the writer)
RECORD_GROUP = 20
RECORD_WAIT = 0.25
DUPLICATE_CHECK_FIELDS = ("enable_duplicate_check", "duplicate_check_interval")


def _signature(target: str, msgtype: str, payload: dict[str, Any] | None) -> str:
    """What WeCom's duplicate check compares, bar the check's own fields, as a hash (the
    row's ``content_key``)."""
    content = {k: v for k, v in (payload or {}).items() if k not in DUPLICATE_CHECK_FIELDS}
    text = json.dumps([target, msgtype, content], sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _transient(error: DBAPIError) -> bool:
    """A database failure worth retrying: the connection went, the database was locked."""
    return bool(error.connection_invalidated) or isinstance(
        error, OperationalError | InterfaceError)


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retry, lease and limit tuning. The defaults survive a WeCom outage of over an hour
    (60 s doubling to a 30 min cap, 8 attempts) before a row is dead-lettered."""

    max_attempts: int = 8
    backoff_base: float = 60.0
    backoff_cap: float = 1800.0
    jitter: float = 0.2  # ± fraction of each delay
    lease_seconds: float | None = None  # None: 6 × the HTTP timeout + 30 s
    claim_factor: int = 4  # look at this many candidates per row wanted (some get deferred)
    window_margin: float = 1.0  # seconds added to WeCom's windows against clock skew
    # Recording an outcome through a database blip: back-off from the first to the cap, for at
    # most this long in all (then the round ends and the lease decides).
    record_retry_first: float = 0.2
    record_retry_cap: float = 5.0
    record_retry_total: float = 60.0


@dataclass(frozen=True)
class Claimed:
    """A leased row, detached from its session (what the sender reads)."""

    id: int
    idempotency_key: str
    channel: str
    target: str
    msgtype: str
    payload: dict[str, Any]
    attempts: int
    urgent: bool
    locked_until: datetime
    previous_attempt_at: datetime | None
    person_id: int | None = None  # the resident the message is meant for


class _Windows:
    """Attempts per recipient in the last minute and hour, charged as rows are claimed.

    Counted in SQL, not read: a recipient's attempts in each window are counted by the
    database (``counted``), and their times are read only for a recipient the claim could take
    to a cap — the newest ``cap`` of them, enough to tell when the window frees up. A grid
    worker sent thousands of cards an hour (WeCom's caps lifted, or a big department) had made
    every claim read all their times, a cost that grew with every card of the hour.

    ``times`` holds, sorted, every attempt of a recipient that is not in ``counted``: those read
    (a recipient near a cap; broadcasts), and those charged by this claim.
    """

    def __init__(self, settings: WeComSettings, margin: float) -> None:
        self.times: dict[str, list[datetime]] = defaultdict(list)
        self.counted: dict[tuple[str, timedelta], int] = {}
        self.minute = timedelta(seconds=60 + margin)
        self.hour = timedelta(seconds=3600 + margin)
        self.settings = settings

    def limits(self, row: OutboxMessage) -> list[tuple[str, timedelta, int]]:
        """(counter key, window, cap) pairs the row must fit in."""
        s = self.settings
        if row.channel == "app":
            out: list[tuple[str, timedelta, int]] = []
            for user in {u for u in row.target.split("|") if u}:
                out.append((f"app:{user}", self.minute, s.member_per_minute))
                out.append((f"app:{user}", self.hour, s.member_per_hour))
            return out
        if row.channel == "webhook":
            return [(f"webhook:{row.target}", self.minute, s.robot_per_minute)]
        return []

    def inside(self, key: str, window: timedelta, now: datetime) -> int:
        """Attempts of ``key`` within ``window`` before ``now``."""
        times = self.times.get(key, ())
        return (len(times) - bisect_right(times, now - window)
                + self.counted.get((key, window), 0))

    def wait_until(
        self, limits: Iterable[tuple[str, timedelta, int]], now: datetime
    ) -> datetime | None:
        """When every window has room for one more, or None if they all have room now."""
        latest: datetime | None = None
        for key, window, cap in limits:
            if self.inside(key, window, now) < cap:
                continue
            times = self.times.get(key, ())
            # the cap-th newest attempt leaves the window then (a recipient at a cap has its
            # newest times read; should they not be, it waits the whole window)
            free_at = times[len(times) - cap] + window if len(times) >= cap else now + window
            latest = free_at if latest is None or free_at > latest else latest
        return latest

    def charge(self, limits: Iterable[tuple[str, timedelta, int]], now: datetime) -> None:
        for key in {key for key, _, _ in limits}:
            insort(self.times[key], now)  # in order even behind another host's clock


def _repeat_dropped(row: Claimed, result: DeliveryResult) -> bool:
    """An app message WeCom accepted with its duplicate check on: sent again after a crash
    (its outcome not recorded yet), WeCom drops the repeat, so its record may wait a little."""
    return (result.ok and row.channel == "app"
            and row.payload.get("enable_duplicate_check") == 1)


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class OutboxWorker:
    """Claims due outbox rows, sends them through a :class:`Sender`, records what happened."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender: Sender,
        settings: WeComSettings,
        worker_id: str | None = None,
        *,
        admin_userids: Sequence[str] = (),
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
        write_turn: AbstractContextManager[object] | None = None,
    ) -> None:
        self.session_factory = session_factory
        # SQLite: the turn at the single writer the callbacks and the router take too (without
        # it the worker's short writes lost every race and no card left during a flood)
        self._turn = write_turn or nullcontext()
        self.sender = sender
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.admin_userids = tuple(admin_userids)
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()
        lease = self.policy.lease_seconds
        self.lease = timedelta(seconds=lease or 6 * settings.timeout_seconds + 30)
        # Time one row may need: the call, a token refresh and the retried call.
        self.row_budget = timedelta(seconds=3 * settings.timeout_seconds + 5)
        self.last_claimed = 0
        self.sleep = time.sleep  # between retries of an outcome (tests replace it)
        # Set to stop between rows: a stopping process never dies between a send and its record
        self.stopping = threading.Event()

    # -- the loop ---------------------------------------------------------------------------

    def run_forever(
        self,
        stop_event: threading.Event,
        wake_event: threading.Event | None = None,
        idle_seconds: float = 1.0,
        limit: int = 50,
    ) -> None:
        """Deliver until ``stop_event`` is set (checked between rows, so a stop waits for one
        send at most); sleep ``idle_seconds`` when idle unless woken."""
        self.stopping = stop_event
        log.info("outbox worker %s started", self.worker_id)
        while not stop_event.is_set():
            try:
                self.run_once(limit)
            except Exception:
                log.exception("outbox worker %s: round failed", self.worker_id)
                self.last_claimed = 0
            if self.last_claimed and not stop_event.is_set():
                continue
            if wake_event is not None:
                if wake_event.wait(idle_seconds):
                    wake_event.clear()
            else:
                stop_event.wait(idle_seconds)
        log.info("outbox worker %s stopped", self.worker_id)

    def run_once(self, limit: int = 50) -> int:
        """One round: claim up to ``limit`` due rows, send them; returns how many were sent.

        An outcome is recorded right after its send, except an app message WeCom accepted with
        its duplicate check on: those wait for a few more (``RECORD_GROUP`` rows or
        ``RECORD_WAIT`` seconds) and are recorded together, in one transaction (one writer's
        turn on SQLite), before any other row's outcome and before the round ends."""
        claimed = self._claim(limit)
        self.last_claimed = len(claimed)
        delivered = 0
        waiting: list[tuple[Claimed, DeliveryResult]] = []  # sent, outcome not recorded yet
        since = 0.0
        for index, row in enumerate(claimed):
            if self.stopping.is_set():
                log.info("outbox worker %s stopping: %d claimed rows given back",
                         self.worker_id, len(claimed) - index)
                self._release(claimed[index:])
                self.last_claimed = 0
                break
            if not self._hold_lease(row):
                continue
            result = self.sender.deliver(row)
            if not waiting:
                since = time.monotonic()
            waiting.append((row, result))
            if (_repeat_dropped(row, result) and len(waiting) < RECORD_GROUP
                    and time.monotonic() - since < RECORD_WAIT):
                continue
            delivered += self._record_through_blips(waiting)
            if result.retryable and result.outage:
                log.warning("WeCom unavailable (%s); pausing this batch", result.error)
                self._release(claimed[index + 1 :])
                self.last_claimed = 0
                break
        # the round's last group (an error on the way instead leaves it to the lease: sent
        # again, and WeCom drops the repeats)
        delivered += self._record_through_blips(waiting)
        return delivered

    # -- claiming ---------------------------------------------------------------------------

    def _serialise_claims(self, session: Session) -> None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.outbox.claim'))")
            )
        elif dialect == "sqlite":
            # A write as the first statement makes pysqlite BEGIN and SQLite take its write lock.
            session.execute(update(OutboxMessage).where(OutboxMessage.id == -1).values(attempts=0))

    def _claim(self, limit: int) -> list[Claimed]:
        if limit <= 0:
            return []
        with self._turn, self.session_factory() as session, session.begin():
            self._serialise_claims(session)
            now = utcnow()
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .order_by(
                    OutboxMessage.urgent.desc(),
                    OutboxMessage.next_attempt_at,
                    OutboxMessage.id,
                )
                .limit(limit * self.policy.claim_factor)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            candidates = list(session.scalars(query))
            windows = self._load_windows(session, candidates, now)
            recent = self._recent_app_sends(session, candidates, now)
            claimed: list[Claimed] = []
            for row in candidates:
                if len(claimed) >= limit:
                    break
                limits = windows.limits(row)
                free_at = windows.wait_until(limits, now)
                if free_at is not None:
                    row.next_attempt_at = free_at
                    log.debug("outbox %s deferred to %s by WeCom limits", row.id, free_at)
                    continue
                windows.charge(limits, now)
                previous = row.last_attempt_at
                row.locked_by = self.worker_id
                row.locked_until = now + self.lease
                row.last_attempt_at = now
                if row.recipient_key is None:
                    row.recipient_key = outbox_recipient_key(row.channel, row.target)
                if row.channel == "app":
                    self._duplicate_check(row, recent)
                claimed.append(
                    Claimed(
                        row.id,
                        row.idempotency_key,
                        row.channel,
                        row.target,
                        row.msgtype,
                        dict(row.payload or {}),
                        row.attempts,
                        row.urgent,
                        row.locked_until,
                        previous,
                        row.person_id,
                    )
                )
        return claimed

    def _load_windows(
        self, session: Session, candidates: list[OutboxMessage], now: datetime
    ) -> _Windows:
        windows = _Windows(self.settings, self.policy.window_margin)
        caps: dict[tuple[str, timedelta], int] = {}
        demand: dict[str, int] = defaultdict(int)  # candidates per key: the most it is charged
        members: set[str] = set()
        for row in candidates:
            limits = windows.limits(row)
            for key, window, cap in limits:
                caps[(key, window)] = cap
                if key.startswith("app:"):
                    members.add(key[4:])
            for key in {key for key, _, _ in limits}:
                demand[key] += 1
        if not caps:
            return windows
        since = now - windows.hour
        if members:  # broadcasts: one row, many members (a township's notices: few rows)
            rows = session.execute(
                select(OutboxMessage.target, OutboxMessage.last_attempt_at).where(
                    OutboxMessage.recipient_key == "app*",
                    OutboxMessage.last_attempt_at >= since,
                )
            )
            for target, at in rows:
                for user in {u for u in target.split("|") if u} & members:
                    windows.times[f"app:{user}"].append(at)
            for times in windows.times.values():
                times.sort()
        in_minute = OutboxMessage.last_attempt_at >= now - windows.minute
        for chunk in _chunks(sorted(demand)):
            rows = session.execute(
                select(OutboxMessage.recipient_key, func.count(),
                       func.coalesce(func.sum(case((in_minute, 1), else_=0)), 0))
                .where(OutboxMessage.recipient_key.in_(chunk),
                       OutboxMessage.last_attempt_at >= since)
                .group_by(OutboxMessage.recipient_key)
            )
            for key, in_hour, minute_count in rows:
                windows.counted[(key, windows.hour)] = in_hour
                windows.counted[(key, windows.minute)] = minute_count
        near: dict[str, int] = {}  # a recipient this claim could take to a cap: that cap
        for (key, window), cap in caps.items():
            if windows.inside(key, window, now) + demand[key] >= cap:
                near[key] = max(cap, near.get(key, 0))
        for key, newest in sorted(near.items()):  # its newest attempts, as many as the cap
            read = session.scalars(
                select(OutboxMessage.last_attempt_at)
                .where(OutboxMessage.recipient_key == key, OutboxMessage.last_attempt_at >= since)
                .order_by(OutboxMessage.last_attempt_at.desc())
                .limit(newest)
            )
            windows.times[key].extend(read)
            windows.times[key].sort()
            windows.counted.pop((key, windows.hour), None)
            windows.counted.pop((key, windows.minute), None)
        return windows

    # -- WeCom's duplicate check -------------------------------------------------------------

    def _recent_app_sends(
        self, session: Session, candidates: list[OutboxMessage], now: datetime
    ) -> dict[str, set[int]]:
        """Content signature → ids of app rows to the candidates' recipients attempted within
        the duplicate check interval (only when some candidate still needs its decision)."""
        interval = self.settings.duplicate_check_seconds
        undecided = [r for r in candidates if r.channel == "app"
                     and "enable_duplicate_check" not in (r.payload or {})]
        if not interval or not undecided:
            return {}
        for r in undecided:  # computed once: ``_duplicate_check`` reads it from the row
            r.content_key = _signature(r.target, r.msgtype, r.payload)
        signatures = sorted({r.content_key for r in undecided if r.content_key})
        since = now - timedelta(seconds=interval)
        recent: dict[str, set[int]] = defaultdict(set)
        for chunk in _chunks(signatures):  # only the messages with the same content
            rows = session.execute(
                select(OutboxMessage.id, OutboxMessage.content_key).where(
                    OutboxMessage.content_key.in_(chunk),
                    OutboxMessage.channel == "app",
                    OutboxMessage.last_attempt_at >= since,
                )
            )
            for row_id, signature in rows:
                recent[signature].add(row_id)
        return recent

    def _duplicate_check(self, row: OutboxMessage, recent: dict[str, set[int]]) -> None:
        """Decide once, at the row's first claim, whether its sends ask WeCom to drop repeats;
        the decision is in its payload, so every attempt sends the same request."""
        interval = self.settings.duplicate_check_seconds
        payload = dict(row.payload or {})
        if not interval or "enable_duplicate_check" in payload:
            return
        row.content_key = row.content_key or _signature(row.target, row.msgtype, payload)
        twins = recent.setdefault(row.content_key, set())
        if twins - {row.id}:
            # the same content went to them lately: WeCom could take this one for a repeat
            payload["enable_duplicate_check"] = 0
        else:
            payload.update(enable_duplicate_check=1, duplicate_check_interval=interval)
        twins.add(row.id)
        row.payload = payload

    # -- leases -----------------------------------------------------------------------------

    def _mine(self, row_id: int) -> Any:
        return (
            OutboxMessage.id == row_id,
            OutboxMessage.locked_by == self.worker_id,
            OutboxMessage.status == "pending",
        )

    def _hold_lease(self, row: Claimed) -> bool:
        """Renew the lease if this row's send might outlast it; False if it was lost."""
        now = utcnow()
        if now + self.row_budget < row.locked_until:
            return True
        with self._turn, self.session_factory() as session, session.begin():
            renewed = session.execute(
                update(OutboxMessage)
                .where(*self._mine(row.id))
                .values(locked_until=now + self.lease)
            ).rowcount
        if not renewed:
            log.warning("outbox %s: lease lost before sending; skipped", row.id)
        return bool(renewed)

    def _release(self, rows: Sequence[Claimed]) -> None:
        """Give back rows that were not attempted (their rate-window charge too)."""
        if not rows:
            return
        with self._turn, self.session_factory() as session, session.begin():
            for row in rows:
                session.execute(
                    update(OutboxMessage)
                    .where(*self._mine(row.id))
                    .values(
                        locked_by=None, locked_until=None, last_attempt_at=row.previous_attempt_at
                    )
                )

    # -- outcomes ---------------------------------------------------------------------------

    def backoff(self, attempts: int, hint: float | None) -> float:
        """Seconds before attempt ``attempts + 1``: exponential, capped, jittered, ≥ ``hint``."""
        p = self.policy
        delay = min(p.backoff_cap, p.backoff_base * 2 ** max(0, attempts - 1))
        delay *= 1 + self.rng.uniform(-p.jitter, p.jitter)
        return max(delay, hint or 0.0)

    def _record_through_blips(self, outcomes: list[tuple[Claimed, DeliveryResult]]) -> int:
        """``_record`` of ``outcomes`` (emptied once recorded), retried with back-off while the
        database fails transiently; after ``record_retry_total`` seconds the error is raised
        (the round ends, the lease decides). Returns how many of them are now sent."""
        if not outcomes:
            return 0
        p = self.policy
        delay, waited, tries = p.record_retry_first, 0.0, 1
        names = ", ".join(str(row.id) for row, _ in outcomes)
        while True:
            try:
                done = self._record(outcomes, retried=tries > 1)
            except DBAPIError as error:
                if not _transient(error) or waited + delay > p.record_retry_total:
                    ok = all(result.ok for _, result in outcomes)
                    log.error("outbox %s: could not record %s after %d tries (%s); the lease "
                              "decides", names, "sent" if ok else "the outcome", tries,
                              type(error).__name__)
                    raise
                log.warning("outbox %s: recording the outcome failed (%s: %s); retry %d in "
                            "%.1f s", names, type(error).__name__, error.orig, tries, delay)
                self.sleep(delay)
                waited += delay
                delay = min(delay * 2, p.record_retry_cap)
                tries += 1
                continue
            if tries > 1:
                log.info("outbox %s: outcome recorded at try %d", names, tries)
            outcomes.clear()
            return done

    @staticmethod
    def _recorded_already(session: Session, row: Claimed, values: dict[str, Any]) -> bool:
        """The outcome is there (a commit that went through although its answer was lost)."""
        stored = session.get(OutboxMessage, row.id)
        return stored is not None and stored.attempts == values["attempts"] and (
            stored.status == values.get("status", "pending")) and stored.locked_by is None

    def _record(self, outcomes: list[tuple[Claimed, DeliveryResult]], retried: bool) -> int:
        """Write the outcomes in one transaction, each if we still hold its lease; how many of
        the rows are now sent."""
        now = utcnow()
        # plainly sent rows in one statement; a retry goes row by row (``_recorded_already``)
        plain = [] if retried else [row for row, result in outcomes
                                    if result.ok and result.error is None]
        taken = {row.id for row in plain}
        with self._turn, self.session_factory() as session, session.begin():
            sent = self._record_sent(session, plain, now) if plain else 0
            return sent + sum(self._record_in(session, row, result, retried, now)
                              for row, result in outcomes if row.id not in taken)

    def _record_sent(self, session: Session, rows: list[Claimed], now: datetime) -> int:
        """Rows WeCom accepted, marked sent by one UPDATE, each only while we hold its lease;
        how many were marked."""
        marked = set(session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([row.id for row in rows]),
                   OutboxMessage.locked_by == self.worker_id, OutboxMessage.status == "pending")
            .values(attempts=OutboxMessage.attempts + 1, last_attempt_at=now, locked_by=None,
                    locked_until=None, last_error=None, status="sent", sent_at=now)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)))
        for row in rows:
            if row.id not in marked:
                log.warning("outbox %s: lease lost before recording it sent", row.id)
            elif row.person_id is not None:
                after_delivery(session, row.id, ok=True, final=False, now=now)
        return len(marked)

    def _record_in(self, session: Session, row: Claimed, result: DeliveryResult,
                   retried: bool, now: datetime) -> bool:
        """One row's outcome, if we still hold its lease; True when the row is now sent."""
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "locked_by": None,
            "locked_until": None,
            "last_error": result.error,
        }
        dead = False
        if result.ok:
            values.update(status="sent", sent_at=now)
        elif not result.retryable:
            values.update(status="failed")
            log.warning("outbox %s failed for good: %s", row.id, result.error)
        elif attempts >= self.policy.max_attempts:
            values.update(status="dead")
            dead = True
            log.error("outbox %s dead after %d attempts: %s", row.id, attempts, result.error)
        else:
            delay = self.backoff(attempts, result.backoff_seconds)
            values.update(next_attempt_at=now + timedelta(seconds=delay))
            log.info("outbox %s retry in %.0f s: %s", row.id, delay, result.error)
        done = session.execute(
            update(OutboxMessage).where(*self._mine(row.id)).values(**values)
        ).rowcount
        if not done:
            if retried and self._recorded_already(session, row, values):
                log.info("outbox %s: the try that failed had recorded it", row.id)
                return bool(result.ok)
            log.warning("outbox %s: lease lost before recording %s", row.id, result)
            return False
        if dead:
            self._alert(session, row, result)
        if row.person_id is not None and (result.ok or values.get("status")):
            after_delivery(session, row.id, ok=result.ok, final=not result.ok, now=now)
        return bool(result.ok)

    def _alert(self, session: Session, row: Claimed, result: DeliveryResult) -> None:
        """Tell the admins a message could not be delivered (never about a failed alert)."""
        if not self.admin_userids or row.idempotency_key.startswith(ALERT_KEY_PREFIX):
            return
        content = texts.DELIVERY_DEAD_ALERT.format(
            id=row.id, channel=row.channel, msgtype=row.msgtype, attempts=row.attempts + 1,
            error=result.error,
        )
        enqueue(
            session,
            key=f"{ALERT_KEY_PREFIX}{row.id}",
            channel="app",
            target="|".join(self.admin_userids),
            msgtype="text",
            payload={"text": {"content": content}},
            urgent=True,
        )


def revive_dead(session_factory: sessionmaker[Session], ids: Sequence[int]) -> int:
    """Put dead (or failed) rows back in the queue, due now, attempts reset; returns the count.

    Sent again on purpose, an app row no longer asks WeCom's duplicate check: an earlier try
    WeCom accepted must not make it drop this one."""
    with session_factory() as session, session.begin():
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_(list(ids)), OutboxMessage.status.in_(("dead", "failed")))).all()
        for row in rows:
            row.status, row.attempts, row.last_error = "pending", 0, None
            row.next_attempt_at = utcnow()
            if "enable_duplicate_check" in (row.payload or {}):
                kept = {k: v for k, v in row.payload.items() if k not in DUPLICATE_CHECK_FIELDS}
                row.payload = {**kept, "enable_duplicate_check": 0}
        return len(rows)


def worker_id() -> str:
    """Who claims outbox rows: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def build_worker(runtime: JobRuntime) -> OutboxWorker:
    """An outbox worker on the runtime's database with a sender of its own; admins hear of dead rows."""
    admins = tuple(p.userid for p in runtime.settings.roster if p.role == "admin")
    sender = with_hooks(runtime.new_sender(), runtime.session_factory)  # + subscribers' webhooks
    return OutboxWorker(runtime.session_factory, sender, runtime.settings.wecom,
                        worker_id(), admin_userids=admins, write_turn=runtime.write_turn)
