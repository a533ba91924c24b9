"""Serialising writers that must not run side by side: one transaction at a time per name.

PostgreSQL: a transaction-scoped advisory lock on a hash of the name (released at commit or
rollback; other names are not held up). SQLite: it has one writer anyway — a write as the
transaction's first statement takes the write lock (waiting out the busy timeout) before
anything is read, so what is read next is not stale by the time it is written.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def serialise_on(session: Session, name: str) -> None:
    """Hold ``name`` until the session's transaction ends (call it first in the transaction)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :name))"),
                        {"name": f".{name}"})
    elif dialect == "sqlite":
        session.execute(text("UPDATE api_rate_counts SET hits = hits WHERE key = ''"))
