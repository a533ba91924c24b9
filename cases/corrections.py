"""改类: staff correct a ticket's category, and each correction becomes a label the classifier
is measured on and learns from.

:func:`reclassify` checks the correction like every other action (``cases.permissions``: a grid
leader in their grids, the centre in its township, the county, admin; ``cases.lifecycle``: any
status but withdrawn and merged, a reason required, a new category), applies it through the
workflow (the trail gets a ``reclassify`` event) and records a ``ClassifierCorrection``: the
ticket's text, the classifier's prediction at intake, the category replaced, the corrected one,
the reason, who and when. A ticket's label is its latest correction.

Reading them back: :func:`labelled_tickets` (the corrected tickets as ``(text, label)`` rows for
``rules eval|learn --from-tickets``) and :func:`accuracy_for_month` (how often the classifier's
category stood, over the month's tickets; computed in SQL). Pure of chat: the categories the
township has are handed in (:func:`choices_from` the classifier's rules).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import wording as texts
from cases.calendar import DEFAULT_TZ
from cases.kpi_query import month_bounds
from cases.lifecycle import decide, refuse
from cases.model import Action, Actor
from cases.service import Outcome, Workflow, view_of
from store.correction_models import ClassifierCorrection
from store.models import Person, Ticket

#: Tickets that are not cases of their own (as in 考单): not counted in the month's accuracy.
NOT_COUNTED = ("merged", "withdrawn")


class _CategoryLike(Protocol):
    code: str
    name: str
    department: str | None


@dataclass(frozen=True)
class CategoryChoice:
    """A category a ticket can be given: its code, its Chinese name, the department it routes
    to."""

    code: str
    name: str
    department: str | None = None


def choices_from(categories: Iterable[_CategoryLike], *, other: str = "other",
                 other_name: str = "其他") -> dict[str, CategoryChoice]:
    """The township's categories by code (e.g. ``classifier.rules.categories``), with the
    fallback ``other`` (human triage) when the rules do not name it."""
    out = {c.code: CategoryChoice(c.code, c.name, c.department) for c in categories}
    out.setdefault(other, CategoryChoice(other, other_name))
    return out


def _key(word: str) -> str:
    return unicodedata.normalize("NFKC", word).strip().lower()


def find_category(word: str, choices: Mapping[str, CategoryChoice]) -> CategoryChoice | None:
    """The category a person named, by code or Chinese name (``安全隐患``, ``safety``)."""
    wanted = _key(word)
    for choice in choices.values():
        if wanted in (_key(choice.code), _key(choice.name)):
            return choice
    return None


_SPLIT = re.compile(r"[\s,，:：;；、]+")


def split_category_and_reason(rest: str) -> tuple[str, str]:
    """``安全隐患 电动车在楼道充电`` → (``安全隐患``, ``电动车在楼道充电``)."""
    parts = _SPLIT.split(rest.strip(), maxsplit=1)
    word = parts[0] if parts else ""
    return word, (parts[1].strip() if len(parts) > 1 else "")


def _predicted(session: Session, ticket: Ticket) -> str:
    """The classifier's category at intake: the first correction's prediction, else the
    ticket's category (nothing else changes it)."""
    first = session.scalar(
        select(ClassifierCorrection.predicted)
        .where(ClassifierCorrection.ticket_id == ticket.id)
        .order_by(ClassifierCorrection.id).limit(1))
    return first if first is not None else ticket.category


def reclassify(
    workflow: Workflow,
    ticket: Ticket,
    who: Person | Actor,
    category: str,
    reason: str,
    *,
    choices: Mapping[str, CategoryChoice],
    now: datetime,
    source_message_id: int | None = None,
) -> Outcome:
    """改类: give ``ticket`` the category ``category`` (a code or a name in ``choices``) for
    ``reason``, and record the correction. Flushes, never commits. The department follows the
    category when it was the old category's (a ticket routed elsewhere by hand keeps its)."""
    actor = workflow.actor(who)
    target = find_category(category, choices)
    old = choices.get(ticket.category)
    department = None
    if target is not None and (old is None or ticket.department == old.department):
        department = target.department or ""
    code = target.code if target is not None else (category.strip() or None)
    names = {"from_name": old.name if old else ticket.category,
             "name": target.name if target else category}
    decision = decide(view_of(ticket), Action.RECLASSIFY, actor, note=reason, category=code,
                      department=department, source_message_id=source_message_id, data=names)
    if decision.allowed and target is None:  # they may, but the township has no such category
        known = "、".join(c.name for c in choices.values())
        decision = refuse(texts.reclassify_unknown_category(ticket.id, category, known))
    elif target is not None and decision.reason == texts.reclassify_same_category(
            ticket.id, target.code):
        decision = refuse(texts.reclassify_same_category(ticket.id, target.name))
    previous = ticket.category
    predicted = _predicted(workflow.session, ticket)
    outcome = workflow.apply(ticket, Action.RECLASSIFY, decision, now=now)
    if outcome.allowed and outcome.event is not None and target is not None:
        workflow.session.add(ClassifierCorrection(
            ticket_id=ticket.id, event_id=outcome.event.id, text=ticket.text,
            predicted=predicted, previous=previous, corrected=target.code,
            reason=outcome.event.note, actor_id=actor.person_id, created_at=now))
        workflow.session.flush()
    return outcome


# ---------------------------------------------------------------------------------------------
# Reading the labels back
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledTicket:
    """A corrected ticket as a labelled example: its latest correction."""

    ticket_id: int
    text: str
    predicted: str
    label: str
    corrected_at: datetime


def _latest_ids():  # type: ignore[no-untyped-def]
    return (select(func.max(ClassifierCorrection.id).label("id"))
            .group_by(ClassifierCorrection.ticket_id).subquery())


def labelled_tickets(session: Session, start: datetime | None = None,
                     end: datetime | None = None) -> list[LabelledTicket]:
    """Every corrected ticket (created in ``[start, end)`` when given), labelled with its latest
    correction, oldest ticket first."""
    latest = _latest_ids()
    query = (select(ClassifierCorrection.ticket_id, ClassifierCorrection.text,
                    ClassifierCorrection.predicted, ClassifierCorrection.corrected,
                    ClassifierCorrection.created_at)
             .join(latest, latest.c.id == ClassifierCorrection.id)
             .join(Ticket, Ticket.id == ClassifierCorrection.ticket_id)
             .order_by(ClassifierCorrection.ticket_id))
    if start is not None:
        query = query.where(Ticket.created_at >= start)
    if end is not None:
        query = query.where(Ticket.created_at < end)
    return [LabelledTicket(r.ticket_id, r.text, r.predicted, r.corrected, r.created_at)
            for r in session.execute(query)]


@dataclass(frozen=True)
class CorrectionRow:
    """One correction as the console lists it (the text as stored: mask it for display)."""

    id: int
    ticket_id: int
    text: str
    predicted: str
    previous: str
    corrected: str
    reason: str
    actor: str  # the corrector's name ("" for none)
    created_at: datetime


def recent_corrections(session: Session, *, limit: int = 50,
                       ticket_id: int | None = None) -> list[CorrectionRow]:
    """The latest corrections, newest first (of one ticket when ``ticket_id`` is given)."""
    query = (select(ClassifierCorrection, Person.name, Person.userid)
             .outerjoin(Person, Person.id == ClassifierCorrection.actor_id)
             .order_by(ClassifierCorrection.id.desc()).limit(limit))
    if ticket_id is not None:
        query = query.where(ClassifierCorrection.ticket_id == ticket_id)
    return [CorrectionRow(c.id, c.ticket_id, c.text, c.predicted, c.previous, c.corrected,
                          c.reason, name or userid or "", c.created_at)
            for c, name, userid in session.execute(query)]


@dataclass(frozen=True)
class CategoryAccuracy:
    """One category over a month: tickets the classifier gave it (``predicted``), tickets that
    have it after the corrections (``actual``), and those that had it all along (``correct``)."""

    code: str
    predicted: int
    actual: int
    correct: int

    @property
    def precision(self) -> float | None:
        """Of the tickets the classifier put here, the share that stayed."""
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        """Of the tickets that belong here, the share the classifier put here."""
        return self.correct / self.actual if self.actual else None


@dataclass(frozen=True)
class CorrectionStats:
    """The classifier on a month's tickets, as the township's triage judged it.

    ``tickets``: the month's tickets (created in it; merged duplicates and withdrawn reports
    left out, as in 考单); ``corrected``: those whose category was changed (their latest
    correction differs from the classifier's prediction); ``accuracy``: the share whose
    category stood (None for a month without tickets); ``categories``: per category, by code;
    ``confusions``: (predicted, corrected, count), the most frequent first."""

    month: str
    tickets: int
    corrected: int
    categories: tuple[CategoryAccuracy, ...]
    confusions: tuple[tuple[str, str, int], ...]

    @property
    def accuracy(self) -> float | None:
        return (self.tickets - self.corrected) / self.tickets if self.tickets else None


def accuracy_for_month(session: Session, month: str,
                       tz: tzinfo | None = None) -> CorrectionStats:
    """The classifier's accuracy on the tickets created in ``month`` (``"2026-11"``, township
    time ``tz``, default Asia/Shanghai): two grouped queries, whatever the number of tickets."""
    start, end = month_bounds(month, tz or ZoneInfo(DEFAULT_TZ))
    in_month = (Ticket.created_at >= start, Ticket.created_at < end,
                Ticket.status.not_in(NOT_COUNTED))
    actual = {category: n for category, n in session.execute(
        select(Ticket.category, func.count()).where(*in_month).group_by(Ticket.category))}
    latest = _latest_ids()
    pairs = [(p, c, n) for p, c, n in session.execute(
        select(ClassifierCorrection.predicted, ClassifierCorrection.corrected, func.count())
        .join(latest, latest.c.id == ClassifierCorrection.id)
        .join(Ticket, Ticket.id == ClassifierCorrection.ticket_id)
        .where(*in_month, ClassifierCorrection.predicted != ClassifierCorrection.corrected)
        .group_by(ClassifierCorrection.predicted, ClassifierCorrection.corrected))]
    moved_out: dict[str, int] = {}
    moved_in: dict[str, int] = {}
    for predicted, corrected, n in pairs:
        moved_out[predicted] = moved_out.get(predicted, 0) + n
        moved_in[corrected] = moved_in.get(corrected, 0) + n
    codes = sorted(set(actual) | set(moved_out))
    categories = tuple(
        CategoryAccuracy(
            code=code,
            predicted=actual.get(code, 0) - moved_in.get(code, 0) + moved_out.get(code, 0),
            actual=actual.get(code, 0),
            correct=actual.get(code, 0) - moved_in.get(code, 0),
        )
        for code in codes
    )
    return CorrectionStats(
        month=month,
        tickets=sum(actual.values()),
        corrected=sum(moved_out.values()),
        categories=categories,
        confusions=tuple(sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))),
    )
