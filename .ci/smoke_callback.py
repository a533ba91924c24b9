"""One resident's report through the WeCom simulator against an installed GridBot.

Run by ``.ci/smoke-wheel`` with the fresh venv's Python, outside the source tree, after
``gridbot db upgrade``: the simulator signs and encrypts one app message as WeCom does, GridBot
answers it, routes it into a ticket and delivers the receipt back to the simulator.
Usage: python smoke_callback.py CONFIG
"""

from __future__ import annotations

import dataclasses
import sys

from sqlalchemy import func, select

from runtime.build import build_runtime
from runtime.database import prepare_database
from schedules.delivery import build_worker
from settings import load_settings
from store.models import Ticket
from web import create_app
from wecom.simulator import CallbackClient, SimulatorState
from wecom.simulator.app import run_simulator_in_thread, serve_in_thread
from wecom.simulator.payloads import app_text

RESIDENT = "zhangsan"
REPORT = "东顺苑3栋2单元门口的下水道堵了，污水冒出来了"


def main(config: str) -> int:
    settings = load_settings(config)
    state = SimulatorState(
        corp_id=settings.wecom.corp_id, secret=settings.wecom.secret,
        agent_id=settings.wecom.agent_id, known_users={p.userid for p in settings.roster},
        robot_keys={g.webhook_key for g in settings.groups if g.webhook_key},
    )
    sim_url, stop_simulator = run_simulator_in_thread(state)
    settings = dataclasses.replace(
        settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url))
    runtime = build_runtime(settings, engine=prepare_database(settings, migrate=False))
    app = create_app(runtime)
    base_url, stop_app = serve_in_thread(app)
    try:
        w = settings.wecom
        client = CallbackClient(base_url, w.token, w.encoding_aes_key, w.corp_id,
                                agent_id=w.agent_id)
        delivery = client.send_app_xml("/wecom/callback", app_text(RESIDENT, REPORT))
        routed = runtime.processor.drain()
        worker = build_worker(runtime)
        delivered = sum(worker.run_once(500) for _ in range(3))
        with runtime.session_factory() as session:
            tickets = session.scalar(select(func.count()).select_from(Ticket)) or 0
        receipts = [d.content for d in state.messages_for(RESIDENT)]
        # the console's templates and stylesheet come from the installed package (closed here:
        # no SECRET_KEY, which it says on its own page)
        console = app.test_client().get("/console/login")
        style = app.test_client().get("/console/static/console.css")
        console_ok = (console.status_code == 503 and "SECRET_KEY" in console.get_data(True)
                      and style.status_code == 200)
    finally:
        stop_app()
        runtime.close()
        stop_simulator()
    print(f"callback answered {delivery.status} after {delivery.count} attempt(s); "
          f"{routed} routed; {tickets} ticket(s); {delivered} message(s) delivered; "
          f"{RESIDENT} received {len(receipts)}; console page and stylesheet "
          f"{'served' if console_ok else 'MISSING'}")
    ok = delivery.status == 200 and tickets == 1 and bool(receipts) and console_ok
    if not ok:
        print("smoke callback FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
