"""The production server's queue warnings: one line per interval instead of one per request."""

from __future__ import annotations

import logging

from flask import Flask

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
