"""Address and queue outgoing messages (outbox rows) for people, groups and replies.

Messages to staff go 1:1 through the app; messages to a resident take the route that reaches
them (``notify.residents``: the app, or their grid group with an @-mention, with fallbacks).
Messages to people are text or cards, never markdown: the WeChat plug-in most residents use does
not show the app's markdown. Markdown goes only to group robots, which WeCom renders.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nlp import mask_pii
from notify.plain_text import markdown_to_text
from notify.residents import Reach, send_to_resident
from notify.wording.residents import GROUP_REPLY_HINT
from store.models import GroupChat, Person
from store.outbox import put
from vocab import Enrolment


class Messenger:
    """Writes outgoing messages into the outbox of the current transaction.

    ``bot_name`` is the smart bot's name: a resident reached in a group is told to @ it to answer.
    """

    def __init__(self, session: Session, bot_name: str = "") -> None:
        self.session = session
        self.bot_name = bot_name

    def reply(
        self,
        *,
        key: str,
        text: str,
        sender: str,
        chat: GroupChat | None = None,
        in_group: bool = False,
        response_url: str | None = None,
        ticket_id: int | None = None,
        urgent: bool = False,
    ) -> None:
        """Answer a message where it was written: the group (masked) or the sender 1:1."""
        if in_group:
            text = mask_pii(text)
        if response_url:
            self._put(key, "response_url", response_url, "markdown", {"markdown": {"content": text}},
                      ticket_id, urgent)
        elif in_group and chat is not None and chat.webhook_key:
            self._put(key, "webhook", chat.webhook_key, "text", {"text": {"content": text}},
                      ticket_id, urgent)
        elif in_group and chat is not None and chat.appchat:
            self._put(key, "appchat", chat.chat_id, "text", {"text": {"content": text}},
                      ticket_id, urgent)
        else:
            self._put(key, "app", sender, "text", {"text": {"content": text}}, ticket_id, urgent)

    def text_to(self, person: Person, *, key: str, text: str, ticket_id: int | None = None,
                urgent: bool = False, chat_id: str | None = None,
                expects_reply: bool = False) -> Reach | None:
        """A text to one person; for a resident, on the route that reaches them (returned).

        ``chat_id``: the group the message concerns; ``expects_reply``: the resident is asked
        to answer (in a group that means @-ing the bot, which the message then says).
        """
        if person.enrolled_via == Enrolment.SYSTEM:
            return None  # an outside system's order: the system hears by webhook, not in chat
        if person.role == "resident":
            hint = GROUP_REPLY_HINT.format(bot=self.bot_name) if expects_reply and self.bot_name \
                else ""
            return send_to_resident(self.session, person, key=key, text=text, ticket_id=ticket_id,
                                    urgent=urgent, chat_id=chat_id, reply_hint=hint)
        self._put(key, "app", person.userid, "text", {"text": {"content": text}}, ticket_id, urgent)
        return None

    def card_to(self, person: Person, *, key: str, card: dict[str, Any],
                ticket_id: int | None = None, urgent: bool = False) -> None:
        self._put(key, "app", person.userid, "template_card", {"template_card": card}, ticket_id,
                  urgent)

    def update_card(self, userid: str, *, key: str, response_code: str,
                    replace_name: str | None = None, card: dict[str, Any] | None = None,
                    ticket_id: int | None = None) -> None:
        """Change the interactive card ``userid`` clicked (its ``response_code``): grey its
        buttons out under ``replace_name``, or show ``card`` in its place."""
        payload: dict[str, Any] = {"response_code": response_code}
        if card is not None:
            payload["template_card"] = card
        else:
            payload["button"] = {"replace_name": replace_name}
        self._put(key, "card_update", userid, "update_template_card", payload, ticket_id,
                  urgent=True)

    def markdown_to_group(self, chat: GroupChat, *, key: str, text: str,
                          urgent: bool = False) -> bool:
        """Post into a group: markdown by its robot (WeCom renders it), else plain text as an app
        chat; False when it has neither."""
        text = mask_pii(text)
        if chat.webhook_key:
            self._put(key, "webhook", chat.webhook_key, "markdown", {"markdown": {"content": text}},
                      None, urgent)
        elif chat.appchat:
            self._put(key, "appchat", chat.chat_id, "text",
                      {"text": {"content": markdown_to_text(text)}}, None, urgent)
        else:
            return False
        return True

    def _put(self, key: str, channel: str, target: str, msgtype: str, payload: dict[str, Any],
             ticket_id: int | None, urgent: bool) -> None:
        put(self.session, key=key, channel=channel, target=target, msgtype=msgtype,
            payload=payload, ticket_id=ticket_id, urgent=urgent)
