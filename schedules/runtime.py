"""What the schedules layer needs from a process's runtime, as a protocol.

The composition root (:mod:`runtime`) builds the runtime and hands it down; the jobs, the
scheduler and the background threads here read only these pieces, so this layer imports
nothing above it.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.container import Services
from settings.model import Settings
from wecom.sender import Sender


class InboxRouting(Protocol):
    """Routes recorded inbound messages until stopped (``handlers.intake.InboxProcessor``)."""

    def run_forever(
        self, stop: threading.Event, wake: threading.Event | None = None, idle: float = 1.0
    ) -> None: ...


class JobRuntime(Protocol):
    """The process-wide pieces a scheduler, a delivery worker and every job run with."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    services: Services
    processor: InboxRouting
    wake_inbox: threading.Event
    wake_delivery: threading.Event
    write_turn: AbstractContextManager[object]  # SQLite's writers take turns (store.write_turn)

    def new_sender(self) -> Sender:
        """A WeCom sender sharing the process's access-token cache."""
        ...
