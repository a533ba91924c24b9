"""The order in which handlers see a message: commands first, 帮助 (written from the commands),
then a resident's free text; then what follows any message (a clicked card's update).

Replies to a question the bot asked (``handlers.conversation``: the rating prompt) are read just
before free text is classified, after the handlers of events and media.
"""

from __future__ import annotations

from handlers.base import Handler, Router
from handlers.cards import refresh_clicked_card
from handlers.help import help_handlers
from handlers.resident import resident_handlers


def build_router(extra: list[Handler] | None = None) -> Router:
    """Command handlers (``extra``, most specific first), 帮助 and unknown ``/commands``
    answered from their help lines, then the resident handlers; after any of them, a clicked
    task card is brought up to date."""
    commands = list(extra or [])
    return Router([*commands, *help_handlers(commands), *resident_handlers()],
                  after=[refresh_clicked_card])
