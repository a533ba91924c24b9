"""Every chat command GridBot understands, in the order the router tries them.

Each feature contributes its handlers here (worker and resident ticket commands, notices for
staff, the list of enrolled residents); the router puts these before the resident's free-text
handlers. The order is also the order of their lines in 帮助 (no two features share a verb, so it
does not change what matches).
"""

from __future__ import annotations

from handlers.base import Handler


def command_handlers() -> list[Handler]:
    """The command handlers: tickets (staff, then residents), then notices."""
    from handlers.notice_commands import notice_handlers
    from handlers.resident_commands import resident_command_handlers
    from handlers.residents import resident_list_handlers
    from handlers.worker import worker_handlers

    return [*worker_handlers(), *resident_list_handlers(), *resident_command_handlers(),
            *notice_handlers()]
