"""closed vocabularies: CHECK constraints on every role, status, level, tier, rating, channel

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 05:30:00

Each column keeps its VARCHAR and its plain string values; the database now refuses any other
value. The lists are this revision's own copy of ``vocab`` (a later change of a vocabulary is a
later revision). On SQLite the batch mode rebuilds each table with its constraints.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "created", "dispatched", "accepted", "resolved", "closed", "returned", "withdrawn", "merged",
)
LEVELS = ("micro", "worker", "leader", "center", "county")
STAFF_ROLES = ("micro", "worker", "leader", "center", "county", "department", "admin")

# table → column → the values allowed (as of this revision)
VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "clock_marks": {
        "stage": ("dispatch", "accept", "resolve", "rating"),
        "kind": ("remind", "overdue"),
    },
    "grids": {
        "level": ("county", "township", "village", "grid", "micro"),
    },
    "inbound_messages": {
        "channel": ("app", "aibot"),
        "status": ("received", "done", "error"),
    },
    "memberships": {
        "role": STAFF_ROLES,
    },
    "notice_runs": {
        "kind": ("send", "remind"),
    },
    "notices": {
        "schedule_kind": ("now", "once", "cron", "none"),
        "source": ("chat", "cli", "api"),
        "status": ("active", "done", "cancelled"),
    },
    "outbox": {
        "channel": ("app", "appchat", "webhook", "response_url", "card_update"),
        "status": ("pending", "sent", "failed", "dead", "cancelled"),
    },
    "people": {
        "role": ("resident", *STAFF_ROLES),
    },
    "ticket_events": {
        "action": (
            "create", "dispatch", "accept", "progress", "resolve", "rate", "close_unrated",
            "reopen", "escalate", "transfer", "return", "withdraw", "merge", "supplement",
        ),
        "from_status": STATUSES,
        "to_status": STATUSES,
    },
    "tickets": {
        "status": STATUSES,
        "tier": ("easy", "general", "hard"),
        "channel": ("app", "aibot"),
        "level": LEVELS,
        "resolved_level": LEVELS,
        "rating": ("satisfied", "average", "unsatisfied", "unrated"),
    },
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    words = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({words})"


def upgrade() -> None:
    for table, columns in VOCABULARIES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(
                    batch_op.f(f"ck_{table}_{column}"), _condition(column, values)
                )


def downgrade() -> None:
    for table, columns in VOCABULARIES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_="check")
