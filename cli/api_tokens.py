"""``bot.py api-token``: the API's clients — one token per calling system, with its scopes.

    python bot.py api-token add 12345平台 --scopes tickets:read,tickets:write --source 12345 \\
        [--webhook-url https://…/gridbot-hook] [--rate-limit 300]
    python bot.py api-token list
    python bot.py api-token set 12345平台 --webhook-url https://…/hook [--new-secret] \\
        [--no-webhook] [--scopes …] [--rate-limit 300]
    python bot.py api-token revoke 12345平台        # (or its number)

``add`` prints the token (and the webhook secret) once: only the SHA-256 of the token is stored.
``set`` changes a live client's subscription, scopes or budget (a new webhook secret is printed
once); a lost token is replaced by revoking the client and adding a new one.
Legacy tokens in ``api.tokens`` / ``GRIDBOT_API_TOKENS`` keep working with every scope; replace
each with a client of its own and remove it from the config.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from cli.common import settings_from
from vocab import ALL_SCOPES


def _scopes(text: str) -> set[str]:
    scopes = {s.strip() for s in text.split(",") if s.strip()}
    unknown = scopes - ALL_SCOPES
    if unknown or not scopes:
        raise argparse.ArgumentTypeError(
            f"scopes must be among {', '.join(sorted(ALL_SCOPES))}; got {text!r}")
    return scopes


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text


def _session(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from runtime.database import prepare_database
    from store.db import make_session_factory, transaction

    engine = prepare_database(settings_from(args), migrate=False)
    return transaction(make_session_factory(engine))


def cmd_add(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from store.api_clients import add_client

    try:
        with _session(args) as session:
            made = add_client(session, name=args.name, scopes=args.scopes, source=args.source,
                              webhook_url=args.webhook_url, rate_limit=args.rate_limit)
            number = made.client.id
    except IntegrityError:
        print(f"a client named {args.name!r} exists already", file=sys.stderr)
        return 2
    print(f"client #{number} {args.name}: {' '.join(sorted(args.scopes))}"
          + (f", source {args.source}" if args.source else ""))
    print(f"token (shown once, store it now): {made.token}")
    if made.webhook_secret:
        print(f"webhook secret (shown once): {made.webhook_secret}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from store.api_clients import list_clients

    with _session(args) as session:
        rows = [(c.id, c.name, c.token_hint + "…", c.scopes, c.source or "—",
                 str(c.rate_limit or "默认"), c.webhook_url or "—",
                 "revoked " + c.revoked_at.isoformat(timespec="minutes") if c.revoked_at
                 else "active") for c in list_clients(session)]
    if not rows:
        print("no API clients (legacy tokens from the config are not listed)")
    for row in rows:
        print("  ".join(str(cell) for cell in row))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from store.api_clients import find_client
    from store.clock import utcnow

    with _session(args) as session:
        client = find_client(session, args.client)
        if client is None:
            print(f"no API client {args.client!r}", file=sys.stderr)
            return 2
        if client.revoked_at is None:
            client.revoked_at = utcnow()
        name = client.name
    print(f"revoked {name}: its token no longer works and its webhooks stop")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    import secrets

    from store.api_clients import find_client

    with _session(args) as session:
        client = find_client(session, args.client)
        if client is None or client.revoked_at is not None:
            print(f"no live API client {args.client!r}", file=sys.stderr)
            return 2
        new_secret = None
        if args.scopes is not None:
            client.scopes = " ".join(sorted(args.scopes))
        if args.rate_limit is not None:
            client.rate_limit = args.rate_limit or None
        if args.no_webhook:
            client.webhook_url = client.webhook_secret = None
        elif args.webhook_url is not None:
            client.webhook_url = args.webhook_url
            if client.webhook_secret is None or args.new_secret:
                client.webhook_secret = new_secret = secrets.token_urlsafe(32)
        elif args.new_secret and client.webhook_url:
            client.webhook_secret = new_secret = secrets.token_urlsafe(32)
        summary = (f"{client.name}: {client.scopes}, rate limit {client.rate_limit or '默认'}, "
                   f"webhook {client.webhook_url or '—'}")
    print(summary)
    if new_secret:
        print(f"webhook secret (shown once): {new_secret}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``api-token add|list|revoke`` on bot.py's sub-parsers."""
    tokens = sub.add_parser("api-token", help="API clients: tokens with scopes, webhooks")
    actions = tokens.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="a new client and its token (shown once)")
    add.add_argument("name", help="the calling system, e.g. 12345平台")
    add.add_argument("--scopes", type=_scopes, required=True,
                     help=f"comma-separated: {', '.join(sorted(ALL_SCOPES))}")
    add.add_argument("--source", help="the orders it speaks for (e.g. 12345): it hands in and "
                                      "acts on only those, and hears only of those")
    add.add_argument("--webhook-url", type=_url, help="POST status changes here, signed")
    add.add_argument("--rate-limit", type=int, help="requests per minute (default: "
                                                    "api.rate_limit_per_minute)")
    add.set_defaults(func=cmd_add)
    actions.add_parser("list", help="every client (tokens are never shown again)").set_defaults(
        func=cmd_list)
    change = actions.add_parser("set", help="change a client's scopes, rate limit or webhook")
    change.add_argument("client", help="its name or number")
    change.add_argument("--scopes", type=_scopes, help="replace its scopes")
    change.add_argument("--rate-limit", type=int, help="requests per minute (0: the default)")
    change.add_argument("--webhook-url", type=_url, help="subscribe (or move) its webhook")
    change.add_argument("--no-webhook", action="store_true", help="unsubscribe")
    change.add_argument("--new-secret", action="store_true", help="a new webhook secret")
    change.set_defaults(func=cmd_set)
    revoke = actions.add_parser("revoke", help="stop a client's token and webhooks")
    revoke.add_argument("client", help="its name or number")
    revoke.set_defaults(func=cmd_revoke)
