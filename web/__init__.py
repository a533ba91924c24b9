"""The Flask application factory: ``create_app(runtime)`` puts a built runtime behind HTTP.

HTTP only: the runtime (engines, services, router, intake) is built by the composition root
(:mod:`runtime`) and handed in. Everything a request needs hangs off
``app.extensions["gridbot"]``; no module-level state. Blueprints: the WeCom callbacks
(``wecom``), health checks (:mod:`web.health`), the JSON API (:mod:`web.api`, tickets and
OpenAPI), Open311, the centre's console (:mod:`web.console`) and, in demo mode, the chat page
(:mod:`web.demo`).
"""

from __future__ import annotations

from flask import Flask

from web.api import bp as api_bp
from web.app_runtime import EXTENSION, AppRuntime
from web.console import install as install_console
from web.health import bp as health_bp
from web.open311 import bp as open311_bp
from web.openapi import bp as openapi_bp
from web.tickets_api import bp as tickets_api_bp
from wecom.callbacks import ChannelKeys, make_blueprint


def create_app(runtime: AppRuntime, *, demo: bool = False) -> Flask:
    """The GridBot web application serving ``runtime`` (``demo``: the console's sign-in page
    offers a person picker)."""
    settings = runtime.settings
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions[EXTENSION] = runtime
    app.register_blueprint(
        make_blueprint(
            runtime.intake,
            ChannelKeys(settings.wecom.token, settings.wecom.encoding_aes_key,
                        settings.wecom.corp_id),
            ChannelKeys(settings.aibot.token, settings.aibot.encoding_aes_key, ""),
            settings.aibot.name,
        )
    )
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(tickets_api_bp)
    app.register_blueprint(open311_bp)
    app.register_blueprint(openapi_bp)
    install_console(app, demo=demo)
    return app
