"""inbound_messages: next_attempt_at (a failed routing waits its back-off), the ``failed``
state (out of attempts), and a partial index on the received rows by sender (claims keep each
sender's messages in order)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.clock

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("received", "done", "error")
RECEIVED = sa.text("status = 'received'")


def _recheck(values: Sequence[str]) -> None:
    words = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_inbound_messages_status"), type_="check")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_inbound_messages_status"),
                                         f"status IN ({words})")


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", store.clock.UTCDateTime(),
                                      nullable=True))
        batch_op.create_index("ix_inbound_received_sender", ["sender", "id"], unique=False,
                              sqlite_where=RECEIVED, postgresql_where=RECEIVED)
    _recheck((*STATUSES, "failed"))


def downgrade() -> None:
    op.execute("UPDATE inbound_messages SET status = 'error' WHERE status = 'failed'")
    _recheck(STATUSES)
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_received_sender")
        batch_op.drop_column("next_attempt_at")
