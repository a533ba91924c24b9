"""outbox: content_key, the signature of an app message's content and recipients, indexed —
the duplicate-check decision looks up earlier messages with the same content instead of reading
every message its recipients got within the interval (rows claimed before the upgrade have
none: an identical message sent across the upgrade within the interval may be taken by WeCom for
a repeat)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_key", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_outbox_content_key", ["content_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_content_key")
        batch_op.drop_column("content_key")
