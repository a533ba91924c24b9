"""inbox processing state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:32:08.780829
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.clock

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        # rows from before this revision were routed when they were received
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="done")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("locked_until", store.clock.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("processed_at", store.clock.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_inbound_status_id", ["status", "id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_status_id")
        batch_op.drop_column("processed_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("locked_by")
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")

