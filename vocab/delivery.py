"""The states of the way in and the way out: inbox rows, outbox rows, notices and their runs,
and the marks the SLA sweep leaves."""

from __future__ import annotations

from enum import StrEnum


class MessageChannel(StrEnum):
    """The door a message came in by (and the door a ticket's reporter is answered by)."""

    APP = "app"  # the self-built app's XML callback (1:1)
    AIBOT = "aibot"  # the smart bot's JSON callback (group @-mentions and 1:1)


class InboxStatus(StrEnum):
    """An inbound row: recorded by the callback, then routed once by the inbox processor.

    A routing that fails leaves the row received, to be tried again after a back-off; out of
    attempts it is ``failed`` (the sender is told, staff are alerted). ``error`` is the mark of
    rows that failed before retries existed (each failure was final then)."""

    RECEIVED = "received"
    DONE = "done"
    ERROR = "error"
    FAILED = "failed"


class OutboxChannel(StrEnum):
    """The door an outgoing message leaves by (WeCom's, or an API subscriber's webhook)."""

    APP = "app"  # message/send to user ids
    APPCHAT = "appchat"  # appchat/send to a chat the app created
    WEBHOOK = "webhook"  # a group robot's webhook key
    RESPONSE_URL = "response_url"  # the smart bot's reply URL
    CARD_UPDATE = "card_update"  # message/update_template_card: a clicked card's new state
    HOOK = "hook"  # not WeCom: a signed POST to an API client's webhook URL (target: client id)


class OutboxStatus(StrEnum):
    """An outgoing row: pending until sent, failed (retried later), dead or cancelled; a
    resident's next route waits held, and is skipped when it is not needed."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"  # gave up: out of attempts or refused for good
    CANCELLED = "cancelled"  # its notice was cancelled before it went out
    HELD = "held"  # a resident's next route, released only if the one before it fails for good
    SKIPPED = "skipped"  # a held route not needed (delivered otherwise, or known not to reach)


class NoticeStatus(StrEnum):
    """A township notice: active until its last run has fired, or cancelled."""

    ACTIVE = "active"
    DONE = "done"
    CANCELLED = "cancelled"


class ScheduleKind(StrEnum):
    """When a notice is sent: now, once at a time, on a cron schedule, or never (reminders only)."""

    NOW = "now"
    ONCE = "once"
    CRON = "cron"
    NONE = "none"  # a deadline with reminders and no send of its own


class NoticeSource(StrEnum):
    """Where a notice was written."""

    CHAT = "chat"
    CLI = "cli"
    API = "api"


class RunKind(StrEnum):
    """One firing of a notice: its send, or a reminder before its deadline."""

    SEND = "send"
    REMIND = "remind"


class MarkKind(StrEnum):
    """What an SLA clock mark stands for: a reminder sent, or an overdue stage handled."""

    REMIND = "remind"
    OVERDUE = "overdue"
