"""CLI sub-commands: ``scheduler``, ``worker`` and ``notice add|list|cancel|status``.

    python bot.py scheduler                 # the one scheduler (waits if another one leads)
    python bot.py worker --threads 2        # outbox delivery + inbox routing (as many as you like)
    python bot.py notice add --title 城乡居民医保缴费 --scope 全街道 --deadline 2026-12-31
    python bot.py notice add --title 安全巡查 --scope 东顺苑社区 --every "每周一 09:00" --body …
    python bot.py notice add --title 停水通知 --scope 西湖社区 --roles 网格员,居民 --body … [--at …]
    python bot.py notice list [--all] · notice cancel 5 · notice status 5
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from typing import Any

from cli.common import open_runtime

log = logging.getLogger(__name__)


def _wait_for_signal() -> threading.Event:
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop


def cmd_scheduler(args: argparse.Namespace) -> int:
    from schedules.scheduler import start_scheduler

    runtime = open_runtime(args)
    if args.log_jobs:  # one line per run of every job, naming its slot (quiet by default)
        logging.getLogger("apscheduler.executors").setLevel(logging.INFO)
    stop_event = _wait_for_signal()
    print("scheduler: waiting for the leader lock …", flush=True)
    stop = start_scheduler(runtime, wait_for_lock=False, poll_seconds=args.poll,
                           lock_ttl=args.lock_ttl)
    try:
        stop_event.wait()
    finally:
        stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from schedules.delivery import build_worker

    runtime = open_runtime(args)
    if args.nice:
        os.nice(args.nice)  # let the web processes answer WeCom first; routing can wait
    stop_event = _wait_for_signal()
    threads = []
    for n in range(args.threads):
        worker = build_worker(runtime)
        thread = threading.Thread(target=worker.run_forever, args=(stop_event,),
                                  name=f"outbox-{n}", daemon=True)
        thread.start()
        threads.append(thread)
    if args.inbox:
        wake = _wake_from_stdin(stop_event) if args.wake_stdin else None
        processor = threading.Thread(
            target=runtime.processor.run_forever, args=(stop_event, wake),
            kwargs={"idle": 1.0 if wake is not None else 0.2}, name="inbox", daemon=True,
        )
        processor.start()
        threads.append(processor)
    print(f"delivering the outbox with {args.threads} worker(s)"
          f"{' and routing the inbox' if args.inbox else ''}; Ctrl-C stops", flush=True)
    stop_event.wait()
    for thread in threads:
        thread.join(timeout=30)
    return 0


def _wake_from_stdin(stop: threading.Event) -> threading.Event:
    """Woken by each line on stdin (``serve``'s router process); stopped when stdin closes."""
    import sys

    wake = threading.Event()

    def read() -> None:
        stream = sys.stdin.buffer
        while stream.read1(4096):
            wake.set()
        log.info("stdin closed: stopping")
        stop.set()
        wake.set()

    threading.Thread(target=read, name="wake-stdin", daemon=True).start()
    return wake


def cmd_notice_add(args: argparse.Namespace) -> int:
    from cases.notice_policy import NoticeRuleError, parse_offsets, phrase_to_cron
    from notify.notice_forms import (
        confirmation,
        parse_date,
        parse_local_datetime,
        role_codes,
        scope_codes,
    )
    from notify.notice_service import NoticeDraft, create_notice
    from notify.wording import notices as T
    from store.db import transaction

    runtime = open_runtime(args)
    services = runtime.services
    try:
        with transaction(runtime.session_factory) as session:
            deadline = parse_date(args.deadline) if args.deadline else None
            kind, run_at, cron, text = "now", None, None, ""
            if args.every:
                kind, text = "cron", args.every
                cron = phrase_to_cron(args.every) if args.every.startswith("每") else args.every
            elif args.at:
                kind, text = "once", args.at
                run_at = parse_local_datetime(args.at, services)
            elif deadline is not None and not args.body:
                kind = "none"
            draft = NoticeDraft(
                title=args.title, body=args.body or "",
                audience={"grids": scope_codes(session, services, args.scope or ""),
                          "roles": role_codes(args.roles or ""),
                          "chats": [c for c in (args.chats or "").split(",") if c],
                          "users": [u for u in (args.users or "").split(",") if u]},
                kind=kind, run_at=run_at, cron=cron, schedule_text=text, deadline=deadline,
                reminders=parse_offsets(args.reminders) if deadline else (),
                urgent=args.urgent,
            )
            notice, plan = create_notice(session, services, draft, author=args.author,
                                         source="cli")
            print(confirmation(session, services, notice, plan))
    except NoticeRuleError as error:
        print(T.error_text(error.code, error.detail))
        return 2
    return 0


def cmd_notice_list(args: argparse.Namespace) -> int:
    from notify.notice_forms import scope_label, when_label
    from notify.notice_service import list_notices
    from notify.wording import notices as T
    from store.db import transaction

    runtime = open_runtime(args)
    with transaction(runtime.session_factory) as session:
        notices = list_notices(session, include_finished=args.all)
        if not notices:
            print(T.NO_NOTICES)
        for n in notices:
            print(T.LIST_LINE.format(id=n.id, title=n.title, when=when_label(n, runtime.services),
                                     scope=scope_label(session, n))
                  + f" [{T.STATUS_WORDS.get(n.status, n.status)}]")
    return 0


def cmd_notice_cancel(args: argparse.Namespace) -> int:
    from notify.notice_service import NoticeNotFound, cancel_notice, get_notice
    from notify.wording import notices as T
    from store.db import transaction

    runtime = open_runtime(args)
    with transaction(runtime.session_factory) as session:
        try:
            notice = get_notice(session, args.id)
        except NoticeNotFound:
            print(T.NOT_FOUND.format(id=args.id))
            return 1
        withdrawn = cancel_notice(session, args.id)
        print(T.CANCELLED.format(id=args.id, title=notice.title, pending=withdrawn))
    return 0


def cmd_notice_status(args: argparse.Namespace) -> int:
    from notify.notice_forms import status_text
    from notify.notice_service import NoticeNotFound, notice_status
    from notify.wording import notices as T
    from store.db import transaction

    runtime = open_runtime(args)
    with transaction(runtime.session_factory) as session:
        try:
            status = notice_status(session, args.id)
        except NoticeNotFound:
            print(T.NOT_FOUND.format(id=args.id))
            return 1
        print(status_text(status))
        for run in status.runs:
            print(T.STATUS_RUN.format(
                run_key=run.run_key,
                slot=runtime.services.calendar.local(run.scheduled_for).strftime("%Y-%m-%d %H:%M"),
                deliver_at=runtime.services.calendar.local(run.deliver_at).strftime(
                    "%Y-%m-%d %H:%M"),
                recipients=run.recipients))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``scheduler``, ``worker`` and ``notice`` on bot.py's sub-parsers."""
    scheduler = sub.add_parser("scheduler", help="run the one scheduler (notices, reminders, "
                                                 "delivery; waits while another one leads)")
    scheduler.add_argument("--lock-ttl", type=float, default=None, metavar="SECONDS",
                           help="how long the leader lock outlives a dead leader (default: 30 "
                                "with Redis, the session's life with a PostgreSQL advisory "
                                "lock, 30 with a lease row); a standby takes over within it "
                                "plus --poll")
    scheduler.add_argument("--poll", type=float, default=2.0, metavar="SECONDS",
                           help="how often a standby tries the lock (default 2)")
    scheduler.add_argument("--log-jobs", action="store_true",
                           help="log every job run with its scheduled time (INFO)")
    scheduler.set_defaults(func=cmd_scheduler)

    worker = sub.add_parser("worker", help="deliver the outbox and route recorded messages "
                                           "(no scheduled jobs)")
    worker.add_argument("--threads", type=int, default=1, help="delivery threads")
    worker.add_argument("--nice", type=int, default=0,
                        help="lower this process's CPU priority (e.g. 10) on shared hosts")
    worker.add_argument("--no-inbox", dest="inbox", action="store_false",
                        help="deliver only; leave routing to `serve` processes")
    worker.add_argument("--wake-stdin", action="store_true",
                        help="route when a line arrives on stdin, stop when it closes (the "
                             "router process `serve` starts)")
    worker.set_defaults(func=cmd_worker)

    notice = sub.add_parser("notice", help="township notices and deadline reminders")
    actions = notice.add_subparsers(dest="notice_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a notice (prints the plan)")
    add.add_argument("--title", required=True)
    add.add_argument("--body", default="", help="markdown")
    add.add_argument("--scope", default="", help="全街道, or grid names/codes separated by 、or ,")
    add.add_argument("--roles", default="", help="网格员,网格长,联户长,居民 … (default 网格长,网格员)")
    add.add_argument("--chats", default="", help="chat ids, comma separated")
    add.add_argument("--users", default="", help="user ids, comma separated")
    when = add.add_mutually_exclusive_group()
    when.add_argument("--at", help="send once at this local time: 2026-12-01 09:00")
    when.add_argument("--every", help="recurring: 每周一 09:00 / 每天 08:30 / a crontab")
    add.add_argument("--deadline", help="2026-12-31: reminders before it")
    add.add_argument("--reminders", default="7,3,1", help="working days before the deadline")
    add.add_argument("--urgent", action="store_true", help="ignore quiet hours and holidays")
    add.add_argument("--author", default="cli")
    add.set_defaults(func=cmd_notice_add)
    listing = actions.add_parser("list", help="notices in force")
    listing.add_argument("--all", action="store_true", help="include finished and cancelled")
    listing.set_defaults(func=cmd_notice_list)
    cancel = actions.add_parser("cancel", help="cancel a notice and its unsent messages")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(func=cmd_notice_cancel)
    status = actions.add_parser("status", help="targets, delivered, failed, pending")
    status.add_argument("id", type=int)
    status.set_defaults(func=cmd_notice_status)
