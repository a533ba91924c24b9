"""From a normalised message to its effects, once: record it fast, then process it.

:class:`MessageIntake` is what the callbacks call: it writes the message under its unique
de-duplication key and commits — a retry or a concurrent copy finds the key taken and changes
nothing; callbacks arriving together share the commit — then wakes the processor and lets the
callback answer WeCom at once. A message of a type GridBot does not handle is recorded already
finished (``done``, outcome ``unsupported:<type>``): it stays on record, and nothing routes it.

:class:`InboxProcessor` routes recorded messages: for each one, ONE transaction holds everything
the handlers change, every outgoing message (outbox rows) and the row's ``done`` mark. A crash
before commit leaves the row received, to be taken again after its lease. A handler that fails
rolls back; the row is marked ``error`` and the sender gets an apology, instead of the message
being retried forever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.residents import recognise
from handlers.base import Context, Router
from notify import Messenger
from notify.wording import chat as texts
from services.container import Services
from store import inbox
from store.clock import utcnow
from store.group_commit import GroupCommit
from store.models import InboundMessage
from store.roster import group_for
from wecom.inbound import UNSUPPORTED, Incoming

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3


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


class CallbacksInFlight:
    """How many WeCom callbacks this process is answering right now.

    A processor routing in the same process as the web server (``serve``, ``demo``) waits for a
    quiet moment before each message — at most ``max_wait`` — so that answering WeCom, which is
    on a 5-second clock, goes first and routing, which is not, fills the gaps.
    """

    def __init__(self, quiet_for: float = 0.01) -> None:
        self.quiet_for = quiet_for
        self._count = 0
        self._last_leave = 0.0
        self._quiet = threading.Condition()

    def enter(self) -> None:
        with self._quiet:
            self._count += 1

    def leave(self) -> None:
        with self._quiet:
            self._count -= 1
            self._last_leave = time.monotonic()
            if self._count == 0:
                self._quiet.notify_all()

    def wait_quiet(self, max_wait: float) -> None:
        """Return once no callback has been running for ``quiet_for`` s, or after ``max_wait``."""
        deadline = time.monotonic() + max_wait
        with self._quiet:
            while (left := deadline - time.monotonic()) > 0:
                if self._count == 0:
                    calm = time.monotonic() - self._last_leave
                    if calm >= self.quiet_for:
                        return
                    self._quiet.wait(min(left, self.quiet_for - calm))
                else:
                    self._quiet.wait(left)


class InboxProcessor:
    """Routes recorded messages, each in one transaction with all its effects."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        services: Services,
        router: Router,
        on_commit: Callable[[], None] | None = None,
        worker_id: str | None = None,
        write_turn: AbstractContextManager[object] | None = None,
        yield_to: CallbacksInFlight | None = None,
        max_yield: float = 0.5,
        batch_size: int | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.services = services
        self.router = router
        self.on_commit = on_commit
        self._write_turn = write_turn or nullcontext()
        self.yield_to = yield_to
        self.max_yield = max_yield
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Messages per commit: several on PostgreSQL (one lock query and one fsync for many),
        # one on SQLite (so the single writer's lock is held briefly and callbacks wait little).
        dialect = session_factory.kw["bind"].dialect.name
        self.batch_size = batch_size or (20 if dialect == "postgresql" else 1)

    def run_once(self, limit: int = 50) -> int:
        """Process up to ``limit`` received messages; how many were taken."""
        ids = inbox.claim(self.session_factory, self.worker_id, limit, LEASE)
        size = self.batch_size
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            if self.yield_to is not None:
                self.yield_to.wait_quiet(self.max_yield)
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
        fails is marked as failed and the others commit.
        """
        try:
            with self._write_turn, self.session_factory() as session, session.begin():
                rows = inbox.take_many(session, ids, self.worker_id)
                for message_id in ids:
                    self._route_in(session, message_id, rows.get(message_id))
        except Exception:
            log.warning("a batch of %d messages failed; routing them one by one", len(ids),
                        exc_info=True)
            for message_id in ids:
                self.process(message_id)

    def drain(self) -> int:
        """Process until nothing is waiting (tests and tools)."""
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
            if busy or stop.is_set():
                continue
            if wake is not None:
                wake.wait(idle)
                wake.clear()
            else:
                stop.wait(idle)

    def process(self, message_id: int) -> str:
        try:
            with self._write_turn:
                return self._route(message_id)
        except Exception:
            log.exception("handling inbound message %s failed", message_id)
            return self._fail(message_id)

    def _route(self, message_id: int) -> str:
        with self.session_factory() as session, session.begin():
            return self._route_in(session, message_id)

    def _route_in(
        self, session: Session, message_id: int, row: InboundMessage | None = None
    ) -> str:
        """Route one message in ``session``; ``row``: already taken (a batch), else taken here."""
        if row is None:
            row = inbox.take(session, message_id, self.worker_id)
        if row is None:  # lease lost to another processor, or already done
            return "skipped"
        if row.attempts > MAX_ATTEMPTS:
            raise RuntimeError(f"gave up after {row.attempts - 1} attempts")
        message = Incoming.from_json(row.payload)
        now = utcnow()
        group = group_for(session, message.chat_id)
        one_to_one_app = message.channel == "app" and not message.in_group
        person = recognise(session, message.sender, one_to_one_app=one_to_one_app, group=group,
                           now=now)
        ctx = Context(
            session=session,
            message=message,
            inbound=row,
            person=person,
            group=group,
            services=self.services,
            now=now,
        )
        outcome = self.router.dispatch(ctx)
        inbox.finish(row, "done", outcome, ctx.now)
        return outcome

    def _fail(self, message_id: int) -> str:
        with self._write_turn, self.session_factory() as session, session.begin():
            row = inbox.take(session, message_id, self.worker_id)
            if row is None:
                return "skipped"
            inbox.finish(row, "error", "error")
            message = Incoming.from_json(row.payload)
            Messenger(session).reply(
                key=f"reply:{message.dedup_key}:error",
                text=texts.INTERNAL_ERROR,
                sender=message.sender,
                chat=group_for(session, message.chat_id),
                in_group=message.in_group,
                response_url=message.response_url,
            )
        return "error"


def write_turn_for(engine: Engine) -> AbstractContextManager[object]:
    """SQLite has one writer at a time and makes the others sleep and retry (tens of ms); writers
    of one process take turns on a lock instead, which keeps the callback's tail latency flat.
    PostgreSQL locks rows, so it needs none."""
    return threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()


__all__ = [
    "CallbacksInFlight", "InboxProcessor", "InboundMessage", "MessageIntake", "write_turn_for",
]
