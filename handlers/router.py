"""The order in which handlers see a message: commands first, then a resident's free text."""

from __future__ import annotations

from handlers.base import Handler, Router
from handlers.resident import resident_handlers


def build_router(extra: list[Handler] | None = None) -> Router:
    """Command handlers (``extra``, most specific first), then the resident handlers."""
    return Router([*(extra or []), *resident_handlers()])
