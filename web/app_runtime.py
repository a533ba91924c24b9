"""What the web layer needs from a process's runtime, and how a request finds it.

The composition root (:mod:`runtime`) builds the runtime; :func:`web.create_app` hangs it off
``app.extensions["gridbot"]`` and the blueprints read it back with :func:`current_runtime`.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Protocol

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from handlers.intake import MessageIntake
from services.container import Services
from settings.model import Settings
from wecom.sender import Sender

EXTENSION = "gridbot"


class AppRuntime(Protocol):
    """The process-wide pieces the HTTP endpoints use."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    services: Services
    intake: MessageIntake
    wake_delivery: threading.Event
    write_turn: AbstractContextManager[object]  # SQLite's writers take turns (store.write_turn)

    def new_sender(self) -> Sender:
        """A WeCom client (the console's sign-in asks WeCom who a code belongs to)."""
        ...


def current_runtime() -> AppRuntime:
    """The runtime of the app handling the current request."""
    return current_app.extensions[EXTENSION]
