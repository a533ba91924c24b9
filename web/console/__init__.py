"""The 综治中心's console in the browser (``/console``): sign-in with WeCom, the dashboard, the
ticket list and ticket pages with their actions, notices and the month's 考单 downloads.

Server-rendered (Jinja templates and the stylesheet live in this package, so the wheel ships
them), Chinese throughout (:mod:`web.console.wording`), limited on every query to what the
signed-in person may see (``cases.permissions.reach``), every form CSRF-protected.
:func:`install` registers it on an app.
"""

from __future__ import annotations

from flask import Flask

from web.app_runtime import EXTENSION
from web.console import downloads, notices, pages, ticket_page
from web.console.auth import configure
from web.console.blueprint import bp
from web.console.figures import FiguresCache

__all__ = ["install"]
_PAGES = (pages, ticket_page, notices, downloads)  # each registers its routes on ``bp``


def install(app: Flask, *, demo: bool = False) -> None:
    """Serve the console on ``app`` (``demo`` shows a person picker on the sign-in page)."""
    configure(app, app.extensions[EXTENSION].settings.console, demo=demo)
    app.extensions[pages.FIGURES] = FiguresCache(app.extensions[EXTENSION].session_factory)
    app.register_blueprint(bp)
