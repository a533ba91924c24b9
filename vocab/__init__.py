"""GridBot's closed vocabularies, defined once: who people are, where tickets stand, what is done
to them, and the states of the inbox, the outbox and the notices.

The bottom layer: it imports nothing of GridBot, and everything else (settings, store, cases,
the chat) takes its codes from here. Every vocabulary is a ``StrEnum`` whose values are the plain
ASCII codes written in config.yaml and stored in the database, so a member *is* its string
(``Status.CLOSED == "closed"``). ``vocab.labels`` gives each role its one Chinese name.
"""

from vocab.api import ALL_SCOPES, ApiScope, ExternalEvent
from vocab.delivery import (
    InboxStatus,
    MarkKind,
    MessageChannel,
    NoticeSource,
    NoticeStatus,
    OutboxChannel,
    OutboxStatus,
    RunKind,
    ScheduleKind,
)
from vocab.people import PERSON_ROLES, STAFF_ROLES, Enrolment, GridLevel, PromptKind, Role
from vocab.tickets import (
    FINAL_STATUSES,
    LADDER,
    OPEN_STATUSES,
    TRAIL_ACTIONS,
    UNREACHED,
    Action,
    Level,
    Rating,
    Stage,
    Status,
    Tier,
)

__all__ = [
    "ALL_SCOPES",
    "ApiScope",
    "ExternalEvent",
    "FINAL_STATUSES",
    "LADDER",
    "OPEN_STATUSES",
    "PERSON_ROLES",
    "PromptKind",
    "STAFF_ROLES",
    "TRAIL_ACTIONS",
    "UNREACHED",
    "Action",
    "Enrolment",
    "GridLevel",
    "InboxStatus",
    "Level",
    "MarkKind",
    "MessageChannel",
    "NoticeSource",
    "NoticeStatus",
    "OutboxChannel",
    "OutboxStatus",
    "Rating",
    "Role",
    "RunKind",
    "ScheduleKind",
    "Stage",
    "Status",
    "Tier",
]
