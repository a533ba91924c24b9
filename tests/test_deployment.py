"""A real multi-process deployment under load, with kills: nothing lost, nothing doubled.

Runs :mod:`bench.deployment` for 20 s of load: the WeCom simulator, four ``serve`` processes
behind a round-robin proxy, two ``worker`` processes and two ``scheduler`` processes on
PostgreSQL + Redis; one web process and one worker are killed with SIGKILL and restarted, then
the leading scheduler is killed for good. Only when DATABASE_URL points at PostgreSQL and Redis
answers (``REDIS_URL``, default ``redis://127.0.0.1:6379/0``); marked ``deployment``
(``pytest -m "not deployment"`` leaves it out). It takes minutes, most of them starting ten
Python processes on a small machine and waiting out the dead worker's leases.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.deployment import DEFAULT_REDIS, parser, print_figures, run


def _postgres() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url if url.startswith("postgresql") else None


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


REDIS = os.environ.get("REDIS_URL") or DEFAULT_REDIS

pytestmark = [
    pytest.mark.deployment,
    pytest.mark.skipif(_postgres() is None, reason="needs DATABASE_URL on PostgreSQL"),
    pytest.mark.skipif(_postgres() is not None and not _redis_answers(REDIS),
                       reason=f"needs Redis at {REDIS}"),
]


def test_kills_during_load_lose_nothing_double_nothing_and_the_standby_leads(
    tmp_path: Path,
) -> None:
    args = parser().parse_args([
        "--database-url", str(_postgres()), "--redis-url", REDIS, "--seconds", "20",
        "--rate", "3", "--residents", "4", "--lock-ttl", "6", "--poll", "0.5",
        "--no-notice-wait", "--drain", "180", "--logdir", str(tmp_path),
    ])
    figures = run(args)
    lines: list[str] = []
    print_figures(figures, out=lines.append)
    report = "\n".join(lines) + f"\nlogs: {tmp_path}"

    assert figures.reports_sent == 60, report
    assert figures.accepted == figures.reports_sent, report  # WeCom got an answer for each
    assert [k.kind for k in figures.kills] == ["web", "worker", "scheduler"], report
    # every accepted report became exactly one ticket
    assert figures.tickets == figures.reports_sent, report
    assert (figures.lost, figures.doubled, figures.stray_tickets) == (0, 0, 0), report
    assert figures.inbox_errors == 0, report
    # every dispatch card reached its handler; a repeat only across a delivering process's kill
    assert figures.cards_expected == figures.tickets, report
    assert figures.cards_missing == 0, report
    assert figures.repeats_outside_kill_windows == 0, report
    assert (figures.outbox_left, figures.outbox_dead) == (0, 0), report
    # the standby led within the dead leader's lock TTL (plus its polling and some slack)
    assert figures.takeover_seconds is not None, report
    assert figures.takeover_seconds < args.lock_ttl + args.poll + 5, report
    assert figures.first_job_after_kill is not None, report  # and it ran the jobs
    # both schedulers' logs: the jobs ran, and no job ran the same slot twice
    assert figures.job_runs.get("outbox.deliver", 0) > 0, report
    assert figures.job_slots_doubled == 0, report
    assert not figures.problems, report
