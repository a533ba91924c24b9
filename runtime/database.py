"""Open the database for a process: the engine, with the schema checked or migrated, and the
township's roster synced from the config."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from settings.model import Settings
from store.db import make_engine, make_session_factory, transaction
from store.migrate import alembic_config, current, upgrade
from store.roster import sync_township


def prepare_database(settings: Settings, *, migrate: bool, sync_roster: bool = True) -> Engine:
    """Engine with the schema at head (migrating if asked) and the roster synced from config
    (unless ``sync_roster`` is False: a read-only command such as ``report`` need not write
    20,000 staff before it starts)."""
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    else:
        require_schema(engine)
    if sync_roster:
        with transaction(make_session_factory(engine)) as session:
            sync_township(session, settings)
    return engine


def require_schema(engine: Engine) -> None:
    """Stop with a clear message unless the schema is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    if current(engine) != head:
        raise SystemExit("the database schema is not up to date: run `python bot.py db upgrade`")
