"""The Flask application factory: ``create_app(settings)`` wires the channel, handlers and store.

No module-level state: everything a request needs hangs off ``app.extensions["gridbot"]`` (a
:class:`Runtime`), built here from the settings. Blueprints: the WeCom callbacks (``wecom``),
health checks (``health``) and, in demo mode, the chat page (``web.demo``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from handlers.base import Handler, Router
from handlers.intake import CallbacksInFlight, InboxProcessor, MessageIntake, write_turn_for
from handlers.router import build_router
from services.container import Services, build_services
from settings.model import Settings
from store.db import autocommit_engine, make_engine, make_session_factory
from wecom.callbacks import ChannelKeys, make_blueprint


@dataclass
class Runtime:
    """The process-wide pieces of one GridBot app."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    services: Services
    router: Router
    intake: MessageIntake
    processor: InboxProcessor
    in_flight: CallbacksInFlight
    wake_inbox: threading.Event = field(default_factory=threading.Event)
    wake_delivery: threading.Event = field(default_factory=threading.Event)
    intake_engine: Engine | None = None  # the callbacks' autocommit engine, when not ``engine``

    def close(self) -> None:
        """Release what the runtime opened itself (the engine it was given stays open)."""
        if self.intake_engine is not None and self.intake_engine is not self.engine:
            self.intake_engine.dispose()


def runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    return current_app.extensions["gridbot"]


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, extra_handlers: list[Handler] | None = None
) -> Runtime:
    """Engine, sessions, classifier, calendar, router, intake and inbox processor."""
    engine = engine or make_engine(settings.database_url)
    factory = make_session_factory(engine)
    services = build_services(settings)
    router = build_router(extra_handlers if extra_handlers is not None else default_commands())
    wake_inbox, wake_delivery = threading.Event(), threading.Event()
    turn = write_turn_for(engine)
    intake_engine = autocommit_engine(engine)
    intake = MessageIntake(intake_engine, on_record=wake_inbox.set, write_turn=turn)
    in_flight = CallbacksInFlight()
    processor = InboxProcessor(factory, services, router, on_commit=wake_delivery.set,
                               write_turn=turn, yield_to=in_flight)
    return Runtime(settings, engine, factory, services, router, intake, processor, in_flight,
                   wake_inbox, wake_delivery, intake_engine)


def default_commands() -> list[Handler]:
    """Every command handler the product has, most specific first."""
    from handlers.commands import command_handlers

    return command_handlers()


def create_app(settings: Settings, *, runtime_: Runtime | None = None) -> Flask:
    """The GridBot web application for ``settings``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    rt = runtime_ or build_runtime(settings)
    app.extensions["gridbot"] = rt
    app.register_blueprint(
        make_blueprint(
            rt.intake,
            ChannelKeys(settings.wecom.token, settings.wecom.encoding_aes_key,
                        settings.wecom.corp_id),
            ChannelKeys(settings.aibot.token, settings.aibot.encoding_aes_key, ""),
            settings.aibot.name,
            in_flight=rt.in_flight,
        )
    )
    from web.health import bp as health_bp

    app.register_blueprint(health_bp)
    from web.api import bp as api_bp

    app.register_blueprint(api_bp)
    return app
