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
