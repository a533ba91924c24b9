"""The handler toolkit: a context per message, small handlers (match + callback), a router.

Modelled on python-telegram-bot's ``telegram.ext``: each handler has ``check`` (does this message
concern me? returns a match object or None) and ``handle`` (act on it, return an outcome word for
the log). The :class:`Router` tries handlers in order; the first match wins.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from notify import Messenger
from notify.wording import tickets as T
from services.container import Services
from store.ids import id_from_digits, shown
from store.models import GroupChat, InboundMessage, Person
from wecom.inbound import Incoming


@dataclass
class Context:
    """Everything a handler may use for one message, inside one database transaction."""

    session: Session
    message: Incoming
    inbound: InboundMessage
    person: Person
    group: GroupChat | None
    services: Services
    now: datetime
    # whether the bot has a question of the sender's on record (a rating prompt, "which
    # ticket?"); False spares the conversation handler its look-up
    prompts_on_record: bool = True
    messenger: Messenger = field(init=False)
    _replies: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.messenger = Messenger(self.session, self.services.settings.aibot.name)

    @cached_property
    def text(self) -> str:
        """The message's command text, normalised once (every handler's check reads it)."""
        return normalise(self.message.command_text)

    def reply(self, text: str, *, ticket_id: int | None = None, urgent: bool = False) -> None:
        """Answer where the message was written (group replies are PII-masked)."""
        self._replies += 1
        self.messenger.reply(
            key=f"reply:{self.message.dedup_key}:{self._replies}",
            text=text,
            sender=self.message.sender,
            chat=self.group,
            in_group=self.message.in_group,
            response_url=self.message.response_url,
            ticket_id=ticket_id,
            urgent=urgent,
        )


def normalise(text: str) -> str:
    """Full-width digits, letters, '#' and spaces to half-width; runs of spaces to one."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


@dataclass(frozen=True)
class CommandHelp:
    """A command's line in 帮助 (``接单 12：接下派给您的工单``) and the roles it is for."""

    line: str
    roles: frozenset[str]


class Handler(ABC):
    """One thing the bot can do with a message."""

    def help_entries(self) -> Sequence[CommandHelp]:
        """The lines this handler adds to 帮助, each with the roles that may use it."""
        return ()

    @abstractmethod
    def check(self, ctx: Context) -> Any | None:
        """A match object when this handler takes the message, else None."""

    @abstractmethod
    def handle(self, ctx: Context, match: Any) -> str:
        """Act on the message; return a short outcome for the log (e.g. ``ticket:12``)."""


@dataclass(frozen=True)
class CommandMatch:
    """A parsed command: its verb, the ticket number if any, and the rest of the text.

    ``unknown_number`` holds typed digits that cannot be a ticket number (0, or past the
    database's id range, e.g. a phone number); ``number`` is None then.
    """

    verb: str
    number: int | None
    rest: str
    unknown_number: str | None = None


class CommandHandler(Handler):
    """A chat command such as ``接单 12`` or ``进度 12 已联系物业``.

    Forgiving like the chat a worker types: ``接单12``, ``接单 #12``, ``接单　１２`` all match.
    ``needs_number`` commands without a number, or ``needs_text`` without text, are answered with
    the command's usage instead of being passed on. A number no ticket can have (``查询
    13912345678``) is answered with ``not_found`` here: it never reaches the database. ``help``
    is its line in 帮助, shown to the ``roles`` that may use it (derive them from the core's
    rules where the command is an action).
    """

    def __init__(
        self,
        verbs: Sequence[str],
        callback: Callable[[Context, CommandMatch], str],
        *,
        needs_number: bool = False,
        needs_text: bool = False,
        usage: str = "",
        allowed: Callable[[Context], bool] | None = None,
        not_found: str = T.NOT_FOUND,
        help: str = "",  # noqa: A002 - the word people know it by
        roles: Iterable[str] = (),
    ) -> None:
        self.help = CommandHelp(help, frozenset(roles)) if help else None
        self.verbs = tuple(sorted(verbs, key=len, reverse=True))
        self.not_found = not_found
        self.callback = callback
        self.needs_number = needs_number
        self.needs_text = needs_text
        self.usage = usage
        self.allowed = allowed
        alternatives = "|".join(re.escape(v) for v in self.verbs)
        self.pattern = re.compile(
            rf"^/?(?P<verb>{alternatives})(?:\s*#?\s*(?P<number>\d+))?(?:[\s,，:：]*(?P<rest>.*))?$",
            re.S,
        )

    def help_entries(self) -> Sequence[CommandHelp]:
        return (self.help,) if self.help is not None else ()

    def check(self, ctx: Context) -> CommandMatch | None:
        found = self.pattern.match(ctx.text)
        if not found:
            return None
        if self.allowed is not None and not self.allowed(ctx):
            return None
        digits = found.group("number")
        number = id_from_digits(digits) if digits else None
        return CommandMatch(
            verb=found.group("verb"),
            number=number,
            rest=(found.group("rest") or "").strip(),
            unknown_number=digits if digits and number is None else None,
        )

    def handle(self, ctx: Context, match: CommandMatch) -> str:
        if match.unknown_number is not None:
            ctx.reply(self.not_found.format(number=shown(match.unknown_number)))
            return "ticket:not-found"
        if (self.needs_number and match.number is None) or (self.needs_text and not match.rest):
            ctx.reply(self.usage)
            return f"usage:{match.verb}"
        return self.callback(ctx, match)


class FunctionHandler(Handler):
    """A handler from two functions: ``check(ctx) -> match | None`` and ``handle(ctx, match)``."""

    def __init__(
        self,
        check: Callable[[Context], Any | None],
        handle: Callable[[Context, Any], str],
    ) -> None:
        self._check = check
        self._handle = handle

    def check(self, ctx: Context) -> Any | None:
        return self._check(ctx)

    def handle(self, ctx: Context, match: Any) -> str:
        return self._handle(ctx, match)


class Router:
    """Tries its handlers in order; the first whose ``check`` matches handles the message.

    ``after`` steps run on every message once it is handled, in the same transaction.
    """

    def __init__(
        self, handlers: Sequence[Handler], after: Sequence[Callable[[Context], None]] = ()
    ) -> None:
        self.handlers = list(handlers)
        self.after = list(after)

    def dispatch(self, ctx: Context) -> str:
        outcome = "unhandled"
        for handler in self.handlers:
            match = handler.check(ctx)
            if match is not None:
                outcome = handler.handle(ctx, match)
                break
        for step in self.after:
            step(ctx)
        return outcome
