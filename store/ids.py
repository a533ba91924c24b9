"""The range of row ids: ``Integer`` primary keys are 32-bit on PostgreSQL (``int4``).

A number typed by a person (``查询 13912345678``) or put in a URL is checked against this range
before it is used in a query: outside it no row can exist, and PostgreSQL would refuse the
parameter with an error instead of finding nothing.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1


def fits_id(number: int) -> bool:
    """True when ``number`` can be the id of a row (1 … 2,147,483,647)."""
    return 0 < number <= MAX_ID


def id_from_digits(digits: str) -> int | None:
    """The row id a run of typed digits names, or None when no row can have it (too long to
    even convert — Python refuses int() of over 4,300 digits — zero, or past ``MAX_ID``)."""
    if not digits.isdigit() or len(digits.lstrip("0")) > len(str(MAX_ID)):
        return None
    number = int(digits)
    return number if fits_id(number) else None


def shown(digits: str, limit: int = 24) -> str:
    """Typed digits as they may be echoed back in a reply (a very long run is cut short)."""
    return digits if len(digits) <= limit else digits[:limit] + "…"
