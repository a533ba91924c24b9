"""The production web server (waitress) for a GridBot app, and the hygiene of its log.

waitress warns "Task queue depth is N" for every request that has to wait for a free thread —
from its I/O loop, holding the lock its request threads take their work from. Under a burst of
callbacks that is a log record per request, thousands a second, made where they slow everyone
down. :class:`QueueDepthLog` stands in for that logger: it only notes the depth (no log record),
and says once per ``interval`` how deep the queue got and how often requests had to wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

log = logging.getLogger("waitress.queue")


class QueueDepthLog:
    """What waitress's task dispatcher calls instead of ``logging.getLogger("waitress.queue")``.

    The first wait of a quiet period is logged at once; later ones are counted and summed up in
    one line when the next wait comes ``interval`` seconds or more after the last line.
    """

    def __init__(
        self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._logger = logger
        self._lock = threading.Lock()
        self._last_line: float | None = None
        self._waits = 0
        self._deepest = 0

    def warning(self, message: str, depth: int, *_args: object) -> None:
        now = self._clock()
        with self._lock:
            self._waits += 1
            self._deepest = max(self._deepest, depth)
            if self._last_line is not None and now - self._last_line < self.interval:
                return
            waits, deepest, self._waits, self._deepest = self._waits, self._deepest, 0, 0
            self._last_line = now
        if waits == 1:
            self._logger.warning("requests waiting for a free thread: queue depth %d", deepest)
        else:
            self._logger.warning(
                "requests waiting for a free thread: %d waits, queue depth up to %d", waits,
                deepest,
            )


def make_server(app: Flask, *, host: str, port: int, threads: int):  # type: ignore[no-untyped-def]
    """A waitress server for ``app``, bound and not yet running, its queue warnings summed up."""
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads, channel_timeout=30,
                           ident="GridBot")
    server.task_dispatcher.queue_logger = QueueDepthLog()
    return server


def serve(app: Flask, *, host: str, port: int, threads: int) -> None:
    """Serve ``app`` with waitress until interrupted."""
    make_server(app, host=host, port=port, threads=threads).run()
