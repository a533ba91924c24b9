"""Closed vocabularies in the database: every role, status, level, tier, rating and channel column
holds only its vocabulary's words, the database itself refuses any other (SQLite and
PostgreSQL), the migrations build the same CHECK constraints the models declare, and the
migration that added them keeps the data of a database already in use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import CheckConstraint, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

import store.all_models  # noqa: F401  (every table on Base.metadata)
from store.clock import utcnow
from store.db import make_engine, make_session_factory, transaction
from store.migrate import upgrade
from store.models import Base, Grid, InboundMessage, Membership, Person, Ticket, TicketEvent
from store.notice_models import Notice, NoticeRun
from store.outbox import enqueue
from store.prompts import PendingPrompt
from store.sla import ClockMark
from vocab import GridLevel, PromptKind, Role, Stage, Status


def _words(sql: str) -> set[str]:
    """The quoted words of a CHECK's text, however the database spells the rest."""
    return set(re.findall(r"'([^']*)'", sql))


def declared_checks() -> dict[tuple[str, str], set[str]]:
    """(table, constraint name) → the words the models allow."""
    found = {}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            for constraint in column.constraints:
                if isinstance(constraint, CheckConstraint):
                    found[(table.name, constraint.name)] = _words(str(constraint.sqltext))
    return found


def vocabulary_columns() -> list[tuple[str, str]]:
    """(table, column) of every column the database checks against a vocabulary."""
    return sorted(
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if any(isinstance(c, CheckConstraint) for c in column.constraints)
    )


def test_every_vocabulary_column_is_checked():
    columns = vocabulary_columns()
    for wanted in [("tickets", "status"), ("tickets", "level"), ("tickets", "tier"),
                   ("tickets", "rating"), ("people", "role"), ("memberships", "role"),
                   ("grids", "level"), ("inbound_messages", "status"), ("outbox", "status"),
                   ("ticket_events", "action"), ("notices", "status")]:
        assert wanted in columns
    checks = declared_checks()
    assert "system" not in checks[("people", "ck_people_role")]  # the bot is nobody's role
    assert "county" in checks[("people", "ck_people_role")]
    assert "resident" not in checks[("memberships", "ck_memberships_role")]
    assert "create" in checks[("ticket_events", "ck_ticket_events_action")]


def test_migrations_build_the_checks_the_models_declare(engine):
    inspector = inspect(engine)
    built = {
        (table, check["name"]): _words(check["sqltext"])
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
    }
    assert built == declared_checks()


@pytest.fixture
def filled(engine):
    """A database with one row in every table that has a vocabulary column."""
    factory = make_session_factory(engine)
    now = utcnow()
    with transaction(factory) as session:
        person = session.scalar(select(Person).where(Person.userid == "zhangsan"))
        inbound = InboundMessage(dedup_key="k1", channel="app", sender="zhangsan", kind="text",
                                 text="路灯坏了", payload={})
        session.add(inbound)
        ticket = Ticket(category="facility", text="路灯坏了", reporter_id=person.id)
        session.add(ticket)
        session.flush()
        session.add(TicketEvent(ticket_id=ticket.id, action="create", to_status="created"))
        session.add(ClockMark(ticket_id=ticket.id, stage=Stage.ACCEPT, kind="remind", due_at=now))
        notice = Notice(title="停水", author="cli")
        session.add(notice)
        session.flush()
        session.add(NoticeRun(notice_id=notice.id, run_key="send:once", kind="send",
                              scheduled_for=now, deliver_at=now + timedelta(minutes=1)))
        enqueue(session, key="o1", channel="app", target="zhangsan", msgtype="text",
                payload={"text": {"content": "hi"}})
        session.add(PendingPrompt(person_id=person.id, kind=PromptKind.RATING,
                                  ticket_id=ticket.id, expires_at=now + timedelta(days=7)))
    return engine


@pytest.mark.parametrize(("table", "column"), vocabulary_columns())
def test_the_database_refuses_a_word_outside_the_vocabulary(filled, table, column):
    with filled.connect() as connection:
        assert connection.scalar(text(f"SELECT count(*) FROM {table}")) > 0
        with pytest.raises(IntegrityError):
            connection.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))
        connection.rollback()


@pytest.mark.parametrize(("table", "column", "word"), [
    ("people", "role", "system"),  # the bot acts, but nobody is the bot
    ("people", "role", "Worker"),  # the codes are exact
    ("memberships", "role", "resident"),  # residents hold no duties
    ("tickets", "level", "township"),  # a grid level, not a rung of the ladder
])
def test_the_database_refuses_near_misses(filled, table, column, word):
    with filled.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(text(f"UPDATE {table} SET {column} = :word"), {"word": word})


def test_the_models_read_enums_and_refuse_other_words_before_the_database(filled):
    factory = make_session_factory(filled)
    with factory() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket.status is Status.CREATED and ticket.status == "created"
        grid = session.scalar(select(Grid).where(Grid.code == "640323"))
        assert grid.level is GridLevel.COUNTY
        duty = session.scalar(select(Membership).limit(1))
        assert isinstance(duty.role, Role)
    with factory() as session, pytest.raises(StatementError) as refused:
        session.add(Person(userid="x1", role="boss"))
        session.flush()
    assert isinstance(refused.value.orig, ValueError)  # Python refused it: no SQL was sent
    # a word of the vocabulary outside the column's subset is the database's to refuse
    with factory() as session, pytest.raises(IntegrityError):
        session.execute(update(Person).where(Person.userid == "zhangsan").values(role="system"))
    with factory() as session:  # asking is no error: there are simply none
        assert session.scalars(select(Membership).where(Membership.role == "resident")).all() == []


def test_the_migration_keeps_the_data_of_a_database_in_use(database_url):
    engine = make_engine(database_url)
    upgrade(engine, "0008")
    now = utcnow().replace(tzinfo=None)
    with engine.begin() as connection:
        run = connection.execute
        run(text("INSERT INTO grids (id, code, name, level) VALUES (1, 'g', '网格', 'grid')"))
        run(text("INSERT INTO people (id, userid, name, role, grid_id, active) "
                 "VALUES (1, 'u1', '张三', 'resident', 1, true), (2, 'w1', '李娟', 'worker', "
                 "NULL, true)"))
        run(text("INSERT INTO memberships (person_id, grid_id, role) VALUES (2, 1, 'worker')"))
        for n in (1, 2):
            run(text("INSERT INTO tickets (id, status, category, tier, urgent, text, "
                     "classification, grid_id, reporter_id, channel, reply_to, level, "
                     "created_at, deadlines_provisional, duplicate_of_id) VALUES (:id, "
                     "'dispatched', 'facility', 'general', false, '路灯坏了', '{}', 1, 1, 'app', "
                     "'{}', 'worker', :now, false, :dup)"),
                {"id": n, "now": now, "dup": 1 if n == 2 else None})
            run(text("INSERT INTO ticket_events (ticket_id, action, to_status, note, data, "
                     "created_at) VALUES (:id, 'create', 'created', '', '{}', :now)"),
                {"id": n, "now": now})
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM tickets")) == 2
        assert connection.scalar(text("SELECT count(*) FROM ticket_events")) == 2
        assert connection.scalar(text("SELECT duplicate_of_id FROM tickets WHERE id = 2")) == 1
        indexes = {i["name"]: i for i in inspect(connection).get_indexes("tickets")}
        assert "ix_tickets_originals_grid_category_created" in indexes
        if engine.dialect.name == "sqlite":
            sql = connection.scalar(text(
                "SELECT sql FROM sqlite_master WHERE name = "
                "'ix_tickets_originals_grid_category_created'"))
            assert "WHERE duplicate_of_id IS NULL" in sql  # still the partial index
            # foreign keys are enforced again on the connections the migration used
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
            with pytest.raises(IntegrityError):
                connection.execute(text("INSERT INTO memberships (person_id, grid_id, role) "
                                        "VALUES (99, 1, 'worker')"))
    engine.dispose()
