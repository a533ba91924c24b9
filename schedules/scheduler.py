"""``bot.py scheduler``: the one APScheduler instance, behind a leader lock.

* One ``BackgroundScheduler`` whose job store is APScheduler's ``SQLAlchemyJobStore`` on the
  same database as everything else (table ``apscheduler_jobs``): jobs and their next run times
  survive restarts. Every job has ``coalesce`` (missed runs collapse into one),
  ``misfire_grace_time`` and ``max_instances = 1``.
* A leader lock (:mod:`schedules.leader`: Redis if configured, a PostgreSQL advisory lock, else a
  lease row) is taken before the scheduler starts. A second scheduler process waits for the lock
  instead of running jobs twice, and takes over when the leader stops or dies.
* The jobs are the specs of :data:`schedules.jobs.JOBS`, synchronised into the job store at each
  start: new ones added, changed ones replaced, unchanged ones kept with their next run time,
  vanished ones removed.

``start_scheduler(runtime, wait_for_lock=...)`` runs all this in a background thread and returns
``stop()``; ``bot.py demo`` uses it, ``bot.py scheduler`` blocks on it until a signal.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from schedules.context import CONTEXTS, JobContext, context_key
from schedules.jobs import JOBS, JobSpec
from schedules.leader import LeaderLock, leader_lock
from schedules.runtime import JobRuntime

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
_SEQUENCE = itertools.count(1)
_TRIGGERS: dict[str, type[BaseTrigger]] = {
    "interval": IntervalTrigger, "cron": CronTrigger, "date": DateTrigger,
}


def holder_id() -> str:
    """A name for this scheduler instance: host, process and a per-process number."""
    return f"{socket.gethostname()}:{os.getpid()}:{next(_SEQUENCE)}"


def run_job(job_id: str, key: str) -> Any:
    """What every stored job calls: find the leading scheduler's context and run the spec."""
    ctx = CONTEXTS.get(key)
    if ctx is None:
        log.warning("job %s: no scheduler context %s in this process; skipped", job_id, key)
        return None
    spec = ctx.specs.get(job_id)
    if spec is None:
        log.warning("job %s is no longer listed; skipped", job_id)
        return None
    module, _, name = spec.func.partition(":")
    func: Callable[[JobContext], Any] = getattr(importlib.import_module(module), name)
    return func(ctx)


def make_trigger(spec: JobSpec, timezone: Any) -> BaseTrigger:
    options = dict(spec.trigger)
    kind = options.pop("trigger")
    return _TRIGGERS[kind](timezone=timezone, **options)


def build_scheduler(runtime: JobRuntime) -> BackgroundScheduler:
    """A paused-to-be BackgroundScheduler on the runtime's database."""
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "misfire_grace_time": 120, "max_instances": 1},
        timezone=runtime.services.calendar.tz,
    )


def sync_jobs(scheduler: BackgroundScheduler, specs: Sequence[JobSpec], key: str) -> None:
    """Make the job store hold exactly ``specs`` (keeping unchanged jobs' next run times)."""
    tz = scheduler.timezone
    wanted = {spec.id: spec for spec in specs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing job %s (no longer listed)", job.id)
            job.remove()
    for spec in specs:
        trigger = make_trigger(spec, tz)
        existing = scheduler.get_job(spec.id)
        same = (
            existing is not None
            and str(existing.trigger) == str(trigger)
            and list(existing.args) == [spec.id, key]
            and existing.coalesce == spec.coalesce
            and existing.misfire_grace_time == spec.misfire_grace_time
        )
        if same:
            continue
        scheduler.add_job(
            "schedules.scheduler:run_job", trigger=trigger, args=[spec.id, key], id=spec.id,
            name=spec.id, replace_existing=True, coalesce=spec.coalesce,
            misfire_grace_time=spec.misfire_grace_time, max_instances=spec.max_instances,
        )


class SchedulerService:
    """Waits for leadership, runs the scheduler while it leads, steps down when the lock is lost."""

    def __init__(self, runtime: JobRuntime, *, specs: Sequence[JobSpec] = JOBS,
                 lock: LeaderLock | None = None, poll_seconds: float = 2.0,
                 lock_ttl: float | None = None) -> None:
        self.runtime = runtime
        self.specs = tuple(specs)
        self.holder = lock.holder if lock is not None else holder_id()
        self.lock = lock or leader_lock(
            runtime.engine, runtime.session_factory, self.holder,
            redis_url=runtime.settings.redis_url, namespace=context_key(
                runtime.settings.database_url), ttl=lock_ttl)
        self.key = context_key(runtime.settings.database_url)
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.thread: threading.Thread | None = None
        self.terms = 0  # how many times this instance became leader

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="scheduler-leader", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=60)

    def _run(self) -> None:
        waiting_logged = False
        while not self.stopping.is_set():
            if not self.lock.try_acquire():
                if not waiting_logged:
                    log.info("scheduler %s: another scheduler leads; waiting", self.holder)
                    waiting_logged = True
                self.stopping.wait(self.poll_seconds)
                continue
            waiting_logged = False
            try:
                self._lead()
            finally:
                self.lock.release()

    def _lead(self) -> None:
        self.terms += 1
        log.info("scheduler %s: leading (%d jobs)", self.holder, len(self.specs))
        context = JobContext(self.runtime, self.holder, {s.id: s for s in self.specs})
        CONTEXTS.register(self.key, context)
        scheduler = self.scheduler = build_scheduler(self.runtime)
        scheduler.start(paused=True)
        try:
            sync_jobs(scheduler, self.specs, self.key)
            scheduler.resume()
            self.leading.set()
            renew_every = max(0.2, self.lock.ttl / 3)
            while not self.stopping.wait(renew_every):
                if not self.lock.still_held():
                    log.error("scheduler %s: leader lock lost; stepping down", self.holder)
                    break
        finally:
            self.leading.clear()
            context.stop_delivery()  # the running delivery job ends after its current row
            scheduler.shutdown(wait=True)
            CONTEXTS.unregister(self.key, context)
            self.scheduler = None
            log.info("scheduler %s: stopped leading", self.holder)


def start_scheduler(runtime: JobRuntime, wait_for_lock: bool, *, specs: Sequence[JobSpec] = JOBS,
                    lock: LeaderLock | None = None, poll_seconds: float = 2.0,
                    lock_ttl: float | None = None) -> Callable[[], None]:
    """Run the scheduler in a background thread once it holds the leader lock; returns stop().

    ``wait_for_lock``: block the caller until this instance leads (``bot.py scheduler``), or
    return at once and let the thread wait (``bot.py demo``). ``lock_ttl``: how long a dead
    leader keeps the lock (None: the lock's default); a standby takes over within
    ``lock_ttl + poll_seconds`` of the leader's death.
    """
    service = SchedulerService(runtime, specs=specs, lock=lock, poll_seconds=poll_seconds,
                               lock_ttl=lock_ttl)
    service.start()
    if wait_for_lock:
        while not service.leading.wait(1.0):
            if service.thread is not None and not service.thread.is_alive():
                break
    return service.stop
