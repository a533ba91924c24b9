"""The production server's queue warnings: one line per interval instead of one per request."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from settings.model import ServerSettings
from web.server import QueueDepthLog, make_server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_queue_warnings_becomes_one_line_per_interval(caplog):
    clock = Clock()
    logger = logging.getLogger("test.waitress.queue")
    queue_log = QueueDepthLog(interval=10, clock=clock, logger=logger)
    with caplog.at_level(logging.WARNING, logger=logger.name):
        queue_log.warning("Task queue depth is %d", 1)  # the first wait is said at once
        for depth in [2, 5, 12, 3] * 250:  # 1,000 more within the interval: silent
            clock.now += 0.005
            queue_log.warning("Task queue depth is %d", depth)
        assert [r.getMessage() for r in caplog.records] == [
            "requests waiting for a free thread: queue depth 1"]
        clock.now += 10
        queue_log.warning("Task queue depth is %d", 4)
    assert len(caplog.records) == 2
    assert caplog.records[1].getMessage() == (
        "requests waiting for a free thread: 1001 waits, queue depth up to 12")


def test_the_server_uses_the_summary():
    server = make_server(Flask(__name__), host="127.0.0.1", port=0, threads=2)
    try:
        assert isinstance(server.task_dispatcher.queue_logger, QueueDepthLog)
    finally:
        server.close()


def _thread_niceness() -> dict[int, int]:
    """Niceness of each thread of this process, by thread id (/proc: Linux)."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = int(fields[16])
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness: Linux")
def test_request_threads_run_nicer_than_the_rest_of_the_process():
    before = _thread_niceness()
    mine = before[threading.get_native_id()]
    server = make_server(Flask(__name__), host="127.0.0.1", port=0, threads=3,
                         options=ServerSettings(request_nice=4))
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            started = {tid: nice for tid, nice in _thread_niceness().items() if tid not in before}
            if len(started) >= 3:
                break
            time.sleep(0.02)
        assert sorted(started.values()) == [min(19, mine + 4)] * 3
        assert _thread_niceness()[threading.get_native_id()] == mine  # the caller's is kept
    finally:
        server.task_dispatcher.shutdown()
        server.close()


def test_request_threads_and_niceness_by_database():
    from web.server import for_database

    options = ServerSettings(request_nice=5)
    on_postgres = for_database(options, "postgresql+psycopg://gridbot@db/gridbot")
    on_sqlite = for_database(options, "sqlite:///instance/gridbot.db")
    assert (on_postgres.request_nice, on_postgres.threads) == (5, 8)
    assert (on_sqlite.request_nice, on_sqlite.threads) == (0, 32)
    configured = for_database(ServerSettings(threads=12), "sqlite:///instance/gridbot.db")
    assert configured.threads == 12
