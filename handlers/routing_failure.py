"""A message GridBot could not route after all its attempts: mark it, tell its sender, alert
the staff — once each.

:meth:`RoutingFailures.give_up` does it as a reply would be written (to the group or 1:1, by
the message's own route); :meth:`RoutingFailures.give_up_plainly` is for when that path failed
too: the fewest moving parts (plain outbox rows: an app text to the sender and to each of the
centre's staff and the admins). The outbox keys make each message unique, so a sender is told
once and each staff member alerted once whichever path wrote them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlp import mask_pii
from notify import Messenger
from notify.wording import chat as texts
from services.container import Services
from store import inbox
from store.models import InboundMessage, Person
from store.outbox import enqueue
from store.roster import group_for, people_with_role
from vocab import InboxStatus, Role
from wecom.inbound import Incoming

ALERTED_ROLES = (Role.CENTER, Role.ADMIN)


class RoutingFailures:
    """Writes the marks of a message out of attempts, in the caller's transaction."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def give_up(self, session: Session, row: InboundMessage, reason: str) -> None:
        """``failed``; the apology where the message was written; the staff alerted."""
        inbox.finish(row, InboxStatus.FAILED, f"failed:{reason}")
        message = Incoming.from_json(row.payload)
        Messenger(session, self.services.settings.aibot.name).reply(
            key=apology_key(row), text=texts.INTERNAL_ERROR, sender=message.sender,
            chat=group_for(session, message.chat_id), in_group=message.in_group,
            response_url=message.response_url,
        )
        self._alert(session, row, reason)

    def give_up_plainly(self, session: Session, row: InboundMessage, reason: str) -> None:
        """The same by the plainest means: no group look-up, no reply route, no payload."""
        inbox.finish(row, InboxStatus.FAILED, f"failed:{reason}")
        enqueue(session, key=apology_key(row), channel="app", target=row.sender,
                msgtype="text", payload={"text": {"content": texts.INTERNAL_ERROR}})
        self._alert(session, row, reason)

    def _alert(self, session: Session, row: InboundMessage, reason: str) -> None:
        text = self.alert_text(session, row, reason)
        for role in ALERTED_ROLES:
            for person in people_with_role(session, role):
                enqueue(session, key=f"alert:inbound:{row.id}:{person.userid}", channel="app",
                        target=person.userid, msgtype="text", payload={"text": {"content": text}},
                        urgent=True)

    def alert_text(self, session: Session, row: InboundMessage, reason: str) -> str:
        name = session.scalar(select(Person.name).where(Person.userid == row.sender))
        channel = texts.ROUTING_CHANNELS.get(str(row.channel), str(row.channel))
        if row.chat_id:
            channel = f"{channel}·{texts.ROUTING_IN_GROUP}"
        received = self.services.calendar.local(row.received_at).strftime("%m-%d %H:%M")
        excerpt = mask_pii(row.text or row.kind)
        return texts.ROUTING_FAILED_TO_STAFF.format(
            id=row.id, channel=channel, received=received,
            sender=f"{name}（{row.sender}）" if name else row.sender,
            excerpt=excerpt[:60] + ("…" if len(excerpt) > 60 else ""),
            attempts=row.attempts, reason=reason,
        )


def apology_key(row: InboundMessage) -> str:
    """The outbox key of the one apology a failed message gets."""
    return f"reply:{row.dedup_key}:failed"
