"""Address and queue outgoing messages (outbox rows) for people, groups and replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nlp import mask_pii
from store.models import GroupChat, Person
from store.outbox import enqueue


class Messenger:
    """Writes outgoing messages into the outbox of the current transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

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
                urgent: bool = False) -> None:
        self._put(key, "app", person.userid, "text", {"text": {"content": text}}, ticket_id, urgent)

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
        """Post into a group by its robot or as an app chat; False when it has neither."""
        text = mask_pii(text)
        if chat.webhook_key:
            self._put(key, "webhook", chat.webhook_key, "markdown", {"markdown": {"content": text}},
                      None, urgent)
        elif chat.appchat:
            self._put(key, "appchat", chat.chat_id, "markdown", {"markdown": {"content": text}},
                      None, urgent)
        else:
            return False
        return True

    def _put(self, key: str, channel: str, target: str, msgtype: str, payload: dict[str, Any],
             ticket_id: int | None, urgent: bool) -> None:
        enqueue(self.session, key=key, channel=channel, target=target, msgtype=msgtype,
                payload=payload, ticket_id=ticket_id, urgent=urgent)
