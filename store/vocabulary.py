"""Closed vocabularies as database columns: a typed column and the CHECK the database enforces.

``vocabulary_column("status", Status, default=Status.CREATED)`` is a ``VARCHAR`` that holds the
vocabulary's plain string values (the same on SQLite and PostgreSQL, so no native enum types to
migrate), hands back the ``StrEnum`` member when read, refuses a word outside the vocabulary in
Python before the database sees it, and carries a CHECK constraint (``ck_<table>_<column>``,
named through ``Base.metadata``'s naming convention) that holds the column to its values --
the whole vocabulary or a subset (a person's role is never ``system``) -- whoever writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import MappedColumn, mapped_column
from sqlalchemy.types import TypeDecorator


class VocabularyType(TypeDecorator[StrEnum]):
    """A ``String`` of ``length`` holding one of ``values`` (default: every member of
    ``vocabulary``); reads give the member.

    Parameters are checked against the whole vocabulary, not the subset: a query may well ask
    for memberships whose role is ``resident`` (there are none); only the CHECK keeps the
    column to its subset."""

    impl = String
    cache_ok = True

    def __init__(
        self, vocabulary: type[StrEnum], values: Iterable[str] | None = None, length: int = 16
    ) -> None:
        super().__init__(length=length)
        self.vocabulary = vocabulary
        self.values: tuple[StrEnum, ...] = tuple(
            vocabulary(v) for v in (vocabulary if values is None else values)
        )
        self.length = length

    def process_bind_param(self, value: Any, dialect: object) -> str | None:
        if value is None:
            return None
        return self.vocabulary(value).value  # ValueError for a word outside the vocabulary

    def process_result_value(self, value: str | None, dialect: object) -> StrEnum | None:
        return None if value is None else self.vocabulary(value)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """``CHECK (column IN ('a', 'b'))``, named ``ck_<table>_<column>`` by the naming convention."""
    words = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({words})", name=column)


def vocabulary_column(
    column: str,
    vocabulary: type[StrEnum],
    *,
    values: Iterable[str] | None = None,
    length: int = 16,
    **kwargs: Any,
) -> MappedColumn[Any]:
    """A mapped column of ``vocabulary`` (or the subset ``values``) with its CHECK constraint."""
    kind = VocabularyType(vocabulary, values, length)
    return mapped_column(kind, one_of(column, kind.values), **kwargs)


def checked_column(column: str, values: Iterable[str], *, length: int = 16,
                   **kwargs: Any) -> MappedColumn[Any]:
    """A plain string column limited to ``values`` by a CHECK constraint (a vocabulary that is
    not one enum, such as an audit trail's actions)."""
    return mapped_column(String(length), one_of(column, tuple(values)), **kwargs)
