"""pending prompts: questions waiting for a person's answer (a rating, which ticket)

Tickets already waiting for a rating when this runs get their rating prompt, so residents who
were asked before the upgrade are still understood (7 days from resolution, the default).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:40:00
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import store.clock

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_DAYS = 7


def upgrade() -> None:
    prompts = op.create_table(
        "pending_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reprompted", sa.Boolean(), nullable=False),
        sa.Column("created_at", store.clock.UTCDateTime(), nullable=False),
        sa.Column("expires_at", store.clock.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('rating', 'choice')", name=op.f("ck_pending_prompts_kind")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "kind", "ticket_id"),
    )
    with op.batch_alter_table("pending_prompts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_prompts_person_id"), ["person_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_pending_prompts_ticket_id"), ["ticket_id"],
                              unique=False)

    tickets = sa.table("tickets", sa.column("id", sa.Integer()),
                       sa.column("reporter_id", sa.Integer()), sa.column("status", sa.String()),
                       sa.column("resolved_at", store.clock.UTCDateTime()))
    waiting = op.get_bind().execute(
        sa.select(tickets.c.id, tickets.c.reporter_id, tickets.c.resolved_at)
        .where(tickets.c.status == "resolved", tickets.c.resolved_at.is_not(None))
    ).all()
    if waiting:
        op.bulk_insert(prompts, [
            {"person_id": reporter, "kind": "rating", "ticket_id": number, "data": {},
             "reprompted": False, "created_at": resolved,
             "expires_at": resolved + timedelta(days=BACKFILL_DAYS)}
            for number, reporter, resolved in waiting
        ])


def downgrade() -> None:
    with op.batch_alter_table("pending_prompts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_prompts_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_pending_prompts_person_id"))
    op.drop_table("pending_prompts")
