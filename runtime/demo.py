"""``bot.py demo``: the whole product in one process, with the WeCom simulator in place of WeCom.

One WSGI server carries GridBot (``/wecom/...``), the simulator's fake WeCom API (``/sim/...``)
the chat page of :mod:`web.demo` (``/demo``) and the centre's console (``/console``, with a
person picker that signs in through the simulator's WeCom authorize page). What GridBot sends goes through its real
sender to the simulator; the inbox processor, the outbox delivery worker and the scheduler run
in background threads of the same process.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

from flask import Flask
from waitress import create_server
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from runtime.build import build_runtime
from runtime.database import prepare_database
from schedules.runner import start_background
from settings.model import ConsoleSettings, Settings
from web import create_app
from web.demo import SIM_PREFIX, DemoWorld, demo_blueprint
from wecom.simulator import SimulatorState, create_simulator_app


def demo_console(console: ConsoleSettings) -> ConsoleSettings:
    """The demo's console: a session key made up for this run when none is configured, and the
    cookie sent over plain HTTP (the demo serves http://127.0.0.1)."""
    return dataclasses.replace(console, secret_key=console.secret_key or secrets.token_hex(32),
                               secure_cookies=False)


def run_demo(
    settings: Settings,
    *,
    host: str,
    port: int,
    database_url: str | None,
) -> int:
    """Start the simulator, GridBot, the delivery worker and the scheduler; serve until Ctrl-C."""
    base_url = f"http://{host}:{port}"
    if database_url is None:
        path = Path(settings.database_url.removeprefix("sqlite:///")).with_name("demo.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    settings = dataclasses.replace(
        settings,
        database_url=database_url,
        wecom=dataclasses.replace(settings.wecom, api_base=f"{base_url}{SIM_PREFIX}"),
        console=demo_console(settings.console),
    )
    state = SimulatorState(
        corp_id=settings.wecom.corp_id,
        secret=settings.wecom.secret,
        agent_id=settings.wecom.agent_id,
        known_users={p.userid for p in settings.roster},
        robot_keys={g.webhook_key for g in settings.groups if g.webhook_key},
        robot_chats={g.webhook_key: g.chat_id for g in settings.groups if g.webhook_key},
    )
    engine = prepare_database(settings, migrate=True)
    runtime = build_runtime(settings, engine=engine)
    app: Flask = create_app(runtime, demo=True)
    world = DemoWorld(settings=settings, state=state, base_url=base_url)
    app.register_blueprint(demo_blueprint(world))
    app.add_url_rule("/", "index", lambda: ('<meta http-equiv="refresh" content="0; url=/demo">'))
    wsgi = DispatcherMiddleware(app, {SIM_PREFIX: create_simulator_app(state)})
    server = create_server(wsgi, host=host, port=port, threads=8, ident="GridBot-demo")
    stop_background = start_background(runtime)
    print(f"GridBot demo: open http://{host}:{port}/demo  (SQLite: {database_url}; WeCom "
          f"simulator at {base_url}{SIM_PREFIX}; Ctrl-C stops)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop_background()
        server.close()
        runtime.close()
    return 0
