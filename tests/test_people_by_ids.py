"""``store.roster.people_by_ids``: the people asked for, in the order asked, each read once per
transaction (routing a batch dispatches most reports to the same few grid workers)."""

from __future__ import annotations

from sqlalchemy import event, select

from store.models import Person
from store.roster import people_by_ids


def _ids(session, *userids: str) -> list[int]:  # type: ignore[no-untyped-def]
    rows = dict(session.execute(select(Person.userid, Person.id).where(
        Person.userid.in_(userids))).all())
    return [rows[userid] for userid in userids]


def test_the_people_come_in_the_order_asked_each_read_once_per_transaction(session_factory):
    with session_factory() as session:
        lijuan, zhangwei, chenjing = _ids(session, "lijuan", "zhangwei", "chenjing")
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "FROM people" in statement:
            reads.append(statement)

    with session_factory() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            with session.begin():
                first = people_by_ids(session, [chenjing, lijuan, chenjing])
                again = people_by_ids(session, [lijuan])
                both = people_by_ids(session, [zhangwei, lijuan, 10**9])
                assert len(reads) == 2  # lijuan and chenjing once; zhangwei (and no one) once
            with session.begin():  # another transaction reads them afresh
                later = people_by_ids(session, [lijuan])
                assert len(reads) == 3
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert [p.userid for p in first] == ["chenjing", "lijuan"]
        assert again[0] is first[1]
        assert [p.userid for p in both] == ["zhangwei", "lijuan"]
        assert later[0].userid == "lijuan"
    assert people_by_ids(session_factory(), []) == []
