"""Shared fixtures: a real database per test (SQLite, or PostgreSQL when DATABASE_URL is set),
the sample township from config.yaml, the WeCom simulator, and GridBot served on a real port.

``DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test pytest`` runs every database test on
PostgreSQL, each in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, event, make_url, text

from settings import Settings, parse_settings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.yaml"
UNREGISTERED_MEMBERS = {"stranger01", "newcomer02"}


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("DATABASE_URL")
    return f"database: {'PostgreSQL ' + url.split('@')[-1] if url else 'SQLite (per-test file)'}"


def _postgres_server() -> str | None:
    server = os.environ.get("DATABASE_URL")
    if server and server.startswith("postgresql://"):
        server = "postgresql+psycopg://" + server.removeprefix("postgresql://")
    return server


@contextmanager
def _postgres_schema(server: str) -> Iterator[str]:
    """A new schema on the server, dropped afterwards: the URL whose search path is it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test."""
    server = _postgres_server()
    if not server:
        yield f"sqlite:///{tmp_path / 'gridbot.db'}"
        return
    with _postgres_schema(server) as url:
        yield url


Statement = tuple[str, Any, str]  # SQL as sent to the driver, its parameters, how it was sent


@pytest.fixture(scope="session")
def migration_statements() -> list[Statement]:
    """What the migrations send PostgreSQL to bring an empty schema to head, recorded once.

    Replayed in a new empty schema (:func:`_replay`) they make the same schema as running the
    migrations there: the statements name no schema (the search path does), and what they read
    on the way (Alembic's checks) is the same in every empty schema. Alembic itself, loading and
    running the scripts, was most of the time PostgreSQL tests spent on set-up.
    """
    from store.db import make_engine
    from store.migrate import upgrade

    server = _postgres_server()
    assert server, "PostgreSQL only"
    recorded: list[Statement] = []

    def record(_conn, _cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if executemany:
            how = "many"
        elif not parameters and getattr(context, "no_parameters", False):
            how = "bare"
        else:
            how = "one"
        recorded.append((statement, parameters, how))

    with _postgres_schema(server) as url:
        engine = make_engine(url)
        event.listen(engine, "before_cursor_execute", record)
        upgrade(engine)
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    return recorded


def _replay(engine: Engine, statements: list[Statement]) -> None:
    """Run recorded migration statements in one transaction (see :func:`migration_statements`)."""
    with engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for statement, parameters, how in statements:  # as SQLAlchemy's dialect sent them
            if how == "many":
                cursor.executemany(statement, parameters)
            elif how == "bare":
                cursor.execute(statement)
            else:
                cursor.execute(statement, parameters)
        cursor.close()


def _empty_postgres_schema(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not connection.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")).scalar()


@functools.lru_cache(maxsize=1)
def _sample_document() -> dict[str, Any]:
    """config.yaml as parsed YAML, read once per run (parsing it took ~20 ms a test)."""
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def load_test_settings(database_url: str, **overrides: object) -> Settings:
    """The sample township of config.yaml on the given database (environment ignored)."""
    raw = copy.deepcopy(_sample_document())  # validated afresh for every caller
    raw["database"] = {"url": database_url}
    settings = parse_settings(raw, base_dir=ROOT, environ={}, source=CONFIG)
    return dataclasses.replace(settings, **overrides) if overrides else settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_test_settings(database_url)


def _new_sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL if it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database brought to the head revision by the migrations, once per run."""
    from store.db import make_engine
    from store.migrate import upgrade

    path = tmp_path_factory.mktemp("migrated") / "gridbot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def _township_key(settings: Settings) -> str:
    """What :func:`store.roster.sync_township` writes depends on exactly this."""
    return repr((settings.grids, settings.roster, settings.groups))


@pytest.fixture(scope="session")
def synced_sqlite() -> dict[str, Path]:
    """SQLite files at head with a township's roster synced, made on first use, by township."""
    return {}


def _synced_template(settings: Settings, request: pytest.FixtureRequest) -> Path:
    """A copy of :func:`migrated_sqlite` with ``settings``' township synced into it, made once
    per run and township: the same rows, ids included, as syncing a fresh copy in every test."""
    from store.db import make_engine, make_session_factory, transaction
    from store.roster import sync_township

    templates: dict[str, Path] = request.getfixturevalue("synced_sqlite")
    key = _township_key(settings)
    path = templates.get(key)
    if path is None:
        migrated: Path = request.getfixturevalue("migrated_sqlite")
        path = migrated.with_name(f"synced-{len(templates)}.db")
        shutil.copyfile(migrated, path)
        engine = make_engine(f"sqlite:///{path}")
        with transaction(make_session_factory(engine)) as session:
            sync_township(session, settings)
        engine.dispose()  # checkpoints the WAL into the file
        templates[key] = path
    return path


@pytest.fixture
def engine(settings: Settings, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The test database with the current schema (via the migrations) and the roster synced.

    A new SQLite file starts as a copy of a template already migrated and synced with this
    township (:func:`migrated_sqlite`, :func:`_synced_template`): running the migrations and the
    sync for every test took longer than most tests. A new PostgreSQL schema gets the statements
    the migrations sent to one, recorded once (:func:`migration_statements`), and is synced.
    """
    from store.db import make_engine, make_session_factory, transaction
    from store.migrate import upgrade
    from store.roster import sync_township

    new_file = _new_sqlite_file(settings.database_url)
    if new_file:
        shutil.copyfile(_synced_template(settings, request), new_file)
    engine = make_engine(settings.database_url)
    if not new_file:
        if engine.dialect.name == "postgresql" and _empty_postgres_schema(engine):
            _replay(engine, request.getfixturevalue("migration_statements"))
        else:
            upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            sync_township(session, settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):  # type: ignore[no-untyped-def]
    from store.db import make_session_factory

    return make_session_factory(engine)


@pytest.fixture
def simulator(settings: Settings):  # type: ignore[no-untyped-def]
    """The WeCom simulator for the sample corp, on a real port: ``(state, base_url)``."""
    from wecom.simulator import SimulatorState, run_simulator_in_thread

    state = SimulatorState(
        corp_id=settings.wecom.corp_id,
        secret=settings.wecom.secret,
        agent_id=settings.wecom.agent_id,
        # WeCom knows every member of the corp; the roster is only the township's staff and
        # the residents it has registered, so a few members are unknown to GridBot.
        known_users={p.userid for p in settings.roster} | UNREGISTERED_MEMBERS,
        robot_keys={g.webhook_key for g in settings.groups if g.webhook_key},
        robot_chats={g.webhook_key: g.chat_id for g in settings.groups if g.webhook_key},
    )
    base_url, stop = run_simulator_in_thread(state)
    yield state, base_url
    stop()


@pytest.fixture
def bot(settings: Settings, engine, simulator):  # type: ignore[no-untyped-def]
    """GridBot on a real port, sending to the simulator; see :class:`tests.harness.Harness`."""
    from tests.harness import Harness

    state, sim_url = simulator
    live = dataclasses.replace(
        settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url)
    )
    harness = Harness.start(live, engine, state, sim_url)
    yield harness
    harness.stop()
