"""Run GridBot's background work in threads of this process: outbox delivery and the clocks.

``bot.py demo`` runs everything in one process (``start_background``); ``serve`` runs the inbox
processor beside the web server (``start_processing``) and, with ``--deliver``, the delivery loop
(``start_delivery``). A deployment that scales out
runs ``bot.py scheduler`` once and as many delivery workers as it likes instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from schedules.delivery import build_worker
from schedules.jobs import JOBS
from schedules.runtime import JobRuntime
from schedules.scheduler import start_scheduler


def start_delivery(runtime: JobRuntime) -> Callable[[], None]:
    """The outbox delivery loop in a daemon thread, woken after each commit; returns stop()."""
    stop = threading.Event()
    worker = build_worker(runtime)
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), kwargs={"wake_event": runtime.wake_delivery},
        name="outbox-delivery", daemon=True,
    )
    thread.start()

    def stop_delivery() -> None:
        stop.set()
        runtime.wake_delivery.set()
        thread.join(timeout=10)

    return stop_delivery


def start_processing(runtime: JobRuntime) -> Callable[[], None]:
    """The inbox processor in a daemon thread, woken by each recorded message; returns stop()."""
    stop = threading.Event()
    thread = threading.Thread(
        target=runtime.processor.run_forever, args=(stop, runtime.wake_inbox),
        name="inbox-processor", daemon=True,
    )
    thread.start()

    def stop_processing() -> None:
        stop.set()
        runtime.wake_inbox.set()
        thread.join(timeout=10)

    return stop_processing


def start_background(runtime: JobRuntime) -> Callable[[], None]:
    """Inbox processing, delivery and the scheduler's clocks (the one-process demo)."""
    stoppers = [start_processing(runtime), start_delivery(runtime)]
    # the delivery thread above is woken at every commit: no polling delivery job here
    clocks = tuple(job for job in JOBS if job.id != "outbox.deliver")
    stoppers.append(start_scheduler(runtime, wait_for_lock=False, specs=clocks))

    def stop_all() -> None:
        for stopper in reversed(stoppers):
            stopper()

    return stop_all
