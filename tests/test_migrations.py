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
