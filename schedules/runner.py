"""Run GridBot's background work in threads of this process: outbox delivery and the clocks.

``bot.py demo`` runs everything in one process (``start_background``); ``serve`` runs the inbox
processor beside the web server (``start_processing``) and, with ``--deliver``, the delivery loop
(``start_delivery``). A deployment that scales out
runs ``bot.py scheduler`` once and as many delivery workers as it likes instead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from wecom.sender import Sender
from wecom.token_cache import DatabaseTokenCache, RedisTokenCache, TokenCache

if TYPE_CHECKING:
    from web import Runtime

log = logging.getLogger(__name__)


def token_cache(runtime: Runtime) -> TokenCache:
    """Redis when configured, else the database: one token shared by every process."""
    settings = runtime.settings
    key = f"{settings.wecom.corp_id}:{settings.wecom.agent_id}"
    if settings.redis_url:
        return RedisTokenCache(settings.redis_url, key)
    return DatabaseTokenCache(runtime.session_factory, key)


def build_sender(runtime: Runtime) -> Sender:
    return Sender(runtime.settings.wecom, cache=token_cache(runtime))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def build_worker(runtime: Runtime):  # type: ignore[no-untyped-def]
    from schedules.delivery import OutboxWorker

    admins = tuple(p.userid for p in runtime.settings.roster if p.role == "admin")
    return OutboxWorker(runtime.session_factory, build_sender(runtime), runtime.settings.wecom,
                        worker_id(), admin_userids=admins)


def start_delivery(runtime: Runtime) -> Callable[[], None]:
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


def start_processing(runtime: Runtime) -> Callable[[], None]:
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


def start_background(runtime: Runtime) -> Callable[[], None]:
    """Inbox processing, delivery and the scheduler's clocks (the one-process demo)."""
    from schedules.jobs import JOBS
    from schedules.scheduler import start_scheduler

    stoppers = [start_processing(runtime), start_delivery(runtime)]
    # the delivery thread above is woken at every commit: no polling delivery job here
    clocks = tuple(job for job in JOBS if job.id != "outbox.deliver")
    stoppers.append(start_scheduler(runtime, wait_for_lock=False, specs=clocks))

    def stop_all() -> None:
        for stopper in reversed(stoppers):
            stopper()

    return stop_all
