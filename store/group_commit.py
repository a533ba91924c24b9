"""Group commit: concurrent writers of one row each share a transaction, and none waits alone.

Request threads that each need one small row committed before they may answer (the callback's
inbox insert) would otherwise take turns on the database's write lock one commit at a time; on
SQLite, under Python's GIL, a holder of that lock also waits for the GIL at every call into the
database, and the queue behind it grows. :class:`GroupCommit` lets them meet instead, with no
thread of its own (leader/follower, as databases do their own group commit):

* a caller that finds nobody writing becomes the **leader**: it takes every item queued so far
  (its own included), writes them with one call of ``write_batch`` — one transaction — and
  hands each follower its own result;
* a caller that arrives while a batch is being written queues its item and waits; when that
  batch is done, the first of the waiting becomes the next leader and writes the rest.

Every caller still returns only once its own item is committed (or with its own error): no
caller is answered early. With one caller at a time a batch holds one item, as before.

When a batch fails, its items are written one by one, so one bad item fails only its caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 200


class _Slot(Generic[Item, Result]):
    """One caller's item, its result or error, and the event that wakes the caller."""

    __slots__ = ("item", "result", "error", "done", "lead", "ready")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False  # result or error set
        self.lead = False  # woken to write the next batch, not with a result
        self.ready = threading.Event()

    def outcome(self) -> Result:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit(Generic[Item, Result]):
    """Commits items of concurrent callers in shared batches; ``submit`` returns one's result.

    ``write_batch(items)`` must write all items in one transaction and return one result per
    item, in order; it is called by one caller at a time, inside ``turn`` (a lock shared with
    other writers of the process, or none).
    """

    def __init__(
        self,
        write_batch: Callable[[Sequence[Item]], Sequence[Result]],
        *,
        turn: AbstractContextManager[object] | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._write_batch = write_batch
        self._turn = turn or nullcontext()
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._queue: list[_Slot[Item, Result]] = []
        self._writing = False
        self.batches = 0  # how many batches were written (for tests and metrics)
        self.items = 0

    def submit(self, item: Item) -> Result:
        """Write ``item`` (with whatever else is queued) and return its result once committed."""
        slot: _Slot[Item, Result] = _Slot(item)
        with self._mutex:
            self._queue.append(slot)
            lead = not self._writing
            self._writing = True
        if not lead:
            slot.ready.wait()
            if not slot.lead:
                return slot.outcome()
        self._lead()
        return slot.outcome()

    def _lead(self) -> None:
        with self._mutex:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            self._write(batch)
        except BaseException as error:  # interrupted mid-batch: nobody is left without an answer
            for slot in batch:
                if not slot.done:
                    slot.error, slot.done = error, True
            raise
        finally:
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._writing = False
                else:
                    successor.lead = True
            for slot in batch:
                slot.ready.set()
            if successor is not None:
                successor.ready.set()

    def _write(self, batch: list[_Slot[Item, Result]]) -> None:
        try:
            with self._turn:
                results = self._write_batch([slot.item for slot in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as error:
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
                return
            for slot in batch:  # isolate the item that failed: each caller gets its own answer
                self._write([slot])
            return
        with self._mutex:
            self.batches += 1
            self.items += len(batch)
        for slot, result in zip(batch, results, strict=True):
            slot.result, slot.done = result, True

