"""tickets: the index on assignee_id becomes (assignee_id, status), for 任务 (a handler's open
tickets counted and paged without reading the closed ones)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_assignee_status", ["assignee_id", "status"],
                              unique=False)
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_id"))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_assignee_id"), ["assignee_id"],
                              unique=False)
        batch_op.drop_index("ix_tickets_assignee_status")
