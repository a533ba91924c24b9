"""``serve``'s router as a process of its own, beside the web server, woken at every record.

Answering WeCom and routing are both Python: in one process they share one interpreter lock,
and under a flood of callbacks the routing thread got a few per cent of it (5 msg/s routed
while 100 msg/s were offered on SQLite). In a child process the router has its own interpreter
and the operating system shares the cores between the two: routing keeps its share of the
machine however many callbacks arrive, and the callbacks keep theirs.

The child is ``bot.py worker --threads 0 --wake-stdin``: it routes only (no delivery), is woken
through its stdin (one byte per wake-up, coalesced), and stops when its stdin closes — when
``serve`` stops or dies. A child that dies is started again (after a pause that grows).
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)


class RouterProcess:
    """Starts, wakes, supervises and stops the routing child process."""

    def __init__(self, command: Sequence[str], restart_pause: float = 1.0) -> None:
        self.command = list(command)
        self.restart_pause = restart_pause
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._supervise, name="router-process",
                                        daemon=True)

    def start(self) -> RouterProcess:
        self._spawn()
        self._thread.start()
        return self

    def wake(self) -> None:
        """A message was recorded (called on the callback's thread: only sets an event)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Close the child's stdin (it finishes what it holds and exits); kill it if it lingers."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=2)
        process = self._process
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=5)

    def _spawn(self) -> None:
        self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE)
        log.info("router process %s started", self._process.pid)

    def _supervise(self) -> None:
        pause = self.restart_pause
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            if self._stopping.is_set():
                return
            process = self._process
            assert process is not None and process.stdin is not None
            if process.poll() is not None:
                log.error("router process %s exited with %s; starting another in %.0f s",
                          process.pid, process.returncode, pause)
                if self._stopping.wait(pause):
                    return
                pause = min(pause * 2, 60.0)
                self._spawn()
                continue
            if self._wake.is_set():
                self._wake.clear()
                try:
                    process.stdin.write(b"\n")
                    process.stdin.flush()
                except OSError:  # it died between the poll and the write: seen next round
                    time.sleep(0.01)
                else:
                    pause = self.restart_pause
