"""The API's vocabularies: what a token may do, and where a ticket came from."""

from __future__ import annotations

from enum import StrEnum


class ApiScope(StrEnum):
    """A permission an API token carries (``bot.py api-token add --scopes``)."""

    TICKETS_READ = "tickets:read"  # list and read tickets (JSON API, Open311 GET)
    TICKETS_WRITE = "tickets:write"  # hand in orders and their follow-ups (补充, 撤销)
    NOTICES_WRITE = "notices:write"  # the notices API


#: Every scope (what a token from config.yaml's ``api.tokens`` carries).
ALL_SCOPES: frozenset[str] = frozenset(s.value for s in ApiScope)


class ExternalEvent(StrEnum):
    """What a source system may say about its own order after handing it in."""

    SUPPLEMENT = "supplement"  # 补充: more information for the handler
    WITHDRAW = "withdraw"  # 撤销: withdrawn at the source, closed with its reason
    RATE = "rate"  # 评价: the source's own follow-up call (回访) rates the resolved order
