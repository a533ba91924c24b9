"""SQLAlchemy 2.0 models: what GridBot remembers. No policy lives here.

Tables, by the part of the product that owns their meaning:

* the township: ``Grid`` (one tree with unified codes), ``Person`` (residents and staff, keyed by
  their WeCom user id; residents outside the roster are enrolled from their first message, with
  the ways they can be reached), ``Membership`` (a staff member's role on a grid), ``GroupChat`` (a chat
  mapped to a grid);
* the front door: ``InboundMessage`` (every message or event once, de-duplicated by a unique key);
* cases: ``Ticket`` and ``TicketEvent`` (the audit trail of every transition), and
  ``TicketMatchKey`` (how an open ticket is found when it is reported again);
* the way out: ``OutboxMessage`` (every outgoing message, written in the same transaction as the
  change that caused it) and ``AccessToken`` (WeCom's token, shared between processes).

Closed vocabularies (roles, statuses, levels, tiers, ratings, channels) are ``vocab`` enums in
columns the database checks (``store.vocabulary``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.clock import UTCDateTime, utcnow
from store.vocabulary import checked_column, vocabulary_column
from vocab import (
    PERSON_ROLES,
    STAFF_ROLES,
    TRAIL_ACTIONS,
    Enrolment,
    GridLevel,
    InboxStatus,
    Level,
    MessageChannel,
    OutboxChannel,
    OutboxStatus,
    Rating,
    Role,
    Status,
    Tier,
)

#: Index names as SQLAlchemy makes them; CHECK constraints named after their table and column.
NAMING = {"ix": "ix_%(column_0_label)s", "ck": "ck_%(table_name)s_%(constraint_name)s"}


class Base(DeclarativeBase):
    """Declarative base for every GridBot table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


# ---------------------------------------------------------------------------------------------
# The township
# ---------------------------------------------------------------------------------------------


class Grid(Base):
    """A node of the grid tree: county → township → village/community → grid → micro-grid."""

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[GridLevel] = vocabulary_column("level", GridLevel)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)

    parent: Mapped[Grid | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Grid]] = relationship(back_populates="parent")


class Person(Base):
    """Anyone the bot talks to, keyed by their WeCom user id (residents may be unknown at first)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[Role] = vocabulary_column("role", Role, values=PERSON_ROLES,
                                           default=Role.RESIDENT)
    # A resident's home grid (or micro-grid); staff have memberships instead.
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Residents outside the roster: how they were enrolled (group|app|aibot; None: from the roster),
    # the group chat of their first message, and when the bot first heard from them.
    enrolled_via: Mapped[Enrolment | None] = vocabulary_column("enrolled_via", Enrolment,
                                                               index=True)
    enrolled_chat_id: Mapped[str | None] = mapped_column(String(128))
    first_seen_at: Mapped[datetime | None]
    # Routes: the group chat they last wrote in, and whether the app reaches them 1:1
    # (None unknown; True they wrote to the app or an app message reached them; False WeCom
    # answered ``invaliduser`` for them).
    seen_chat_id: Mapped[str | None] = mapped_column(String(128))
    app_reachable: Mapped[bool | None] = mapped_column(Boolean)

    grid: Mapped[Grid | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="person")


class Membership(Base):
    """A staff member's duty on a grid node: micro, worker, leader, center, county, department."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "grid_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    role: Mapped[Role] = vocabulary_column("role", Role, values=STAFF_ROLES)

    person: Mapped[Person] = relationship(back_populates="memberships")
    grid: Mapped[Grid] = relationship()


class GroupChat(Base):
    """A WeCom group chat and the grid it serves, with the ways the bot can post into it."""

    __tablename__ = "group_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    webhook_key: Mapped[str | None] = mapped_column(String(128))
    appchat: Mapped[bool] = mapped_column(Boolean, default=False)

    grid: Mapped[Grid | None] = relationship()


# ---------------------------------------------------------------------------------------------
# The front door
# ---------------------------------------------------------------------------------------------


class InboundMessage(Base):
    """One message or event as received, once: ``dedup_key`` is unique (MsgId or payload hash).

    The callback only records the row (``status`` received) and answers; the inbox processor
    then routes it and marks it ``done`` in the transaction of its effects. A routing that fails
    is tried again after ``next_attempt_at``, a few times, then the row is ``failed``.
    ``message`` holds the normalised message the processor routes.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index("ix_inbound_status_id", "status", "id"),
        # a claim takes only the oldest received message of each sender (their order kept)
        Index("ix_inbound_received_sender", "sender", "id",
              sqlite_where=text("status = 'received'"),
              postgresql_where=text("status = 'received'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[MessageChannel] = vocabulary_column("channel", MessageChannel)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    chat_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # text|image|voice|location|link|event:…
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the normalised message
    status: Mapped[InboxStatus] = vocabulary_column("status", InboxStatus,
                                                    default=InboxStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]  # after a failed routing: not before (back-off)
    outcome: Mapped[str | None] = mapped_column(String(64))  # what the router did with it
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


class Ticket(Base):
    """A case: one resident request, from 制单 to 考单."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_due", "status", "accept_due"),
        Index("ix_tickets_grid_category_created", "grid_id", "category", "created_at"),
        # duplicate detection reads the originals only: a burst of the same report (merged
        # tickets) must not make every next report read all the earlier ones
        Index("ix_tickets_originals_grid_category_created", "grid_id", "category", "created_at",
              sqlite_where=text("duplicate_of_id IS NULL"),
              postgresql_where=text("duplicate_of_id IS NULL")),
        # the SLA sweep reads only what is due (cases.next_due); closed tickets are not indexed
        Index("ix_tickets_next_due", "next_due_at", "id",
              sqlite_where=text("next_due_at IS NOT NULL"),
              postgresql_where=text("next_due_at IS NOT NULL")),
        # the month's 考单 reads a month of tickets out of a county's years
        Index("ix_tickets_created", "created_at"),
        # 任务: a handler's open tickets, counted and paged (also every look-up by assignee)
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        # ... and the provisional ones when the calendar changed
        Index("ix_tickets_provisional", "id",
              sqlite_where=text("deadlines_provisional = 1"),
              postgresql_where=text("deadlines_provisional")),
        # an outside system's order exists once: a repeat of (source, external id) finds it
        UniqueConstraint("source", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the short number used in chat: #12
    status: Mapped[Status] = vocabulary_column("status", Status, default=Status.CREATED,
                                               index=True)
    category: Mapped[str] = mapped_column(String(32))
    second_category: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[Tier] = vocabulary_column("tier", Tier, default=Tier.GENERAL)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    department: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(128))
    classification: Mapped[dict[str, Any]] = mapped_column(default=dict)  # explanation

    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    chat_id: Mapped[str | None] = mapped_column(String(128))  # where it was reported
    channel: Mapped[MessageChannel] = vocabulary_column("channel", MessageChannel,
                                                        default=MessageChannel.APP)
    reply_to: Mapped[dict[str, Any]] = mapped_column(default=dict)  # how to reach the reporter
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    # An order handed in by another system (API, Open311): its name (``12345``) and its own id
    # there; None for a resident's chat report. ``contact``: the caller's contact the system
    # gave, kept private (the handler's card only, never the API's or a group's answers).
    source: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128))
    contact: Mapped[dict[str, Any] | None]

    # Who handles it now, and at which level of the ladder (micro|worker|leader|center|county).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    level: Mapped[Level] = vocabulary_column("level", Level, default=Level.WORKER)
    resolved_level: Mapped[Level | None] = vocabulary_column("resolved_level", Level)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    dispatch_due: Mapped[datetime | None]
    accept_due: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    deadlines_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # The earliest moment the SLA sweep has something to do (cases.next_due); None: nothing.
    next_due_at: Mapped[datetime | None]

    rating: Mapped[Rating | None] = vocabulary_column("rating", Rating)
    rating_comment: Mapped[str | None] = mapped_column(Text)

    grid: Mapped[Grid | None] = relationship()
    reporter: Mapped[Person] = relationship(foreign_keys=[reporter_id])
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )


class TicketEvent(Base):
    """The audit trail: who did what to a ticket, from which message, when."""

    __tablename__ = "ticket_events"
    # the API's ``updated_since``: tickets with an event since then
    __table_args__ = (Index("ix_ticket_events_created_ticket", "created_at", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # None: the bot
    action: Mapped[str] = checked_column("action", TRAIL_ACTIONS, length=32)
    from_status: Mapped[Status | None] = vocabulary_column("from_status", Status)
    to_status: Mapped[Status | None] = vocabulary_column("to_status", Status)
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[Person | None] = relationship()


class TicketMatchKey(Base):
    """One of the keys an open original ticket is found by when the same matter is reported
    again (``cases.duplicate_index``): a character bigram of its text's prefix (``gram``), with
    the grid, category, creation time and bigram count the duplicate search filters on. Kept
    while the ticket is open; dropped when it closes or is merged."""

    __tablename__ = "ticket_match_keys"
    __table_args__ = (
        Index("ix_ticket_match_keys_lookup", "category", "gram", "grid_id", "created_at"),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    gram: Mapped[str] = mapped_column(String(8), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    size: Mapped[int] = mapped_column(Integer)  # the bigrams of the whole text
    created_at: Mapped[datetime]


# ---------------------------------------------------------------------------------------------
# The way out
# ---------------------------------------------------------------------------------------------


class OutboxMessage(Base):
    """One outgoing message, written in the transaction that caused it, delivered after commit.

    ``channel`` says which WeCom door it leaves by: ``app`` (message/send to ``target`` user ids,
    ``|``-separated), ``card_update`` (message/update_template_card of the card the ``target``
    members hold, the response code in the payload), ``appchat`` (appchat/send to a chat id), ``webhook`` (a group robot key),
    ``response_url`` (the smart bot's reply URL); and one door that is not WeCom's, ``hook`` (a signed
POST to an API client's webhook URL, ``target`` its id). ``payload`` is the WeCom message body without
    the addressing fields. ``idempotency_key`` is unique: writing the same message twice is a no-op.
    ``person_id`` names the resident a message is meant for: when it fails for good, their next
    route is tried (a new row, ``fallback_of_id`` pointing back), and when none is left the
    failure goes on the ticket's trail.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # Rate windows: attempts per recipient (member, robot, chat) in the last minute/hour.
        Index("ix_outbox_recipient_attempt", "recipient_key", "last_attempt_at"),
        # WeCom's duplicate check: earlier app messages of the same content to the same people
        Index("ix_outbox_content_key", "content_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    channel: Mapped[OutboxChannel] = vocabulary_column("channel", OutboxChannel)
    target: Mapped[str] = mapped_column(Text)
    msgtype: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending|sent|failed|dead|cancelled; held (a resident's next route, waiting) and skipped
    # (not needed, or known not to reach them)
    status: Mapped[OutboxStatus] = vocabulary_column("status", OutboxStatus,
                                                     default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    fallback_of_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # Delivery bookkeeping (schedules.delivery): a worker's lease on the row while it sends, the
    # recipient the WeCom limits count against ("app:<userid>", "app*" for several members,
    # "webhook:<key>", "appchat:<chatid>"), and when a send was last attempted (claim or HTTP).
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    recipient_key: Mapped[str | None] = mapped_column(
        String(160), default=lambda ctx: _recipient_default(ctx)
    )
    last_attempt_at: Mapped[datetime | None]
    # An app message's content and recipients as WeCom's duplicate check compares them (a hash,
    # set at its first claim, schedules.delivery): the earlier ones with the same are looked up
    content_key: Mapped[str | None] = mapped_column(String(40))


def outbox_recipient_key(channel: str | None, target: str | None) -> str | None:
    """The key WeCom's rate limits count an outbox row against (None: not limited)."""
    target = target or ""
    if channel == "app":
        users = [u for u in target.split("|") if u]
        return f"app:{users[0]}" if len(users) == 1 else "app*"
    if channel in ("webhook", "appchat"):
        return f"{channel}:{target}"
    return None


def _recipient_default(context: Any) -> str | None:
    params = context.get_current_parameters()
    return outbox_recipient_key(params.get("channel"), params.get("target"))


class AccessToken(Base):
    """A WeCom access token shared by every process (when Redis is not configured)."""

    __tablename__ = "access_tokens"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # corp_id:agent_id
    token: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=0)
