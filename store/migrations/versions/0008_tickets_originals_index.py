"""tickets: a partial index of the originals (not merged), for duplicate detection

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORIGINALS = sa.text("duplicate_of_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_originals_grid_category_created", ["grid_id", "category", "created_at"],
            unique=False, sqlite_where=ORIGINALS, postgresql_where=ORIGINALS,
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_originals_grid_category_created")
