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


def test_recent_open_originals_get_their_duplicate_keys_on_upgrade(database_url):
    """0015 indexes the open originals of the last 48 hours, and only them."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from cases.duplicates import bigrams, prefix
    from store.models import Grid, Person, Ticket, TicketMatchKey

    engine = make_engine(database_url)
    upgrade(engine, "0014")
    now = datetime.now(UTC)
    text = "楼道里堆满了杂物，堵住了消防通道"
    with engine.begin() as connection:
        connection.execute(insert(Grid.__table__).values(id=1, code="640323001001001",
                                                         name="第一网格", level="grid"))
        connection.execute(insert(Person.__table__).values(id=1, userid="zhangsan", name="张三",
                                                           role="resident", active=True))
        for number, status, category, grid, age, duplicate_of in (
            (1, "dispatched", "safety", 1, 1, None),  # the one to index
            (2, "accepted", "safety", 1, 60, None),  # too old to be reported again
            (3, "closed", "safety", 1, 1, None),
            (4, "merged", "safety", 1, 1, 1),
            (5, "dispatched", "other", 1, 1, None),
            (6, "created", "safety", None, 1, None),
        ):
            connection.execute(insert(Ticket.__table__).values(
                id=number, status=status, category=category, tier="general", urgent=False,
                text=text, classification={}, reporter_id=1, channel="app", reply_to={},
                level="worker", deadlines_provisional=False, grid_id=grid,
                duplicate_of_id=duplicate_of, created_at=now - timedelta(hours=age)))
    upgrade(engine)
    with engine.connect() as connection:
        keys = connection.execute(select(TicketMatchKey.__table__)).mappings().all()
    engine.dispose()
    assert {k["ticket_id"] for k in keys} == {1}
    assert sorted(k["gram"] for k in keys) == sorted(prefix(bigrams(text)))
    assert {(k["category"], k["grid_id"], k["size"]) for k in keys} == {
        ("safety", 1, len(bigrams(text)))}
