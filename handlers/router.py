"""The order in which handlers see a message: commands first, then a resident's free text;
then what follows any message (a clicked card's update).

Replies to a question the bot asked (``handlers.conversation``: the rating prompt) are read just
before free text is classified, after help and the handlers of events and media.
"""

from __future__ import annotations

from handlers.base import Handler, Router
from handlers.cards import refresh_clicked_card
from handlers.resident import resident_handlers


def build_router(extra: list[Handler] | None = None) -> Router:
    """Command handlers (``extra``, most specific first), then the resident handlers; after
    any of them, a clicked task card is brought up to date."""
    return Router([*(extra or []), *resident_handlers()], after=[refresh_clicked_card])
