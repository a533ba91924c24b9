"""What a scheduled job runs with, and how a job stored in the database finds it again.

APScheduler's SQLAlchemy job store pickles a job's function reference and arguments, so a job
cannot carry a session factory. Each stored job carries two strings instead — its spec id and
the context key of the scheduler (stable across restarts: derived from the database URL) — and
the leading scheduler registers its live :class:`JobContext` under that key in the process's
:class:`ContextRegistry` while it leads. This registry is the one piece of process-wide state the
scheduler needs; nothing else is kept at module level.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from schedules.delivery import OutboxWorker, build_worker
from schedules.jobs import JobSpec
from schedules.runtime import JobRuntime
from services.container import Services


@dataclass
class JobContext:
    """The leading scheduler's runtime, handed to every job function."""

    runtime: JobRuntime
    holder: str  # who leads: "host:pid:n"
    specs: Mapping[str, JobSpec]
    worker: OutboxWorker | None = None  # built on first use
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.runtime.session_factory

    @property
    def services(self) -> Services:
        return self.runtime.services

    def outbox_worker(self) -> OutboxWorker:
        with self.lock:
            if self.worker is None:
                self.worker = build_worker(self.runtime)
            return self.worker

    def stop_delivery(self) -> None:
        """Have the delivery job stop between two rows (the scheduler is stopping)."""
        with self.lock:
            if self.worker is not None:
                self.worker.stopping.set()


def context_key(database_url: str) -> str:
    """The same key for every scheduler on one database, across restarts."""
    return "gridbot:" + hashlib.sha1(database_url.encode()).hexdigest()[:12]


class ContextRegistry:
    """Key → the live context of the scheduler leading on that database in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, JobContext] = {}

    def register(self, key: str, context: JobContext) -> None:
        with self._lock:
            self._contexts[key] = context

    def unregister(self, key: str, context: JobContext) -> None:
        with self._lock:
            if self._contexts.get(key) is context:
                del self._contexts[key]

    def get(self, key: str) -> JobContext | None:
        with self._lock:
            return self._contexts.get(key)


CONTEXTS = ContextRegistry()
