"""The production web server (waitress) for a GridBot app, its connection limits, and the
hygiene of its log.

Idle keep-alive connections and requests sent halfway cost waitress a socket in its I/O loop, not
a request thread; but past ``connection_limit`` it stops accepting, and a valid callback waits in
the kernel's backlog until an idle connection times out (waitress's defaults: 100 connections,
120 s, swept every 30 s — a few hundred idle clients kept WeCom's callbacks unanswered past its
5 s). ``make_server`` takes these from config.yaml's ``server`` section
(:class:`settings.model.ServerSettings`): a high limit, idle connections closed after seconds,
``poll()`` rather than ``select()`` (whose 1,024-descriptor ceiling a high limit would pass),
and request bodies capped at the app's ``MAX_CONTENT_LENGTH``.

waitress warns "Task queue depth is N" for every request that has to wait for a free thread —
from its I/O loop, holding the lock its request threads take their work from. Under a burst of
callbacks that is a log record per request, thousands a second, made where they slow everyone
down. :class:`QueueDepthLog` stands in for that logger: it only notes the depth (no log record),
and says once per ``interval`` how deep the queue got and how often requests had to wait.

The request threads run ``server.request_nice`` steps nicer than the rest (:class:`
NiceDispatcher`): answering a callback costs a fraction of a millisecond of CPU and has WeCom's
5 s, routing it costs ten and is what the resident waits for, so in a flood the kernel gives the
routing processes their share of the cores first (bench/end_to_end.py). On PostgreSQL only:
on SQLite the callbacks and the router take turns at the one writer (:mod:`store.write_turn`),
and a nicer request thread holding the turn held the router back (routed 63 msg/s instead of 90
under 400 offered).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from flask import Flask
from waitress.task import ThreadedTaskDispatcher

from settings.model import ServerSettings

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


class NiceDispatcher(ThreadedTaskDispatcher):
    """waitress's request threads, each lowering its own CPU priority by ``nice`` as it starts
    (Linux keeps a niceness per thread; the I/O loop's thread and the process's others keep
    theirs)."""

    def __init__(self, nice: int) -> None:
        super().__init__()
        self.nice = nice

    def handler_thread(self, thread_no: int) -> None:
        lower_thread_priority(self.nice)
        super().handler_thread(thread_no)


#: Request threads unless configured: on SQLite the callbacks also wait for their turn at the one
#: writer (store.write_turn), and the more wait, the more rows share a commit — with 8, a flood
#: of 400 callbacks a second was answered at 240 (bench/end_to_end.py).
THREADS = {"sqlite": 32, "postgresql": 8}


def for_database(options: ServerSettings, database_url: str) -> ServerSettings:
    """``options`` as they apply to a server on ``database_url``: request threads by database
    unless configured, and no request niceness on SQLite (see the module's docstring)."""
    sqlite = database_url.startswith("sqlite")
    threads = options.threads or THREADS["sqlite" if sqlite else "postgresql"]
    return replace(options, threads=threads, request_nice=0 if sqlite else options.request_nice)


def lower_thread_priority(nice: int) -> None:
    """Make the calling thread ``nice`` steps nicer (Linux; elsewhere a niceness is the whole
    process's, and nothing is changed). Raising a niceness needs no privilege."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    me = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + nice))


def make_server(  # type: ignore[no-untyped-def]
    app: Flask, *, host: str, port: int, threads: int | None = None,
    options: ServerSettings | None = None,
):
    """A waitress server for ``app``, bound and not yet running, its queue warnings summed up.

    ``threads`` (the command line's) wins over ``options.threads``.
    """
    from waitress import create_server

    options = options or ServerSettings()
    body_limit = app.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024
    # waitress takes a dispatcher of our own through `_dispatcher` (it then starts no threads of
    # its own): the one way to run code on its request threads as they start
    dispatcher = NiceDispatcher(options.request_nice)
    dispatcher.queue_logger = QueueDepthLog()
    threads = threads or options.threads or THREADS["postgresql"]
    dispatcher.set_thread_count(threads)
    server = create_server(
        app, host=host, port=port, threads=threads, ident="GridBot",
        connection_limit=options.connection_limit,
        channel_timeout=options.channel_timeout_seconds,
        cleanup_interval=options.cleanup_interval_seconds,
        backlog=options.backlog,
        asyncore_use_poll=True,
        max_request_body_size=body_limit,
        _dispatcher=dispatcher,
    )
    return server


def serve(
    app: Flask, *, host: str, port: int, threads: int | None = None,
    options: ServerSettings | None = None,
) -> None:
    """Serve ``app`` with waitress until interrupted."""
    make_server(app, host=host, port=port, threads=threads, options=options).run()
