"""Build one process's runtime: everything a request, a job or a worker thread needs.

No module-level state: each call of :func:`build_runtime` makes a fresh set of pieces, so tests
(and the scheduler's leader election) can run several "processes" side by side.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from handlers.base import Handler, Router
from handlers.commands import command_handlers
from handlers.intake import InboxProcessor, MessageIntake
from handlers.router import build_router
from notify.webhooks import install as install_webhooks
from services.container import Services, build_services
from settings.model import Settings
from store.db import autocommit_engine, make_engine, make_session_factory
from store.write_turn import write_turn_for
from wecom.sender import Sender
from wecom.token_cache import DatabaseTokenCache, RedisTokenCache, TokenCache


@dataclass
class Runtime:
    """The process-wide pieces of one GridBot process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    services: Services
    router: Router
    intake: MessageIntake
    processor: InboxProcessor
    wake_inbox: threading.Event = field(default_factory=threading.Event)
    wake_delivery: threading.Event = field(default_factory=threading.Event)
    intake_engine: Engine | None = None  # the callbacks' autocommit engine, when not ``engine``
    # SQLite: the turn at the single writer every writer of the file takes (store.write_turn)
    write_turn: AbstractContextManager[object] = field(default_factory=nullcontext)

    def new_sender(self) -> Sender:
        """A WeCom sender whose access token is shared with every other process."""
        return Sender(self.settings.wecom, cache=token_cache(self.settings, self.session_factory))

    def close(self) -> None:
        """Release what the runtime opened itself (the engine it was given stays open)."""
        if self.intake_engine is not None and self.intake_engine is not self.engine:
            self.intake_engine.dispose()


def token_cache(settings: Settings, session_factory: sessionmaker[Session]) -> TokenCache:
    """Redis when configured, else the database: one token shared by every process."""
    key = f"{settings.wecom.corp_id}:{settings.wecom.agent_id}"
    if settings.redis_url:
        return RedisTokenCache(settings.redis_url, key)
    return DatabaseTokenCache(session_factory, key)


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, extra_handlers: list[Handler] | None = None
) -> Runtime:
    """Engine, sessions, classifier, calendar, router, intake and inbox processor."""
    engine = engine or make_engine(settings.database_url)
    factory = make_session_factory(engine)
    install_webhooks(factory)  # status changes → subscribers' webhooks, in the same flush
    services = build_services(settings)
    router = build_router(extra_handlers if extra_handlers is not None else command_handlers())
    wake_inbox, wake_delivery = threading.Event(), threading.Event()
    turn = write_turn_for(engine)
    intake_engine = autocommit_engine(engine)
    intake = MessageIntake(intake_engine, on_record=wake_inbox.set, write_turn=turn)
    processor = InboxProcessor(factory, services, router, on_commit=wake_delivery.set,
                               write_turn=turn)
    return Runtime(settings, engine, factory, services, router, intake, processor,
                   wake_inbox, wake_delivery, intake_engine, turn)
