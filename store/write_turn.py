"""Turns at SQLite's single writer, for the writers of every process on one database file.

SQLite lets one connection write at a time and makes the others sleep and retry (its busy
handler: 1, 2, 5 … 100 ms naps). Under a flood the callbacks' inserts (in ``serve``) and the
router's transactions (its own process) met only there: a router that found the lock taken
napped while the callbacks took it again and again, and routed two thirds of its rate.

:class:`WriteTurn` makes them queue instead: a thread lock for the threads of one process, and
two byte-range locks on a file beside the database for the processes. Taking a turn is
*door, then writer, then open the door*: a process that has just written and wants to write
again waits at the door behind the one already waiting at the writer lock, so two busy
processes alternate, and a waiter is woken the moment the writer is free instead of after its
nap. A process dying with the turn loses its locks with it (the kernel releases them).

PostgreSQL locks rows, not the database: it needs no turn (:func:`write_turn_for`).
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine

try:
    import fcntl
except ImportError:  # not a POSIX system: the turns of one process only
    fcntl = None  # type: ignore[assignment]

_DOOR, _WRITER = 0, 1  # the byte offsets of the two locks in the turn file


class WriteTurn:
    """A context manager: the caller writes to the SQLite file alone while inside it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path if fcntl is not None else None
        self._threads = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> WriteTurn:
        self._threads.acquire()
        try:
            if self.path is not None:
                fd = self._file()
                fcntl.lockf(fd, fcntl.LOCK_EX, 1, _DOOR)
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX, 1, _WRITER)
                finally:
                    fcntl.lockf(fd, fcntl.LOCK_UN, 1, _DOOR)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._fd is not None:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _WRITER)
        finally:
            self._threads.release()

    def locked(self) -> bool:
        """Whether a thread of this process holds the turn."""
        return self._threads.locked()

    def _file(self) -> int:
        # One descriptor for the life of the process: closing any descriptor of the file would
        # drop the process's locks on it (POSIX record locks).
        if self._fd is None:
            assert self.path is not None
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd


def turn_file(engine: Engine) -> Path | None:
    """The turn file beside an SQLite database file (None for an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{database}-turn")


def write_turn_for(engine: Engine) -> AbstractContextManager[object]:
    """A :class:`WriteTurn` on SQLite (shared by every process on the file); nothing to take on
    PostgreSQL, which locks rows."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return WriteTurn(turn_file(engine))
