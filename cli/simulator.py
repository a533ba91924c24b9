"""CLI sub-command ``simulator``: the fake WeCom of the tests and the demo as a process of its own.

    python bot.py simulator --port 9000     # WeCom's /cgi-bin/ API for the corp in config.yaml

A deployment of several processes (``serve``, ``worker``, ``scheduler``) on one test host points
``WECOM_API_BASE`` at it; everything they send lands here, with WeCom's error codes and limits,
and ``GET /_sim/deliveries``, ``/_sim/dropped``, ``/_sim/cards`` and ``/_sim/received`` say what
WeCom delivered, what it silently dropped over a member's limit, and how the cards look now.
Callbacks (WeCom calling GridBot) come from the load's driver (``bench/deployment.py``) through
:class:`wecom.simulator.CallbackClient`, which re-delivers after 5 s without an answer as WeCom
does. Any member id is accepted (residents enrolled from groups are in no roster); the robots and
their groups are the config's.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
from typing import Any

from cli.common import settings_from

log = logging.getLogger(__name__)


def cmd_simulator(args: argparse.Namespace) -> int:
    from web.server import QueueDepthLog
    from wecom.simulator import SimulatorState, create_simulator_app

    settings = settings_from(args)
    state = SimulatorState(
        corp_id=settings.wecom.corp_id,
        secret=settings.wecom.secret,
        agent_id=settings.wecom.agent_id,
        robot_keys={g.webhook_key for g in settings.groups if g.webhook_key},
        robot_chats={g.webhook_key: g.chat_id for g in settings.groups if g.webhook_key},
    )
    from waitress import create_server

    server = create_server(create_simulator_app(state), host=args.host, port=args.port,
                           threads=args.threads, ident="WeCom-simulator")
    server.task_dispatcher.queue_logger = QueueDepthLog()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the simulator", signum)
        server.close()

    signal.signal(signal.SIGTERM, on_signal)
    print(f"WeCom simulator on http://{args.host}:{args.port} (corp {state.corp_id}, agent "
          f"{state.agent_id}); point WECOM_API_BASE at it", flush=True)
    with contextlib.suppress(KeyboardInterrupt, OSError):  # OSError: closed by SIGTERM
        server.run()
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``simulator`` on bot.py's sub-parsers."""
    simulator = sub.add_parser("simulator", help="run the WeCom simulator (WeCom's API as a "
                                                 "local server) for multi-process test "
                                                 "deployments")
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=9000)
    simulator.add_argument("--threads", type=int, default=16, help="request threads")
    simulator.set_defaults(func=cmd_simulator)
