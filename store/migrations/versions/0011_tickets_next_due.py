"""tickets: next_due_at (the SLA sweep's indexed next moment), backfilled for open tickets;
an index on created_at (the month's 考单)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 06:30:00

The exact next moment needs the township's calendar and SLA settings, which a migration does not
have. The backfill therefore sets it to the start of each open ticket's running stage (the
earliest anything could be due): the first sweep after the upgrade reads each of them once, in
batches, does what is due and stores its exact next moment (``cases.next_due``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.clock

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULED = sa.text("next_due_at IS NOT NULL")

BACKFILL = sa.text("""
UPDATE tickets SET next_due_at = CASE status
    WHEN 'created' THEN created_at
    WHEN 'returned' THEN COALESCE(dispatched_at, created_at)
    WHEN 'dispatched' THEN dispatched_at
    WHEN 'accepted' THEN accepted_at
    WHEN 'resolved' THEN resolved_at
END
WHERE status IN ('created', 'returned', 'dispatched', 'accepted', 'resolved')
""")


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", store.clock.UTCDateTime(), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_next_due", ["next_due_at", "id"], unique=False,
                              sqlite_where=SCHEDULED, postgresql_where=SCHEDULED)
        batch_op.create_index("ix_tickets_created", ["created_at"], unique=False)
        batch_op.create_index("ix_tickets_provisional", ["id"], unique=False,
                              sqlite_where=sa.text("deadlines_provisional = 1"),
                              postgresql_where=sa.text("deadlines_provisional"))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_provisional")
        batch_op.drop_index("ix_tickets_created")
        batch_op.drop_index("ix_tickets_next_due")
        batch_op.drop_column("next_due_at")
