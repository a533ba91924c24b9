"""Tell the people concerned what just happened to a ticket (an ``Outcome`` of the workflow).

One function, :func:`announce`, used by the chat commands and by the SLA sweep alike: the
resident hears about acceptance, progress, resolution (with the rating prompt, remembered as a
pending prompt so that the answer is understood), escalation, transfer and reopening, on the
route that reaches them (returned, so the actor can be told how the resident will hear of it, or
that nothing reaches them); a new handler gets the task card plus the reason; the previous
handler is told where the ticket went. Outbox keys carry the audit event id, so a message exists
once per event. The actor's own confirmation is the chat handler's business, not this module's.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import wording as core_texts
from cases.calendar import WorkCalendar
from cases.ladder import Level
from cases.model import Action, Rating, Status
from cases.service import Outcome
from nlp import mask_pii
from notify.messenger import Messenger
from notify.residents import Reach
from notify.tickets import Handover, HandoverKind, format_deadline, send_dispatch
from notify.wording import tickets as texts
from settings.model import ConversationSettings
from store import prompts
from store.models import Person, Ticket
from store.roster import people_with_role
from vocab.labels import role_title


def title(person: Person | None) -> str:
    """``网格员李娟``; ``综治中心`` for nobody."""
    if person is None:
        return texts.CENTER_NAME
    return f"{role_title(person.role)}{person.name or person.userid}"


def level_label(level: str) -> str:
    try:
        return core_texts.LEVEL_LABELS[Level(level)]
    except ValueError:
        return ""


class Announcer:
    """Writes the notifications of one outcome into the outbox of the current transaction."""

    def __init__(self, messenger: Messenger, calendar: WorkCalendar, category_name: str, *,
                 rating_prompt_days: int = ConversationSettings.rating_prompt_days) -> None:
        self.messenger = messenger
        self.calendar = calendar
        self.category_name = category_name
        self.rating_prompt_ttl = timedelta(days=rating_prompt_days)
        self.reach: Reach | None = None  # the routes of the last message to the resident

    def due(self, ticket: Ticket, column: str) -> str:
        return format_deadline(ticket, getattr(ticket, column), self.calendar)

    def _key(self, outcome: Outcome, tag: str, person: Person) -> str:
        event_id = outcome.event.id if outcome.event is not None else 0
        assert outcome.ticket is not None
        return f"t{outcome.ticket.id}:e{event_id}:{tag}:{person.userid}"

    def _tell(self, outcome: Outcome, tag: str, person: Person | None, text: str,
              urgent: bool = False, expects_reply: bool = False) -> Reach | None:
        if person is None or outcome.ticket is None:
            return None
        return self.messenger.text_to(
            person, key=self._key(outcome, tag, person), text=text, ticket_id=outcome.ticket.id,
            urgent=urgent, chat_id=outcome.ticket.chat_id, expects_reply=expects_reply)

    def _card(self, outcome: Outcome, person: Person | None,
              handover: Handover | None = None) -> None:
        if person is None or outcome.ticket is None:
            return
        send_dispatch(self.messenger, outcome.ticket, person, self.category_name, self.calendar,
                      key=self._key(outcome, "card", person), handover=handover)

    def resident(self, outcome: Outcome, text: str, *, expects_reply: bool = False) -> None:
        assert outcome.ticket is not None
        self.reach = self._tell(outcome, "resident", outcome.ticket.reporter, text,
                                expects_reply=expects_reply)

    def announce(self, outcome: Outcome, actor: Person | None, *,
                 reason: str = "") -> Reach | None:
        """Everything others must hear about ``outcome`` (nothing for a refusal); the routes
        planned for the resident's message, if they were sent one."""
        self.reach = None
        ticket = outcome.ticket
        if not outcome.allowed or ticket is None or outcome.event is None:
            return None
        n = ticket.id
        action = outcome.action
        note = outcome.event.note
        source = title(actor) if actor is not None else texts.SYSTEM_SOURCE
        handler = ticket.assignee
        if action is Action.ACCEPT:
            self.resident(outcome, texts.TO_RESIDENT_ACCEPTED.format(
                number=n, handler=title(handler), due=self.due(ticket, "resolve_due")))
        elif action is Action.PROGRESS:
            self.resident(outcome, texts.TO_RESIDENT_PROGRESS.format(
                number=n, handler=title(actor), note=note))
        elif action is Action.RESOLVE:
            self.resident(outcome, texts.TO_RESIDENT_RESOLVED.format(number=n, note=note),
                          expects_reply=True)
            self._await_rating(ticket)
            self._duplicates_resolved(outcome, note)
        elif action is Action.ESCALATE:
            self._escalated(outcome, source, reason or note)
        elif action is Action.RATE:
            prompts.forget_ticket(self.messenger.session, n)
            self._rated(outcome, note)
        elif action in (Action.TRANSFER, Action.DISPATCH):
            self._card(outcome, outcome.new_assignee or handler)
            if action is Action.TRANSFER:
                self._tell(outcome, "new", outcome.new_assignee or handler,
                           texts.TO_HANDLER_TRANSFERRED.format(number=n, source=source))
            previous = outcome.previous_assignee
            if previous is not None and actor is not None and previous.id != actor.id:
                self._tell(outcome, "previous", previous, texts.TO_PREVIOUS_TRANSFERRED.format(
                    number=n, source=source, handler=title(handler)))
            template = (texts.TO_RESIDENT_TRANSFERRED if action is Action.TRANSFER
                        else texts.TO_RESIDENT_DISPATCHED)
            self.resident(outcome, template.format(
                number=n, handler=title(handler), due=self.due(ticket, "accept_due")))
        elif action is Action.RETURN:
            session = self.messenger.session
            for person in people_with_role(session, "center"):
                self._tell(outcome, "center", person, texts.TO_CENTER_RETURNED.format(
                    number=n, source=source, reason=note))
            self.resident(outcome, texts.TO_RESIDENT_RETURNED.format(number=n))
        elif action is Action.SUPPLEMENT and ticket.source:  # the order's system wrote it
            self._tell(outcome, "handler", handler, texts.TO_HANDLER_SUPPLEMENT_FROM.format(
                number=n, source=ticket.reporter.name, note=note))
        elif action is Action.SUPPLEMENT:
            self._tell(outcome, "handler", handler, texts.TO_HANDLER_SUPPLEMENT.format(
                number=n, note=note))
        elif action is Action.WITHDRAW and ticket.source:
            self._tell(outcome, "handler", handler, texts.TO_HANDLER_WITHDRAWN_FROM.format(
                number=n, source=ticket.reporter.name, reason=note or texts.NO_REASON))
        elif action is Action.WITHDRAW:
            self._tell(outcome, "handler", handler, texts.TO_HANDLER_WITHDRAWN.format(number=n))
        elif action is Action.CLOSE_UNRATED:
            prompts.forget_ticket(self.messenger.session, n)
            days = outcome.event.data.get("rating_days", 3)
            self.resident(outcome, texts.TO_RESIDENT_CLOSED_UNRATED.format(number=n, days=days))
        return self.reach

    def _await_rating(self, ticket: Ticket) -> None:
        """The resident was just asked to rate: their next words are read as the answer."""
        asked = ticket.resolved_at
        assert asked is not None
        prompts.ask_rating(self.messenger.session, ticket.reporter_id, ticket.id, now=asked,
                           expires_at=asked + self.rating_prompt_ttl)

    def _escalated(self, outcome: Outcome, source: str, reason: str) -> None:
        ticket = outcome.ticket
        assert ticket is not None
        n, handler, level = ticket.id, ticket.assignee, level_label(ticket.level)
        came_from = self._from_level(outcome)
        self._card(outcome, handler, Handover(HandoverKind.ESCALATED, came_from, reason))
        self._tell(outcome, "new", handler, texts.TO_HANDLER_ESCALATED.format(
            number=n, source=source, level=came_from, reason=reason,
            due=self.due(ticket, "accept_due")), urgent=ticket.urgent)
        previous = outcome.previous_assignee
        if previous is not None and (handler is None or previous.id != handler.id):
            self._tell(outcome, "previous", previous, texts.TO_PREVIOUS_ESCALATED.format(
                number=n, level=level, handler=(handler.name if handler else ""), reason=reason))
        self.resident(outcome, texts.TO_RESIDENT_ESCALATED.format(
            number=n, level=level, handler=(handler.name if handler else ""),
            reason=mask_pii(reason)))

    def _rated(self, outcome: Outcome, comment: str) -> None:
        ticket = outcome.ticket
        assert ticket is not None
        n = ticket.id
        rating = Rating(ticket.rating) if ticket.rating else Rating.UNRATED
        label = core_texts.RATING_LABELS[rating]
        extra = f"（{comment}）" if comment else ""
        rated = texts.TO_HANDLER_RATED
        if ticket.source:  # the order's system rated it (its 回访)
            rated = texts.TO_HANDLER_RATED_FROM.replace("{source}", ticket.reporter.name)
        if ticket.status != Status.DISPATCHED:
            self._tell(outcome, "handler", ticket.assignee, rated.format(
                number=n, rating=label, comment=extra))
            return
        handler = ticket.assignee
        came_from = self._from_level(outcome)
        self._card(outcome, handler, Handover(HandoverKind.REOPENED, came_from, comment))
        self._tell(outcome, "new", handler, texts.TO_HANDLER_REOPENED.format(
            number=n, level=came_from, comment=comment or texts.NO_COMMENT,
            due=self.due(ticket, "accept_due")))
        previous = outcome.previous_assignee
        if previous is not None and (handler is None or previous.id != handler.id):
            self._tell(outcome, "previous", previous, rated.format(
                number=n, rating=label, comment=extra))

    @staticmethod
    def _from_level(outcome: Outcome) -> str:
        """The label of the ladder level the ticket was at before this event."""
        assert outcome.event is not None
        return level_label(str((outcome.event.data or {}).get("from_level", "")))

    def _duplicates_resolved(self, outcome: Outcome, note: str) -> None:
        ticket = outcome.ticket
        assert ticket is not None
        session: Session = self.messenger.session
        twins = session.scalars(
            select(Ticket).where(Ticket.duplicate_of_id == ticket.id).order_by(Ticket.id)
        ).all()
        for twin in twins:
            if twin.reporter_id == ticket.reporter_id:
                continue
            self._tell(outcome, f"dup{twin.id}", twin.reporter, texts.TO_DUPLICATE_RESOLVED.format(
                own=twin.id, number=ticket.id, note=note))
