"""GridBot (网格通) command line: run the bot, its clocks and its tools.

Installed (``pip install .``), the same command line is ``gridbot``::

    python bot.py demo                 # embedded default: SQLite + WeCom simulator + chat page
    python bot.py serve --port 8080    # production web server (waitress) for WeCom callbacks
    python bot.py db upgrade           # apply database migrations
    python bot.py check-config         # validate config.yaml and say what is wrong
    python bot.py check-config --schema FILE   # its JSON schema, for editors
    python bot.py simulator --port 9000        # the WeCom simulator alone (test deployments)

Every command reads ``--config`` (default: $GRIDBOT_CONFIG, else config.yaml beside this file in
the source tree, else config.yaml in the current folder);
a bad config stops start-up with every key that is wrong and the reason, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cli.common import settings_from
from cli.logs import configure_logging
from settings import ConfigError, config_schema
from settings.environment import Environment

HERE = Path(__file__).resolve().parent
log = logging.getLogger("gridbot")

# Feature modules that add sub-commands: each has ``add_commands(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "cli.rules", "cli.scheduling", "cli.report", "cli.api_tokens", "cli.simulator", "cli.seed",
)


def cmd_check_config(args: argparse.Namespace) -> int:
    if args.schema:
        text = json.dumps(config_schema(), ensure_ascii=False, indent=2) + "\n"
        if args.schema == "-":
            sys.stdout.write(text)
        else:
            Path(args.schema).write_text(text, encoding="utf-8")
            print(f"JSON schema of the config written to {args.schema}")
        return 0
    settings = settings_from(args)
    from services.container import build_services

    services = build_services(settings)
    print(
        f"config OK: {settings.township}, {len(settings.grids)} grid nodes, "
        f"{len(settings.roster)} people, {len(settings.groups)} groups, "
        f"{len(services.classifier.rules.categories)} categories, "
        f"database {settings.database_url.split('://', 1)[0]}"
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from runtime.database import prepare_database

    prepare_database(settings, migrate=True)
    print("database upgraded to head; township roster synced from config")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)  # a bad config stops us before the product is loaded
    from runtime.build import build_runtime
    from runtime.database import prepare_database
    from schedules.runner import start_delivery, start_processing
    from web import create_app
    from web.server import for_database, serve

    engine = prepare_database(settings, migrate=args.migrate)
    runtime = build_runtime(settings, engine=engine)
    app = create_app(runtime)

    stoppers = []
    if args.process and args.router == "thread":
        stoppers.append(start_processing(runtime))
    elif args.process:  # a process of its own: routing keeps its share under any load
        from runtime.router_process import RouterProcess

        router = RouterProcess([sys.executable, str(Path(__file__).resolve()), "--config",
                                str(args.config), *(["-v"] if args.verbose else []), "worker",
                                "--threads", "0", "--wake-stdin"]).start()
        runtime.intake.on_record = router.wake
        stoppers.append(router.stop)
    if args.deliver:
        stoppers.append(start_delivery(runtime))
    print(f"GridBot serving on http://{args.host}:{args.port} (callbacks: /wecom/callback, "
          f"/wecom/aibot; console: /console)", flush=True)
    try:
        serve(app, host=args.host, port=args.port, threads=args.threads,
              options=for_database(settings.server, settings.database_url))
    finally:
        for stop in stoppers:
            stop()
        runtime.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    settings = settings_from(args)  # a bad config stops us before the product is loaded
    from runtime.demo import run_demo

    return run_demo(settings, host=args.host, port=args.port, database_url=args.database_url)


def default_config() -> Path:
    """$GRIDBOT_CONFIG; else the sample beside bot.py in the source tree; else ./config.yaml
    (installed, bot.py sits in site-packages with no config beside it)."""
    beside = HERE / "config.yaml"
    return Environment.read().config or (beside if beside.is_file() else Path("config.yaml"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="GridBot 网格通")  # prog: bot.py or gridbot
    parser.add_argument(
        "--config",
        default=str(default_config()),
        help="config file (default: $GRIDBOT_CONFIG or config.yaml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="run everything in one process: SQLite, the WeCom "
                                       "simulator, the scheduler and a chat page")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--database-url", default=None,
                      help="default: a fresh SQLite file under instance/")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="production web server for the WeCom callbacks")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    # Each callback waits for its row's commit (a database round trip, a WAL write); 8 threads
    # overlap those waits and let concurrent callbacks share commits (bench/callback_load.py)
    serve.add_argument("--threads", type=int, default=None,
                       help="request threads (default: config server.threads; 8 on "
                            "PostgreSQL, 32 on SQLite)")
    serve.add_argument("--migrate", action="store_true", help="apply migrations at start")
    serve.add_argument("--no-process", dest="process", action="store_false",
                       help="only record messages; route them in `worker` processes")
    serve.add_argument("--router", choices=("process", "thread"), default="process",
                       help="route recorded messages in a child process (default: its own "
                            "interpreter, so routing keeps its share of the machine under a "
                            "flood of callbacks) or in a thread of this process")
    serve.add_argument("--deliver", action="store_true",
                       help="also deliver the outbox from this process (else run `scheduler`)")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="apply migrations, sync the roster").set_defaults(
        func=cmd_db_upgrade
    )

    check = sub.add_parser("check-config", help="validate config.yaml")
    check.add_argument("--schema", nargs="?", const="-", metavar="FILE",
                       help="print the JSON schema of config.yaml for editors (or write FILE)")
    check.set_defaults(func=cmd_check_config)

    for module in COMMAND_MODULES:
        _add_feature_commands(module, sub)
    return parser


def _add_feature_commands(module: str, sub: argparse._SubParsersAction) -> None:
    import importlib

    adder: Callable[[argparse._SubParsersAction], None] = importlib.import_module(
        module
    ).add_commands
    adder(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for message in error.messages():
            print(f"config error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
