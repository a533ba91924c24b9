"""API clients: the other systems that call GridBot's API, their hashed tokens, scopes and
webhook subscriptions, and the request counters that rate-limit them.

A token is shown once when made (``bot.py api-token add``) and stored only as the SHA-256 of the
random secret, so the table alone lets nobody call the API. A client may speak for one
``source`` (the 12345 platform hands in orders as ``12345`` and may act on those only), and may
subscribe a ``webhook_url``: every status change of the tickets it may see is POSTed there,
signed with ``webhook_secret`` (kept in clear: the signature needs it). Counters are fixed
one-minute windows per token in the database (``api_rate_counts``), so every process counts
against the same budget. Nothing here decides policy.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.clock import UTCDateTime, utcnow
from store.models import Base

TOKEN_PREFIX = "gbt_"


class ApiClient(Base):
    """One calling system (12345 platform, the county's platform, a civic app) and its token."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    token_hint: Mapped[str] = mapped_column(String(16))  # its first characters, for `list`
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated ApiScope values
    source: Mapped[str | None] = mapped_column(String(32))  # the orders it speaks for
    rate_limit: Mapped[int | None] = mapped_column(Integer)  # per minute; None: api's default
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class ApiRateCount(Base):
    """Requests of one token (``key``) in the fixed minute starting at ``window_start``."""

    __tablename__ = "api_rate_counts"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


def token_hash(token: str) -> str:
    """What is stored of a token: the hex SHA-256 of it."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewClient:
    """A client just made, with the secrets shown this once."""

    client: ApiClient
    token: str
    webhook_secret: str | None


def add_client(
    session: Session, *, name: str, scopes: set[str] | frozenset[str], source: str | None = None,
    webhook_url: str | None = None, rate_limit: int | None = None, now: datetime | None = None,
) -> NewClient:
    """Make a client with a fresh random token (and webhook secret when subscribing)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    hook_secret = secrets.token_urlsafe(32) if webhook_url else None
    client = ApiClient(
        name=name, token_hash=token_hash(token), token_hint=token[:10],
        scopes=" ".join(sorted(scopes)), source=source, rate_limit=rate_limit,
        webhook_url=webhook_url, webhook_secret=hook_secret, created_at=now or utcnow(),
    )
    session.add(client)
    session.flush()
    return NewClient(client, token, hook_secret)


def client_by_token(session: Session, token: str) -> ApiClient | None:
    """The live (not revoked) client holding ``token``."""
    return session.scalar(select(ApiClient).where(ApiClient.token_hash == token_hash(token),
                                                  ApiClient.revoked_at.is_(None)))


def find_client(session: Session, name_or_id: str) -> ApiClient | None:
    """A client by its name, or by its number."""
    found = session.scalar(select(ApiClient).where(ApiClient.name == name_or_id))
    if found is None and name_or_id.isdigit() and len(name_or_id) < 10:
        found = session.get(ApiClient, int(name_or_id))
    return found


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.id)))


def subscribers(session: Session) -> list[ApiClient]:
    """Live clients with a webhook URL."""
    return list(session.scalars(select(ApiClient).where(
        ApiClient.webhook_url.is_not(None), ApiClient.revoked_at.is_(None)).order_by(ApiClient.id)))


def count_request(session: Session, key: str, window_start: datetime) -> int:
    """Count one request of ``key`` in its window; the window's count including this one.

    ``INSERT … ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits``: one statement, atomic
    on SQLite and PostgreSQL alike, so concurrent processes share the count. The key's windows
    older than an hour are dropped when a new window opens.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ApiRateCount).values(key=key, window_start=window_start, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=[ApiRateCount.key, ApiRateCount.window_start],
        set_={"hits": ApiRateCount.hits + 1},
    ).returning(ApiRateCount.hits)
    hits = int(session.execute(statement).scalar_one())
    if hits == 1:
        session.execute(delete(ApiRateCount).where(
            ApiRateCount.key == key, ApiRateCount.window_start < window_start - timedelta(hours=1)))
    return hits



