"""The simulator's world: configuration, failure switches and a thread-safe record of traffic.

Tests and the demo hold a :class:`SimulatorState`, hand it to ``create_simulator_app`` and then
read what WeCom "delivered" (``messages_for``, ``messages_for_chat`` …), what it silently dropped
over the per-member limits (``dropped``: tests assert it stays empty), which repeated
``message/send`` requests its duplicate check kept from being shown again (``repeated``) and every
call it answered (``calls``); ``cards`` shows each member's interactive cards as they look after updates.
Time is ``time.time()``, so time-machine moves token expiry, outages and rate windows.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from wecom.simulator.cards import CardBoard

DUPLICATE_CHECK_DEFAULT = 1800  # seconds: message/send's duplicate_check_interval default
DUPLICATE_CHECK_MAX = 4 * 3600  # "最大不超过4小时"


def _request_key(agent_id: int, body: dict[str, Any]) -> str:
    """The same request, whatever the order of its JSON keys."""
    return f"{agent_id}:" + json.dumps(body, sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":"))


@dataclass(frozen=True)
class Delivered:
    """One message WeCom delivered to one recipient (a member, a chat, a robot's group, a reply)."""

    channel: str  # app|appchat|webhook|response_url
    target: str  # user id, chat id, robot key or response code
    msgtype: str
    body: dict[str, Any]
    at: float
    msgid: str
    chat_id: str | None = None  # the group chat a robot or a smart-bot reply posted into

    @property
    def mentioned(self) -> list[str]:
        """User ids the message @-mentions (a robot's text ``mentioned_list``)."""
        part = self.body.get(self.msgtype)
        found = part.get("mentioned_list") if isinstance(part, dict) else None
        return [str(u) for u in found] if isinstance(found, list) else []

    @property
    def content(self) -> str:
        """The human-readable text of the message, whatever its type."""
        part = self.body.get(self.msgtype)
        if not isinstance(part, dict):
            return ""
        if "content" in part:
            return str(part["content"])
        if self.msgtype == "textcard":
            return f"{part.get('title', '')}\n{part.get('description', '')}"
        if self.msgtype == "template_card":
            title = part.get("main_title", {}) or {}
            desc = part.get("sub_title_text", "")
            return f"{title.get('title', '')}\n{title.get('desc', '')}\n{desc}".strip()
        return ""


@dataclass(frozen=True)
class Dropped:
    """A message WeCom accepted (errcode 0) but silently did not deliver: over a member's cap."""

    userid: str
    msgtype: str
    reason: str  # member_per_minute|member_per_hour
    at: float
    body: dict[str, Any]


@dataclass(frozen=True)
class Repeated:
    """A ``message/send`` WeCom answered (errcode 0) but did not deliver: the same request (the
    same JSON: content, recipients, app) with ``enable_duplicate_check`` came within its
    ``duplicate_check_interval`` of the first."""

    body: dict[str, Any]
    at: float
    msgid: str  # the first request's


@dataclass(frozen=True)
class Call:
    """One HTTP call the simulator answered (secrets removed from the query)."""

    method: str
    path: str
    params: dict[str, str]
    body: Any
    status: int
    errcode: int | None
    at: float


@dataclass
class _Failure:
    remaining: int
    errcode: int | None
    http_status: int | None
    path: str | None


@dataclass
class _Token:
    app_secret: str
    agent_id: int
    expires_at: float
    revoked_as: int | None = None  # 40014 or 42001 once invalidated on demand


@dataclass
class _OAuthCode:
    userid: str
    agent_id: int | None
    issued_at: float
    used: bool = False


@dataclass
class _ResponseCode:
    chat_id: str | None
    userid: str | None
    issued_at: float
    used: int = 0


@dataclass
class SimulatorState:
    """A fake WeCom corp: one or more apps, members, chats, robots, limits and failure switches.

    ``known_users``/``chats``/``robot_keys`` set to ``None`` accept any id; give sets to have the
    simulator answer ``invaliduser``, 86003 or 93000 for the others. ``visible_users`` is the
    app's visible range among the members (None: all of them): ``message/send`` to anyone outside
    it, or outside the corp, answers errcode 0 with them in ``invaliduser`` and delivers nothing
    to them, as WeCom does (``all_invalid_errcode`` 81013 makes it refuse a send in which nobody
    is valid instead). ``robot_chats`` binds a robot key to the group chat it posts into.
    """

    corp_id: str = "wwsimcorp0001"
    secret: str = "sim-app-secret"
    agent_id: int = 1000002
    token_ttl: int = 7200
    known_users: set[str] | None = None
    visible_users: set[str] | None = None
    chats: set[str] | None = None
    robot_keys: set[str] | None = None
    robot_chats: dict[str, str] = field(default_factory=dict)
    member_per_minute: int = 30
    member_per_hour: int = 1000
    robot_per_minute: int = 20
    max_users_per_send: int = 1000
    allowed_ips: set[str] | None = None
    all_invalid_errcode: int = 0  # 81013: refuse a send in which no recipient is valid
    response_url_single_use: bool = True
    hang_seconds: float = 10.0  # how long an outage in "hang" mode keeps a request waiting
    # seconds each answer is held after the work is done (a slow way back: the sender may time
    # out although WeCom delivered)
    answer_delay: float = 0.0
    cards: CardBoard = field(default_factory=CardBoard)  # interactive cards and their codes

    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _apps: dict[str, int] = field(default_factory=dict, repr=False)
    _tokens: dict[str, _Token] = field(default_factory=dict, repr=False)
    _outage_until: float | None = field(default=None, repr=False)
    _outage_mode: str = field(default="http503", repr=False)
    _failures: deque[_Failure] = field(default_factory=deque, repr=False)
    _delivered: list[Delivered] = field(default_factory=list, repr=False)
    _dropped: list[Dropped] = field(default_factory=list, repr=False)
    _calls: list[Call] = field(default_factory=list, repr=False)
    _member_times: dict[str, deque[float]] = field(
        default_factory=lambda: defaultdict(deque), repr=False
    )
    _robot_times: dict[str, deque[float]] = field(
        default_factory=lambda: defaultdict(deque), repr=False
    )
    _disabled_robots: set[str] = field(default_factory=set, repr=False)
    _response_codes: dict[str, _ResponseCode] = field(default_factory=dict, repr=False)
    _sent_requests: dict[str, tuple[float, str]] = field(default_factory=dict, repr=False)
    _repeated: list[Repeated] = field(default_factory=list, repr=False)
    _msg_seq: int = field(default=0, repr=False)
    _oauth_codes: dict[str, _OAuthCode] = field(default_factory=dict, repr=False)
    oauth_code_ttl: float = 300.0  # WeCom: a sign-in code is good for one use within 5 minutes

    def __post_init__(self) -> None:
        self._apps.setdefault(self.secret, self.agent_id)

    # -- configuration ----------------------------------------------------------------------

    def add_app(self, secret: str, agent_id: int) -> None:
        """Another self-built app of the same corp (its own secret, agent id and tokens)."""
        with self.lock:
            self._apps[secret] = agent_id

    def app_for_secret(self, secret: str) -> int | None:
        with self.lock:
            return self._apps.get(secret)

    def add_users(self, userids: Iterable[str]) -> None:
        with self.lock:
            if self.known_users is None:
                self.known_users = set()
            self.known_users.update(userids)

    def reachable_by_app(self, userid: str) -> bool:
        """A member of the corp within the app's visible range."""
        with self.lock:
            return (self.known_users is None or userid in self.known_users) and (
                self.visible_users is None or userid in self.visible_users)

    def disable_robot(self, key: str) -> None:
        """The robot is switched off in its group: webhook/send answers 93004."""
        with self.lock:
            self._disabled_robots.add(key)

    def robot_disabled(self, key: str) -> bool:
        with self.lock:
            return key in self._disabled_robots

    # -- failure injection ------------------------------------------------------------------

    def outage(
        self, seconds: float | None = None, *, until: float | None = None, mode: str = "http503"
    ) -> None:
        """Fail every call until ``until`` (epoch) or for ``seconds`` (forever if neither).

        ``mode``: ``http503`` (HTTP 503), ``busy`` (200 with errcode -1 system busy) or ``hang``
        (hold the request ``hang_seconds`` before answering -1: the sender's timeout fires).
        """
        if mode not in ("http503", "busy", "hang"):
            raise ValueError(f"unknown outage mode {mode!r}")
        with self.lock:
            if until is None:
                until = time.time() + seconds if seconds is not None else float("inf")
            self._outage_until = until
            self._outage_mode = mode

    def recover(self) -> None:
        """End an outage now."""
        with self.lock:
            self._outage_until = None

    def current_outage(self) -> str | None:
        """The outage mode in force now, or None."""
        with self.lock:
            if self._outage_until is not None and time.time() < self._outage_until:
                return self._outage_mode
            return None

    def fail_next(
        self,
        n: int = 1,
        errcode: int | None = -1,
        *,
        http_status: int | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``n`` calls (to paths ending with ``path``, if given) fail this way."""
        with self.lock:
            self._failures.append(_Failure(n, errcode, http_status, path))

    def take_failure(self, path: str) -> _Failure | None:
        with self.lock:
            for failure in self._failures:
                if failure.path is None or path.endswith(failure.path):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure
            return None

    def invalidate_tokens(self) -> None:
        """Every token issued so far answers 40014 invalid access_token from now on."""
        self._revoke(40014)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 access_token expired from now on."""
        self._revoke(42001)

    def _revoke(self, errcode: int) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.revoked_as = token.revoked_as or errcode

    # -- tokens -----------------------------------------------------------------------------

    def issue_token(self, secret: str) -> tuple[str, int]:
        """A valid token for the app of ``secret``: the current one while it lasts, as WeCom."""
        with self.lock:
            now = time.time()
            for value, token in self._tokens.items():
                if (
                    token.app_secret == secret
                    and token.revoked_as is None
                    and token.expires_at > now
                ):
                    return value, max(1, int(token.expires_at - now))
            value = secrets.token_urlsafe(48)
            self._tokens[value] = _Token(secret, self._apps[secret], now + self.token_ttl)
            return value, self.token_ttl

    def check_token(self, value: str | None) -> tuple[int, int | None]:
        """(errcode, agent id): 41001 missing, 40014 unknown/invalidated, 42001 expired."""
        if not value:
            return 41001, None
        with self.lock:
            token = self._tokens.get(value)
            if token is None:
                return 40014, None
            if token.revoked_as is not None:
                return token.revoked_as, None
            if token.expires_at <= time.time():
                return 42001, None
            return 0, token.agent_id

    # -- rate limits ------------------------------------------------------------------------

    def admit_member(self, userid: str, now: float) -> str | None:
        """Count one app message to ``userid``; the reason if WeCom would drop it, else None."""
        with self.lock:
            times = self._member_times[userid]
            while times and times[0] <= now - 3600:
                times.popleft()
            in_minute = sum(1 for t in times if t > now - 60)
            if in_minute >= self.member_per_minute:
                return "member_per_minute"
            if len(times) >= self.member_per_hour:
                return "member_per_hour"
            times.append(now)
            return None

    def admit_robot(self, key: str, now: float) -> bool:
        """Count one robot message; False when the robot is over its per-minute limit."""
        with self.lock:
            times = self._robot_times[key]
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.robot_per_minute:
                return False
            times.append(now)
            return True

    # -- message/send's duplicate check ----------------------------------------------------

    def earlier_send(self, agent_id: int, body: dict[str, Any], now: float) -> str | None:
        """The msgid of the same request sent within its duplicate check interval, when the
        request asks for the check (``enable_duplicate_check`` 1); None: deliver it.

        WeCom's documentation: with ``"enable_duplicate_check": 1`` a message with the same
        content (the request JSON) is not received again within ``duplicate_check_interval``
        seconds (default 1800, at most 4 hours). The interval is counted from the first send.
        The documentation does not show the answer to a repeat; the simulator answers it like
        the first (errcode 0, the first msgid) — an assumption; reports of repeats mention no error.
        """
        if str(body.get("enable_duplicate_check", 0)) != "1":
            return None
        try:
            interval = int(body.get("duplicate_check_interval") or DUPLICATE_CHECK_DEFAULT)
        except (TypeError, ValueError):
            interval = DUPLICATE_CHECK_DEFAULT
        interval = max(0, min(interval, DUPLICATE_CHECK_MAX))
        with self.lock:
            earlier = self._sent_requests.get(_request_key(agent_id, body))
            if earlier is not None and now - earlier[0] < interval:
                return earlier[1]
            return None

    def remember_send(self, agent_id: int, body: dict[str, Any], now: float, msgid: str) -> None:
        """A message/send was accepted: a repeat of it may be checked against it."""
        with self.lock:
            self._sent_requests[_request_key(agent_id, body)] = (now, msgid)

    def record_repeat(self, item: Repeated) -> None:
        with self.lock:
            self._repeated.append(item)

    @property
    def repeated(self) -> list[Repeated]:
        """Sends answered ok but not delivered again (the duplicate check)."""
        with self.lock:
            return list(self._repeated)

    # -- smart-bot reply URLs ---------------------------------------------------------------

    def new_response_url(
        self, base_url: str, *, chat_id: str | None = None, userid: str | None = None
    ) -> str:
        """A fresh response_url on this simulator, bound to the chat the message came from."""
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._response_codes[code] = _ResponseCode(chat_id, userid, time.time())
        query = urlencode({"response_code": code})
        return f"{base_url.rstrip('/')}/cgi-bin/aibot/response?{query}"

    def use_response_code(self, code: str) -> tuple[bool, str | None]:
        """(allowed, chat id) for one reply; a code is valid for one hour and, by default, once."""
        with self.lock:
            entry = self._response_codes.get(code)
            if entry is None:
                entry = self._response_codes[code] = _ResponseCode(None, None, time.time())
            if time.time() - entry.issued_at > 3600:
                return False, entry.chat_id
            if self.response_url_single_use and entry.used:
                return False, entry.chat_id
            entry.used += 1
            return True, entry.chat_id

    # -- sign-in (网页授权 / 扫码登录) ------------------------------------------------------------

    def issue_oauth_code(self, userid: str, agent_id: int | None = None) -> str:
        """The code WeCom appends to the redirect after ``userid`` signed in (or scanned)."""
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._oauth_codes[code] = _OAuthCode(userid, agent_id, time.time())
        return code

    def redeem_oauth_code(self, code: str) -> str | None:
        """The userid behind a sign-in code, once, within ``oauth_code_ttl`` (None: invalid)."""
        with self.lock:
            entry = self._oauth_codes.get(code)
            if entry is None or entry.used or time.time() - entry.issued_at > self.oauth_code_ttl:
                return None
            entry.used = True
            return entry.userid

    def is_member(self, userid: str) -> bool:
        with self.lock:
            return self.known_users is None or userid in self.known_users

    # -- records ----------------------------------------------------------------------------

    def next_msgid(self) -> str:
        with self.lock:
            self._msg_seq += 1
            return f"sim{self._msg_seq:010d}"

    def record_delivery(self, item: Delivered) -> None:
        with self.lock:
            self._delivered.append(item)

    def record_drop(self, item: Dropped) -> None:
        with self.lock:
            self._dropped.append(item)

    def record_call(self, item: Call) -> None:
        with self.lock:
            self._calls.append(item)

    @property
    def delivered(self) -> list[Delivered]:
        with self.lock:
            return list(self._delivered)

    @property
    def dropped(self) -> list[Dropped]:
        with self.lock:
            return list(self._dropped)

    @property
    def calls(self) -> list[Call]:
        with self.lock:
            return list(self._calls)

    def calls_to(self, path: str) -> list[Call]:
        """Calls whose path ends with ``path`` (e.g. ``"gettoken"``, ``"message/send"``)."""
        return [c for c in self.calls if c.path.endswith(path)]

    @property
    def token_fetches(self) -> int:
        """Successful gettoken calls."""
        return sum(1 for c in self.calls_to("gettoken") if c.errcode == 0)

    def messages_for(self, userid: str) -> list[Delivered]:
        """App messages delivered to member ``userid``, oldest first."""
        return [d for d in self.delivered if d.channel == "app" and d.target == userid]

    def messages_for_chat(self, chat_id: str) -> list[Delivered]:
        """Everything that reached group ``chat_id``: appchat, and bound smart-bot replies."""
        return [
            d
            for d in self.delivered
            if (d.channel == "appchat" and d.target == chat_id) or d.chat_id == chat_id
        ]

    def messages_for_robot(self, key: str) -> list[Delivered]:
        return [d for d in self.delivered if d.channel == "webhook" and d.target == key]

    def mentions_of(self, userid: str) -> list[Delivered]:
        """Group messages that @-mention ``userid`` (or everyone)."""
        return [d for d in self.delivered if userid in d.mentioned or "@all" in d.mentioned]

    def received(self) -> dict[str, dict[str, list[str]]]:
        """What each person and each group received, as text: ``{"people": {userid: […]},
        "groups": {chat id or robot key: […]}}`` — a person's list holds their app messages and
        the group messages that @-mention them (marked ``[群 …]``)."""
        people: dict[str, list[str]] = defaultdict(list)
        groups: dict[str, list[str]] = defaultdict(list)
        for item in self.delivered:
            if item.channel == "app":
                people[item.target].append(item.content)
                continue
            where = item.chat_id or item.target
            groups[where].append(item.content)
            for userid in item.mentioned:
                people[userid].append(f"[群 {where}] {item.content}")
        return {"people": dict(people), "groups": dict(groups)}

    def messages_for_response_url(self, url_or_code: str) -> list[Delivered]:
        code = url_or_code
        if "response_code=" in url_or_code:
            code = parse_qs(urlsplit(url_or_code).query).get("response_code", [""])[0]
        return [d for d in self.delivered if d.channel == "response_url" and d.target == code]

    def clear_records(self) -> None:
        """Forget deliveries, drops and calls (limits and tokens stay)."""
        with self.lock:
            self._delivered.clear()
            self._dropped.clear()
            self._calls.clear()
            self._repeated.clear()
