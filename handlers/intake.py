"""From a normalised message to its effects, once: record it fast, then process it.

:class:`MessageIntake` is what the callbacks call: it writes the message under its unique
de-duplication key and commits — a retry or a concurrent copy finds the key taken and changes
nothing; callbacks arriving together share the commit — then wakes the processor and lets the
callback answer WeCom at once. A message of a type GridBot does not handle is recorded already
finished (``done``, outcome ``unsupported:<type>``): it stays on record, and nothing routes it.

:class:`InboxProcessor` routes recorded messages: for each one, ONE transaction holds everything
the handlers change, every outgoing message (outbox rows, those that need no id written together
at the end: one statement instead of a round trip each) and the row's ``done`` mark. A crash
before commit leaves the row received, to be taken again after its lease. A routing that fails
rolls back and the row waits a back-off (``RETRY_DELAYS``: attempts and ``next_attempt_at`` on
the row) while the messages claimed with it go on at once; out of attempts it is marked
``failed`` once, its sender told once and the staff alerted (:mod:`handlers.routing_failure`),
by plainer means when that path fails too. A claim takes only the oldest waiting message of each
sender, so several processors route in parallel and each sender's messages keep their order.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.residents import recognise
from handlers.base import Context, Router
from handlers.routing_failure import RoutingFailures
from services.container import Services
from store import inbox, outbox
from store.clock import utcnow
from store.group_commit import GroupCommit
from store.models import InboundMessage
from store.roster import group_for
from wecom.inbound import UNSUPPORTED, Incoming

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# after the 1st, 2nd and 3rd failed routing of a message; the 4th failure is final
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=10), timedelta(seconds=60), timedelta(minutes=5),
)


class MessageIntake:
    """Callable the callbacks hand each :class:`Incoming` to: records it, returns at once.

    Callbacks answered at the same moment share one INSERT and one commit
    (:class:`store.group_commit.GroupCommit`); each returns once its own row is committed.
    """

    def __init__(
        self,
        engine: Engine,
        on_record: Callable[[], None] | None = None,
        write_turn: AbstractContextManager[object] | None = None,
    ) -> None:
        self.engine = engine
        self.on_record = on_record
        self.writer: GroupCommit[dict[str, Any], int | None] = GroupCommit(
            lambda rows: inbox.record_many(self.engine, rows), turn=write_turn
        )

    def __call__(self, message: Incoming) -> str:
        unsupported = message.kind == UNSUPPORTED
        new_id = self.writer.submit(
            {
                "dedup_key": message.dedup_key,
                "channel": message.channel,
                "sender": message.sender,
                "chat_id": message.chat_id,
                "kind": message.kind if message.kind != "event" else f"event:{message.event}",
                "text": message.text,
                "payload": message.to_json(),
                "status": "done" if unsupported else "received",
                "attempts": 0,
                "outcome": f"{UNSUPPORTED}:{message.event}"[:64] if unsupported else None,
                "processed_at": utcnow() if unsupported else None,
            }
        )
        if new_id is None:
            return "duplicate"
        if unsupported:
            return UNSUPPORTED
        if self.on_record is not None:
            self.on_record()
        return "queued"


class InboxProcessor:
    """Routes recorded messages, each in one transaction with all its effects.

    A message that fails never holds back the others: it is set aside for its back-off (or
    marked failed) in a transaction of its own, and the loop goes on with the next one.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        services: Services,
        router: Router,
        on_commit: Callable[[], None] | None = None,
        worker_id: str | None = None,
        write_turn: AbstractContextManager[object] | None = None,
        batch_size: int | None = None,
        retry_delays: Sequence[timedelta] = RETRY_DELAYS,
    ) -> None:
        self.session_factory = session_factory
        self.services = services
        self.router = router
        self.on_commit = on_commit
        self._write_turn = write_turn or nullcontext()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.retry_delays = tuple(retry_delays)
        self.failures = RoutingFailures(services)
        # Messages per commit: 20 on PostgreSQL (one lock query and one fsync for many); 3 on
        # SQLite, where a batch holds the turn at the single writer (store.write_turn) for about
        # 25 ms and the callbacks' and the delivery's writes have theirs between two batches
        # (routing under a flood of 400 callbacks/s: 81 msg/s one by one, 118 three by three)
        dialect = session_factory.kw["bind"].dialect.name
        self.batch_size = batch_size or (20 if dialect == "postgresql" else 3)

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def run_once(self, limit: int = 50) -> int:
        """Process up to ``limit`` received messages; how many were taken."""
        # in the turn on SQLite: a claim that met the lock taken napped in SQLite's busy
        # handler while the callbacks and the delivery took their turns (a sixth of the router's
        # time under a flood of 400 callbacks/s went to naps before claims)
        with self._write_turn:
            ids = inbox.claim(self.session_factory, self.worker_id, limit, LEASE)
        size = self.batch_size
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            if len(chunk) == 1:
                self.process(chunk[0])
            else:
                self.process_batch(chunk)
        if ids and self.on_commit is not None:
            self.on_commit()
        return len(ids)

    def process_batch(self, ids: list[int]) -> None:
        """Route several messages in one transaction (one lock query, one commit for all).

        Should any of them fail, the whole batch rolls back — nothing of it was written — and
        each message is routed again alone, in a transaction of its own, where the one that
        fails is set aside (back-off or failed) and the others commit.
        """
        try:
            with (self._write_turn, self.session_factory() as session, session.begin(),
                  outbox.buffered(session)):
                rows = inbox.take_many(session, ids, self.worker_id)
                routed: list[Routed] = []
                for message_id in ids:
                    self._route_in(session, message_id, routed, rows.get(message_id))
                _finish(routed)  # the rows' done marks: one statement for the batch
        except Exception as error:
            log.warning("a batch of %d messages failed (%s); routing them one by one", len(ids),
                        type(error).__name__)
            for message_id in ids:
                self.process(message_id)

    def drain(self) -> int:
        """Process until nothing is waiting (tests and tools); a message in its back-off is
        not waiting."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    def run_forever(
        self, stop: threading.Event, wake: threading.Event | None = None, idle: float = 1.0
    ) -> None:
        log.info("inbox processor %s started", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # keep the loop alive through a database hiccup
                log.exception("inbox processing failed; retrying")
                busy = 0
                stop.wait(min(idle, 1.0))
            if busy or stop.is_set():
                continue
            if wake is not None:
                wake.wait(idle)
                wake.clear()
            else:
                stop.wait(idle)

    def process(self, message_id: int) -> str:
        """Route one claimed message; never raises (a failure is recorded on the row)."""
        try:
            with self._write_turn:
                return self._route(message_id)
        except Exception as error:
            # the traceback goes through the log's masking filter; the text is not in it
            log.warning("handling inbound message %s failed (%s)", message_id,
                        type(error).__name__, exc_info=True)
            return self._after_failure(message_id, error)

    def _route(self, message_id: int) -> str:
        with self.session_factory() as session, session.begin(), outbox.buffered(session):
            routed: list[Routed] = []
            outcome = self._route_in(session, message_id, routed)
            _finish(routed)
            return outcome

    def _route_in(
        self, session: Session, message_id: int, routed: list[Routed],
        row: InboundMessage | None = None,
    ) -> str:
        """Route one message in ``session``; ``row``: already taken (a batch), else taken here.
        The row and its outcome go to ``routed``, for the caller to mark done before commit."""
        if row is None:
            row = inbox.take(session, message_id, self.worker_id)
        if row is None:  # lease lost to another processor, or already done
            return "skipped"
        if row.attempts > self.max_attempts:  # taken again after a crash on its last attempt
            raise OutOfAttempts(f"taken {row.attempts} times")
        message = Incoming.from_json(row.payload)
        now = utcnow()
        group = group_for(session, message.chat_id)
        one_to_one_app = message.channel == "app" and not message.in_group
        sender = recognise(session, message.sender, one_to_one_app=one_to_one_app, group=group,
                           now=now)
        ctx = Context(
            session=session,
            message=message,
            inbound=row,
            person=sender.person,
            group=group,
            services=self.services,
            now=now,
            prompts_on_record=sender.prompts_on_record,
        )
        outcome = self.router.dispatch(ctx)
        routed.append(Routed(row, outcome, ctx.now))
        return outcome

    def _after_failure(self, message_id: int, error: Exception) -> str:
        """Set a failed message aside: its back-off, or once out of attempts ``failed`` with
        the sender told and the staff alerted. Never raises; never waits on the message."""
        reason = type(error).__name__
        try:
            outcome = self._set_aside(message_id, reason, self.failures.give_up)
        except Exception as second:
            log.error("inbound message %s: the error path failed too (%s after %s); "
                      "falling back to plain marks", message_id, type(second).__name__, reason)
            return self._last_resort(message_id, reason)
        if outcome == "failed":
            log.error("inbound message %s failed for good after %d attempts (%s); sender told, "
                      "staff alerted", message_id, self.max_attempts, reason)
        return outcome

    def _last_resort(self, message_id: int, reason: str) -> str:
        """The error path itself failed: the same marks by the plainest means (no handler,
        no routing of the answer: a 1:1 app text to the sender, app texts to the staff)."""
        try:
            outcome = self._set_aside(message_id, reason, self.failures.give_up_plainly)
        except Exception as third:
            # nothing could be written: the lease runs out and the message is taken again,
            # already out of attempts, straight into this path
            log.error("inbound message %s: could not mark it (%s); it is taken again after its "
                      "lease", message_id, type(third).__name__)
            return "error"
        if outcome == "failed":
            log.error("inbound message %s failed for good after %d attempts (%s); sender told "
                      "plainly, staff alerted", message_id, self.max_attempts, reason)
        return outcome

    def _set_aside(
        self, message_id: int, reason: str,
        give_up: Callable[[Session, InboundMessage, str], None],
    ) -> str:
        """In a transaction of its own: ``skipped`` (no longer ours), ``retry`` (its back-off
        set) or, out of attempts, ``failed`` (``give_up`` marks it and tells people)."""
        with self._write_turn, self.session_factory() as session, session.begin():
            row = inbox.take(session, message_id, self.worker_id)
            if row is None:
                return "skipped"
            if row.attempts < self.max_attempts:
                inbox.postpone(row, utcnow() + self.retry_delays[row.attempts - 1],
                               f"retry:{reason}")
                return "retry"
            give_up(session, row, reason)
            return "failed"


class Routed(NamedTuple):
    """A message routed in the current transaction, to be marked done before it commits."""

    row: InboundMessage
    outcome: str
    at: datetime


def _finish(routed: list[Routed]) -> None:
    """Mark routed rows done together, so that the commit's flush updates them in one
    statement (marked one by one, each went out with the next message's first query)."""
    for row, outcome, at in routed:
        inbox.finish(row, "done", outcome, at)


class OutOfAttempts(RuntimeError):
    """A message taken again after its last attempt was lost (the processor died)."""


__all__ = [
    "RETRY_DELAYS", "InboxProcessor", "InboundMessage", "MessageIntake", "OutOfAttempts",
]
