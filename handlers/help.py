"""帮助 by role, written from the registered command handlers so it cannot drift from what works.

Every command handler declares its line in 帮助 and the roles it is for (``Handler.help_entries``);
the ticket commands take those roles from the core's permission matrix (:func:`roles_for`), the
notice commands from the broadcast rule. ``帮助`` (or an unknown ``/command``) answers with the
lines of the asker's role, in the router's order: a resident sees how to report and the resident
commands, the centre sees 派单 and the notice commands, a department sees no 派单, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence

from cases.model import Action, Role
from cases.permissions import RULES
from handlers.base import CommandHelp, Context, FunctionHandler, Handler
from notify.wording import chat as texts
from vocab.labels import role_label

HELP_WORDS = frozenset({"帮助", "help", "?", "？", "菜单", "怎么用", "使用说明", "/help", "/帮助"})


def roles_for(*actions: Action) -> frozenset[str]:
    """The roles whose rules in the core grant any of ``actions`` (the bot's own role aside)."""
    return frozenset(
        str(role) for role, rules in RULES.items()
        if role is not Role.SYSTEM and any(action in rules for action in actions)
    )


class HelpBook:
    """The 帮助 lines of every registered command, by role."""

    def __init__(self, handlers: Sequence[Handler]) -> None:
        self.entries: tuple[CommandHelp, ...] = tuple(
            entry for handler in handlers for entry in handler.help_entries())

    def lines_for(self, role: str) -> list[str]:
        """The lines of the commands ``role`` may use, in the router's order, once each."""
        return list(dict.fromkeys(e.line for e in self.entries if role in e.roles))

    def text_for(self, role: str, bot: str) -> str:
        lines = [texts.HELP_ITEM.format(line=line) for line in self.lines_for(role)]
        if role == Role.RESIDENT:
            return "\n".join([texts.HELP_RESIDENT_HEAD.format(bot=bot), texts.HELP_RESIDENT_REPORT,
                              *lines, texts.HELP_RESIDENT_FAQ])
        return "\n".join([texts.HELP_STAFF_HEAD.format(bot=bot, role=role_label(role)),
                          *(lines or [texts.HELP_NO_COMMANDS]), texts.HELP_STAFF_FOOT])


def help_handlers(commands: Sequence[Handler]) -> list[Handler]:
    """帮助, then unknown slash-commands, answered from ``commands``' help lines."""
    book = HelpBook(commands)

    def is_help(ctx: Context) -> bool | None:
        return True if ctx.text.lower() in HELP_WORDS else None

    def answer(ctx: Context, _match: object) -> str:
        ctx.reply(book.text_for(ctx.person.role, ctx.services.settings.aibot.name))
        return "help"

    def is_unknown_command(ctx: Context) -> str | None:
        text = ctx.text
        if text.startswith("/") and len(text) > 1:
            return text.split(" ", 1)[0]
        return None

    def unknown(ctx: Context, command: str) -> str:
        ctx.reply(texts.UNKNOWN_COMMAND.format(command=command)
                  + book.text_for(ctx.person.role, ctx.services.settings.aibot.name))
        return "unknown-command"

    return [FunctionHandler(is_help, answer), FunctionHandler(is_unknown_command, unknown)]
