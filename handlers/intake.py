"""From a normalised message to its effects, once: record, route, commit, then wake delivery.

The message row (unique on its de-duplication key), everything the handlers change, and every
outgoing message are written in ONE transaction. A retry or a concurrent copy of the same message
fails the unique key and changes nothing; a crash before commit leaves nothing, so WeCom's retry
does the work. A bug in a handler is logged, the message is still recorded with its error, and the
sender gets an apology instead of WeCom retrying a poison message forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from handlers import texts
from handlers.base import Context, Router
from handlers.services import Services
from notify import Messenger
from store.clock import utcnow
from store.models import InboundMessage
from store.roster import group_for, person_for
from wecom.inbound import Incoming

log = logging.getLogger(__name__)


class MessageIntake:
    """Callable that takes one :class:`Incoming` and returns what became of it."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        services: Services,
        router: Router,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.services = services
        self.router = router
        self.on_commit = on_commit

    def __call__(self, message: Incoming) -> str:
        try:
            outcome = self._process(message)
        except IntegrityError:
            return "duplicate"
        except Exception:
            log.exception("handling %s failed", message.dedup_key)
            try:
                outcome = self._record_failure(message)
            except IntegrityError:
                return "duplicate"
        if self.on_commit is not None:
            self.on_commit()
        return outcome

    def _record(self, session: Session, message: Incoming) -> InboundMessage:
        row = InboundMessage(
            dedup_key=message.dedup_key,
            channel=message.channel,
            sender=message.sender,
            chat_id=message.chat_id,
            kind=message.kind if message.kind != "event" else f"event:{message.event}",
            text=message.text,
            payload=message.raw,
        )
        session.add(row)
        session.flush()  # the unique key: a duplicate raises IntegrityError here
        return row

    def _process(self, message: Incoming) -> str:
        with self.session_factory() as session, session.begin():
            row = self._record(session, message)
            ctx = Context(
                session=session,
                message=message,
                inbound=row,
                person=person_for(session, message.sender),
                group=group_for(session, message.chat_id),
                services=self.services,
                now=utcnow(),
            )
            row.outcome = self.router.dispatch(ctx)[:64]
            return row.outcome

    def _record_failure(self, message: Incoming) -> str:
        with self.session_factory() as session, session.begin():
            row = self._record(session, message)
            row.outcome = "error"
            Messenger(session).reply(
                key=f"reply:{message.dedup_key}:error",
                text=texts.INTERNAL_ERROR,
                sender=message.sender,
                chat=group_for(session, message.chat_id),
                in_group=message.in_group,
                response_url=message.response_url,
            )
        return "error"
