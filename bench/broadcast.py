"""Benchmark: one township broadcast to many members and group robots through the simulator.

    python bench/broadcast.py                       # 10,000 members, 2,000 robots, 4 workers
    python bench/broadcast.py --members 2000 --robots 400 --workers 2   # a quick run
    python bench/broadcast.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

What it prints:

* **fan-out**: the notice is expanded into outbox rows (members packed 1,000 to a
  ``message/send`` row, one row per robot) plus a delivery record per recipient — seconds and
  outbox rows (and recipients) per second;
* **peak memory of the fan-out** (tracemalloc) at 1/4, 1/2 and the whole audience: it must stay
  flat, because recipients are streamed (``yield_per``) and written in batches;
* **delivery**: wall time for the outbox workers to deliver everything to the simulator (which
  enforces WeCom's limits: 30/min and 1,000/h per member, 20/min per robot, 1,000 users per
  call), against the floor those limits allow for this broadcast, HTTP calls per second, and
  the checks that matter: every member and robot got it exactly once, nothing was dropped.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from notify.notice_service import NoticeDraft, cancel_notice, create_notice  # noqa: E402
from schedules.delivery import OutboxWorker  # noqa: E402
from services.container import build_services  # noqa: E402
from settings import parse_settings  # noqa: E402
from store.db import make_engine, make_session_factory, transaction  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.models import Grid, GroupChat, OutboxMessage, Person  # noqa: E402
from store.roster import sync_township  # noqa: E402
from wecom.sender import Sender  # noqa: E402
from wecom.simulator import SimulatorState, run_simulator_in_thread  # noqa: E402

GRIDS = ("640323001001001", "640323001001002", "640323001002001", "640323001002002")
SCOPES = (("1/4", ["640323001001001"]), ("1/2", ["640323001001"]), ("all", ["640323001"]))


def populate(factory, members: int, robots: int) -> None:  # type: ignore[no-untyped-def]
    """Residents and robot groups spread evenly over the four grids, in bulk."""
    with transaction(factory) as session:
        ids = {code: gid for code, gid in session.execute(
            select(Grid.code, Grid.id).where(Grid.code.in_(GRIDS)))}
        for start in range(0, members, 5000):
            session.execute(insert(Person), [
                {"userid": f"r{i:06d}", "name": f"居民{i}", "role": "resident",
                 "grid_id": ids[GRIDS[i % 4]], "active": True}
                for i in range(start, min(members, start + 5000))])
        session.execute(insert(GroupChat), [
            {"chat_id": f"wrB{i:05d}", "name": f"楼栋群{i}", "grid_id": ids[GRIDS[i % 4]],
             "webhook_key": f"bench-robot-{i:05d}", "appchat": False}
            for i in range(robots)])


def fan_out(factory, services, grids: list[str], title: str) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with transaction(factory) as session:
        notice, _ = create_notice(session, services, NoticeDraft(
            title=title, body="请于本月底前完成城乡居民医保缴费。",
            audience={"grids": grids, "roles": ["resident"]}, urgent=True),
            author="bench", source="cli")
    return notice.id, time.perf_counter() - started


def limit_floor(members_per_user: int, per_robot: int, state: SimulatorState) -> float:
    """Seconds WeCom's limits force for messages per member / per robot (0: no limit binds)."""
    robot = max(0, math.ceil(per_robot / state.robot_per_minute) - 1) * 60
    minute = max(0, math.ceil(members_per_user / state.member_per_minute) - 1) * 60
    hour = max(0, math.ceil(members_per_user / state.member_per_hour) - 1) * 3600
    return float(max(robot, minute, hour))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--robots", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4, help="outbox worker threads")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": url}
    settings = parse_settings(raw, base_dir=ROOT, environ={}, source=ROOT / "config.yaml")
    state = SimulatorState(corp_id=settings.wecom.corp_id, secret=settings.wecom.secret,
                           agent_id=settings.wecom.agent_id)
    sim_url, stop_sim = run_simulator_in_thread(state)
    import dataclasses

    wecom = dataclasses.replace(settings.wecom, api_base=sim_url)
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        sync_township(session, settings)
    services = build_services(settings)
    print(f"database {engine.dialect.name}; populating {args.members:,} members and "
          f"{args.robots:,} robot groups …", flush=True)
    populate(factory, args.members, args.robots)

    # -- memory: peak of the fan-out at growing audiences (probes are cancelled afterwards) --
    print("\nfan-out peak memory (tracemalloc), must stay flat as the audience grows:")
    for label, grids in SCOPES:
        tracemalloc.start()
        notice_id, seconds = fan_out(factory, services, grids, f"内存探针 {label}")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with transaction(factory) as session:
            counted = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.idempotency_key.like(f"notice:{notice_id}:%")))
            cancel_notice(session, notice_id)
        print(f"  audience {label:>3}: {counted:>6,} outbox rows, peak {peak / 2**20:6.1f} MiB "
              f"({seconds:5.2f} s under tracemalloc)")

    # -- the broadcast, timed --------------------------------------------------------------
    notice_id, seconds = fan_out(factory, services, ["640323001"], "城乡居民医保缴费")
    with factory() as session:
        rows = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"notice:{notice_id}:%"))) or 0
    recipients = args.members + args.robots
    print(f"\nfan-out: {rows:,} outbox rows for {recipients:,} recipients in {seconds:.2f} s "
          f"= {rows / seconds:,.0f} rows/s, {recipients / seconds:,.0f} recipients/s")

    stop = threading.Event()
    started = time.perf_counter()

    def work(n: int) -> None:
        worker = OutboxWorker(factory, Sender(wecom), wecom, f"bench-{n}")
        while not stop.is_set():
            worker.run_once(100)
            if not worker.last_claimed:
                with factory() as session:
                    left = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status == "pending",
                        OutboxMessage.idempotency_key.like(f"notice:{notice_id}:%")))
                if not left:
                    return
                time.sleep(0.2)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stop_sim()

    delivered = [d for d in state.delivered if "城乡居民医保缴费" in d.content]
    per_member = Counter(d.target for d in delivered if d.channel == "app")
    per_robot = Counter(d.target for d in delivered if d.channel == "webhook")
    calls = len([c for c in state.calls if c.path.endswith(("message/send", "webhook/send"))])
    floor = limit_floor(1, 1, state)
    print(f"delivery: {len(per_member):,} members and {len(per_robot):,} robots in "
          f"{elapsed:.2f} s with {args.workers} workers ({calls:,} HTTP calls, "
          f"{calls / elapsed:,.0f} calls/s, {rows / elapsed:,.0f} outbox rows/s)")
    print(f"  floor allowed by WeCom's limits for this broadcast: {floor:.0f} s (one message "
          f"per member and per robot is under 30/min and 20/min; members go "
          f"{state.max_users_per_send} per call) — the measured time is HTTP-bound, "
          f"{math.ceil(args.members / state.max_users_per_send) + args.robots:,} calls minimum")
    print(f"  exactly once: members {set(per_member.values()) or {0}}, robots "
          f"{set(per_robot.values()) or {0}}; dropped by WeCom: {len(state.dropped)}; "
          f"refused over a limit: {sum(1 for c in state.calls if c.errcode == 45009)}")
    ok = (len(per_member) >= args.members and len(per_robot) >= args.robots
          and set(per_member.values()) == {1} and set(per_robot.values()) == {1}
          and not state.dropped)
    engine.dispose()
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
