"""api_clients and api_rate_counts (tokens per system, scopes, webhooks, rate windows);
tickets from other systems (source, external_id unique together, the caller's private contact);
an index on ticket_events.created_at (the API's updated_since)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:00:00

Two closed vocabularies grow: the outbox's ``hook`` channel (a signed POST to a subscriber) and a
person's ``system`` enrolment (the reporter standing for an outside system's orders).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.clock import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX_CHANNELS = ("app", "appchat", "webhook", "response_url", "card_update")
ENROLMENTS = ("group", "app", "aibot")


def _condition(column: str, values: Sequence[str]) -> str:
    words = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({words})"


def _recheck(table: str, column: str, values: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_="check")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{column}"),
                                         _condition(column, values))


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_hint", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "api_rate_counts",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("contact", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint("uq_tickets_source_external_id",
                                          ["source", "external_id"])
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_created_ticket", ["created_at", "ticket_id"],
                              unique=False)
    _recheck("outbox", "channel", (*OUTBOX_CHANNELS, "hook"))
    _recheck("people", "enrolled_via", (*ENROLMENTS, "system"))


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'cancelled' WHERE channel = 'hook'")
    op.execute("DELETE FROM outbox WHERE channel = 'hook'")
    op.execute("UPDATE people SET enrolled_via = NULL WHERE enrolled_via = 'system'")
    _recheck("people", "enrolled_via", ENROLMENTS)
    _recheck("outbox", "channel", OUTBOX_CHANNELS)
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_created_ticket")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tickets_source_external_id", type_="unique")
        batch_op.drop_column("contact")
        batch_op.drop_column("external_id")
        batch_op.drop_column("source")
    op.drop_table("api_rate_counts")
    op.drop_table("api_clients")
