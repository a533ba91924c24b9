"""The scheduler's jobs, as data: an id, an APScheduler trigger, and the function to call.

Every job function takes one argument, the :class:`~schedules.context.JobContext` of the
scheduler running it (session factory, services, the outbox worker), and opens its own session.
To add a job (e.g. the SLA sweep), append a :class:`JobSpec` to :data:`JOBS`::

    JobSpec("sla.sweep", {"trigger": "interval", "minutes": 5}, "schedules.sla:sweep"),

The scheduler adds missing jobs to its persistent job store, keeps unchanged ones (with their
next run time, so a restart neither drops nor repeats a run) and removes jobs no longer listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job. ``trigger``: APScheduler trigger name and its arguments."""

    id: str
    trigger: dict[str, Any]
    func: str  # "module:function", called with the JobContext
    misfire_grace_time: int = 120  # seconds late a run may still start (else skipped)
    coalesce: bool = True  # missed runs collapse into one
    max_instances: int = 1


JOBS: tuple[JobSpec, ...] = (
    # one-off and recurring notices (cron slots), within 30 s of their time
    JobSpec("notices.fire", {"trigger": "interval", "seconds": 30},
            "schedules.notice_jobs:fire_notices"),
    # deadline reminders at 09:00 on the T-n working days
    JobSpec("notices.remind", {"trigger": "interval", "seconds": 60},
            "schedules.notice_jobs:fire_reminders"),
    # SLA clocks: reminders, escalation of overdue stages, 未评价 (schedules.sla)
    JobSpec("sla.sweep", {"trigger": "interval", "seconds": 60}, "schedules.sla:run_sweep"),
    # the outbox delivery loop, every second: a card serve's router process committed leaves
    # within a second at quiet times (under load a run goes on while rows are due); more
    # workers may run beside it (`bot.py worker`)
    JobSpec("outbox.deliver", {"trigger": "interval", "seconds": 1},
            "schedules.notice_jobs:deliver_outbox", misfire_grace_time=30),
)
