"""people: residents enrolled outside the roster and their routes; outbox: the resident a
message is meant for and the row it falls back from

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:15:00

Three closed vocabularies grow with it, each CHECK dropped and built again with its new words:
a person's ``enrolled_via`` (group, app, aibot), the outbox's ``held`` and ``skipped`` rows (a
resident's next route), and the trail's ``unreached`` (a message no route delivered).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.clock import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENROLMENTS = ("group", "app", "aibot")
OUTBOX_STATUSES = ("pending", "sent", "failed", "dead", "cancelled")
TRAIL_ACTIONS = (
    "create", "dispatch", "accept", "progress", "resolve", "rate", "close_unrated",
    "reopen", "escalate", "transfer", "return", "withdraw", "merge", "supplement",
)


def _condition(column: str, values: Sequence[str]) -> str:
    words = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({words})"


def _recheck(table: str, column: str, values: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_="check")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{column}"),
                                         _condition(column, values))


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrolled_via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("enrolled_chat_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("first_seen_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("seen_chat_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("app_reachable", sa.Boolean(), nullable=True))
        batch_op.create_index("ix_people_enrolled_via", ["enrolled_via"], unique=False)
        batch_op.create_check_constraint(batch_op.f("ck_people_enrolled_via"),
                                         _condition("enrolled_via", ENROLMENTS))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fallback_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_outbox_person_id_people", "people", ["person_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_outbox_fallback_of_id_outbox", "outbox", ["fallback_of_id"], ["id"]
        )
        batch_op.create_index("ix_outbox_fallback_of_id", ["fallback_of_id"], unique=False)
    _recheck("outbox", "status", (*OUTBOX_STATUSES, "held", "skipped"))
    _recheck("ticket_events", "action", (*TRAIL_ACTIONS, "unreached"))


def downgrade() -> None:
    # The words leave the vocabularies: held and skipped rows will never go out, and the trail
    # forgets the notes of messages that reached nobody.
    op.execute("UPDATE outbox SET status = 'cancelled' WHERE status IN ('held', 'skipped')")
    op.execute("DELETE FROM ticket_events WHERE action = 'unreached'")
    _recheck("ticket_events", "action", TRAIL_ACTIONS)
    _recheck("outbox", "status", OUTBOX_STATUSES)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_fallback_of_id")
        batch_op.drop_constraint("fk_outbox_fallback_of_id_outbox", type_="foreignkey")
        batch_op.drop_constraint("fk_outbox_person_id_people", type_="foreignkey")
        batch_op.drop_column("fallback_of_id")
        batch_op.drop_column("person_id")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_people_enrolled_via"), type_="check")
        batch_op.drop_index("ix_people_enrolled_via")
        batch_op.drop_column("app_reachable")
        batch_op.drop_column("seen_chat_id")
        batch_op.drop_column("first_seen_at")
        batch_op.drop_column("enrolled_chat_id")
        batch_op.drop_column("enrolled_via")
