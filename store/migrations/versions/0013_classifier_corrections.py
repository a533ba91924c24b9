"""classifier_corrections: 改类 as labels the classifier learns from; the trail's ``reclassify``

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00

The trail's CHECK on ``ticket_events.action`` is dropped and built again with ``reclassify``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.clock import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRAIL_ACTIONS = (
    "create", "dispatch", "accept", "progress", "resolve", "rate", "close_unrated",
    "reopen", "escalate", "transfer", "return", "withdraw", "merge", "supplement", "unreached",
)


def _recheck(table: str, column: str, values: Sequence[str]) -> None:
    words = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_="check")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{column}"),
                                         f"{column} IN ({words})")


def upgrade() -> None:
    op.create_table(
        "classifier_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted", sa.String(length=32), nullable=False),
        sa.Column("previous", sa.String(length=32), nullable=False),
        sa.Column("corrected", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["ticket_events.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("classifier_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifier_corrections_created_at"), ["created_at"],
                              unique=False)
        batch_op.create_index("ix_classifier_corrections_ticket_id_id", ["ticket_id", "id"],
                              unique=False)
    _recheck("ticket_events", "action", (*TRAIL_ACTIONS, "reclassify"))


def downgrade() -> None:
    # the labels go, and the trail forgets its 改类 events
    with op.batch_alter_table("classifier_corrections", schema=None) as batch_op:
        batch_op.drop_index("ix_classifier_corrections_ticket_id_id")
        batch_op.drop_index(batch_op.f("ix_classifier_corrections_created_at"))
    op.drop_table("classifier_corrections")
    op.execute("DELETE FROM ticket_events WHERE action = 'reclassify'")
    _recheck("ticket_events", "action", TRAIL_ACTIONS)
