"""Every chat command GridBot understands, in the order the router tries them.

Each feature contributes its handlers here (worker and resident ticket commands, notices for
staff); the router puts these before the resident's free-text handlers.
"""

from __future__ import annotations

from handlers.base import Handler


def command_handlers() -> list[Handler]:
    """The command handlers, most specific first."""
    from handlers.notice_commands import notice_handlers
    from handlers.resident_commands import resident_command_handlers
    from handlers.worker import worker_handlers

    return [*notice_handlers(), *worker_handlers(), *resident_command_handlers()]
