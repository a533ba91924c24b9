"""clock marks: each SLA reminder and escalation exactly once

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.clock

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clock_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", store.clock.UTCDateTime(), nullable=False),
        sa.Column("created_at", store.clock.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "stage", "kind", "due_at"),
    )
    with op.batch_alter_table("clock_marks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_marks_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clock_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_marks_ticket_id"))
    op.drop_table("clock_marks")
