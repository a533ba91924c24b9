"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import store.all_models  # noqa: F401  (every table on Base.metadata)
from store.db import make_engine
from store.migrate import alembic_config, current, upgrade
from store.models import Base


def test_migrations_have_one_head_and_match_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1
    assert current(engine) == heads[0]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_tickets_waiting_for_a_rating_get_their_prompt_on_upgrade(database_url):
    """0009 backfills the rating prompts of tickets resolved before it."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from store.models import Person, Ticket
    from store.prompts import PendingPrompt

    engine = make_engine(database_url)
    upgrade(engine, "0008")
    resolved = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(insert(Person.__table__).values(id=1, userid="zhangsan", name="张三",
                                                           role="resident", active=True))
        for number, status in ((1, "resolved"), (2, "closed"), (3, "accepted")):
            connection.execute(insert(Ticket.__table__).values(
                id=number, status=status, category="other", tier="general", urgent=False,
                text="下水道堵了", classification={}, reporter_id=1, channel="app", reply_to={},
                level="worker", deadlines_provisional=False, created_at=resolved,
                resolved_at=resolved if status != "accepted" else None))
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(PendingPrompt.__table__)).mappings().all()
    engine.dispose()
    assert [(r["person_id"], r["kind"], r["ticket_id"]) for r in rows] == [(1, "rating", 1)]
    assert rows[0]["expires_at"].replace(tzinfo=UTC) == resolved + timedelta(days=7)
