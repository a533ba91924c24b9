"""Job functions for notices and outbox delivery; each takes the scheduler's JobContext."""

from __future__ import annotations

import logging
import time

from notify.notice_service import fire_due
from schedules.context import JobContext

log = logging.getLogger(__name__)

DELIVERY_BUDGET_SECONDS = 20.0


def fire_notices(ctx: JobContext) -> int:
    """Fire due one-off and recurring notice slots (quiet hours deferral applied)."""
    fired = fire_due(ctx.session_factory, ctx.services, kinds=("send",))
    if fired:
        ctx.runtime.wake_delivery.set()
    return fired


def fire_reminders(ctx: JobContext) -> int:
    """Fire due T-n working-day deadline reminders."""
    fired = fire_due(ctx.session_factory, ctx.services, kinds=("remind",))
    if fired:
        ctx.runtime.wake_delivery.set()
    return fired


def deliver_outbox(ctx: JobContext, budget: float = DELIVERY_BUDGET_SECONDS) -> int:
    """Deliver due outbox rows until none is left or the time budget is spent."""
    worker = ctx.outbox_worker()
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < budget and not worker.stopping.is_set():
        total += worker.run_once(200)
        if not worker.last_claimed:
            break
    return total
