"""ticket_match_keys: open original tickets by the prefix bigrams of their text, so the
duplicate search reads a bounded number of likely candidates; backfilled for the open originals
of the last 48 hours (older ones can no longer be reported again)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 09:10:00

The backfill computes the keys with ``cases.duplicates`` as it is at this revision (pure code:
bigrams, their fixed order, the prefix length).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from cases.duplicates import WINDOW, bigrams, prefix
from store.clock import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("created", "dispatched", "accepted", "returned")


def upgrade() -> None:
    keys = op.create_table(
        "ticket_match_keys",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("gram", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"],
                                name=op.f("fk_ticket_match_keys_grid_id_grids")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_ticket_match_keys_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", "gram", name=op.f("pk_ticket_match_keys")),
    )
    op.create_index("ix_ticket_match_keys_lookup", "ticket_match_keys",
                    ["category", "gram", "grid_id", "created_at"], unique=False)
    tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("text", sa.Text),
                       sa.column("category", sa.String), sa.column("grid_id", sa.Integer),
                       sa.column("status", sa.String), sa.column("duplicate_of_id", sa.Integer),
                       sa.column("created_at", UTCDateTime()))
    since = datetime.now(UTC) - WINDOW
    rows = op.get_bind().execute(
        sa.select(tickets.c.id, tickets.c.text, tickets.c.category, tickets.c.grid_id,
                  tickets.c.created_at)
        .where(tickets.c.status.in_(OPEN), tickets.c.duplicate_of_id.is_(None),
               tickets.c.grid_id.is_not(None), tickets.c.category != "other",
               tickets.c.created_at >= since))
    backfill = []
    for ticket_id, text, category, grid_id, created_at in rows:
        grams = bigrams(text)
        backfill.extend({"ticket_id": ticket_id, "gram": gram, "category": category,
                         "grid_id": grid_id, "size": len(grams), "created_at": created_at}
                        for gram in prefix(grams))
    if backfill:
        op.bulk_insert(keys, backfill)


def downgrade() -> None:
    op.drop_index("ix_ticket_match_keys_lookup", table_name="ticket_match_keys")
    op.drop_table("ticket_match_keys")
