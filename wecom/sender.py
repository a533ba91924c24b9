"""Sending to WeCom: a wechatpy client with a configurable API base, and the outbox ``Sender``.

:class:`WeComClient` is wechatpy's enterprise ``WeChatClient`` with three changes: every URL,
gettoken included, starts at ``WeComSettings.api_base`` (so it can talk to the simulator); every
HTTP call has ``timeout_seconds``; the token lives in a shared :class:`~wecom.token_cache.TokenCache`
and on 40014/42001 it is refreshed once and the call retried once (wechatpy's own auto-retry is
off: it can recurse without end).

:class:`Sender` turns one outbox row into one WeCom call and says what happened as a
:class:`DeliveryResult`: ok, or failed for good (invaliduser, bad content), or worth retrying
later (45009/45033 limits, -1 busy, HTTP 5xx, timeouts) with a suggested back-off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from settings.model import WeComSettings
from wecom.token_cache import MemoryTokenCache, TokenCache

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40014, 42001})
# errcode -> suggested back-off (seconds); None lets the worker's exponential schedule decide.
RETRYABLE: dict[int, float | None] = {
    -1: None,  # system busy
    45009: 60.0,  # api freq out of limit: the window is a minute
    45033: 5.0,  # api concurrent out of limit
    40014: 5.0,  # still refused after one refresh
    42001: 5.0,
    40001: 300.0,  # invalid secret at gettoken: an admin may fix the configuration
    40013: 300.0,  # invalid corp id at gettoken
    60020: 300.0,  # IP not on the trusted list: an admin may add it
    48002: 300.0,  # API forbidden (permissions): an admin may grant it
}
OUTAGE_ERRORS = frozenset({-1})


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery attempt came to.

    ``outage`` marks failures that say WeCom itself is unreachable or busy (HTTP 5xx, timeouts,
    connection errors, -1): the worker stops its batch rather than hammer a service that is down.
    """

    ok: bool
    retryable: bool = False
    error: str | None = None
    backoff_seconds: float | None = None
    errcode: int | None = None
    outage: bool = False

    @classmethod
    def sent(cls, note: str | None = None) -> DeliveryResult:
        return cls(True, False, note)

    @classmethod
    def failed(cls, error: str, errcode: int | None = None) -> DeliveryResult:
        return cls(False, False, error, None, errcode)

    @classmethod
    def retry(
        cls,
        error: str,
        backoff: float | None = None,
        errcode: int | None = None,
        outage: bool = False,
    ) -> DeliveryResult:
        return cls(False, True, error, backoff, errcode, outage)


class OutgoingMessage(Protocol):
    """What the sender reads from an outbox row."""

    id: int
    channel: str
    target: str
    msgtype: str
    payload: dict[str, Any]


class EnvironmentOnce(requests.Session):
    """A session that reads the proxy settings of the environment once per host.

    ``requests`` reads them (``HTTPS_PROXY``, ``NO_PROXY``, the CA bundle variables) at every
    request by scanning the whole environment — half a millisecond here, a fifth of a send's CPU.
    A running process's environment does not change, so the first request to a host decides
    for the rest; explicit per-request settings are honoured as ``requests`` does.
    """

    def __init__(self) -> None:
        super().__init__()
        self._by_host: dict[tuple[str, str, Any, Any, Any], dict[str, Any]] = {}

    def merge_environment_settings(  # type: ignore[override]
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies:  # the caller's own proxies for this request: requests' way
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        found = self._by_host.get(key)
        if found is None:
            found = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._by_host[key] = found
        return {**found, "proxies": dict(found["proxies"])}


class WeComClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's enterprise client, pointed at ``settings.api_base``, with a shared token."""

    def __init__(
        self,
        settings: WeComSettings,
        cache: TokenCache | None = None,
        http: requests.Session | None = None,
    ) -> None:
        super().__init__(
            settings.corp_id, settings.secret, timeout=settings.timeout_seconds, auto_retry=False
        )
        self._http = http if http is not None else EnvironmentOnce()
        self.settings = settings
        self.api_base = settings.api_base.rstrip("/")
        self.API_BASE_URL = f"{self.api_base}/cgi-bin/"
        self.cache: TokenCache = cache or MemoryTokenCache()

    # -- the token --------------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, int]:
        """gettoken on our API base; raises WeChatClientException on any failure."""
        res = self._http.get(
            f"{self.api_base}/cgi-bin/gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, None, client=self, response=res) from exc
        try:
            data = res.json()
        except ValueError as exc:
            raise WeChatClientException(None, "gettoken answered no JSON", client=self) from exc
        if int(data.get("errcode", 0)) != 0:
            raise WeChatClientException(
                int(data["errcode"]), data.get("errmsg"), client=self, response=res
            )
        log.info("fetched a WeCom access token for %s", self.corp_id)
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    @property
    def access_token(self) -> str:
        return self.cache.get() or self.cache.refresh(self._fetch_token)

    def fetch_access_token(self) -> dict[str, Any]:
        """Replace the current token (wechatpy's hook; wechatpy's version ignores api_base)."""
        token = self.cache.refresh(self._fetch_token, stale=self.cache.get())
        return {"errcode": 0, "errmsg": "ok", "access_token": token}

    # -- calls ------------------------------------------------------------------------------

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One call; on 40014/42001 refresh the token once and retry once."""
        params = dict(kwargs.pop("params", None) or {})
        kwargs.setdefault("timeout", self.timeout)
        supplied = "access_token" in params
        token = params.get("access_token") or self.access_token
        params["access_token"] = token
        try:
            return super()._request(method, url_or_endpoint, params=dict(params), **kwargs)
        except WeChatClientException as exc:
            if supplied or exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("access token refused (%s); refreshing once", exc.errcode)
        params["access_token"] = self.cache.refresh(self._fetch_token, stale=token)
        return super()._request(method, url_or_endpoint, params=params, **kwargs)


def _body(row: OutgoingMessage) -> dict[str, Any]:
    """The WeCom message body of a row: its payload plus ``msgtype`` (addressing added later)."""
    body = dict(row.payload or {})
    body["msgtype"] = row.msgtype
    if row.msgtype not in body and "content" in body:  # tolerate {"content": …} for text types
        body[row.msgtype] = {"content": body.pop("content")}
    return body


def classify_errcode(errcode: int, errmsg: str | None) -> DeliveryResult:
    """A non-zero WeCom errcode as a result: retry later, or give up."""
    error = f"errcode {errcode}: {errmsg or ''}".strip()
    if errcode in RETRYABLE:
        return DeliveryResult.retry(
            error, RETRYABLE[errcode], errcode, outage=errcode in OUTAGE_ERRORS
        )
    return DeliveryResult.failed(error, errcode)


class Sender:
    """Delivers outbox rows: ``app`` (message/send), ``card_update``
    (message/update_template_card), ``appchat``, ``webhook``, ``response_url``."""

    def __init__(
        self,
        settings: WeComSettings,
        client: WeComClient | None = None,
        *,
        cache: TokenCache | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.http = http or EnvironmentOnce()
        self.client = client or WeComClient(settings, cache, self.http)

    def deliver(self, row: OutgoingMessage) -> DeliveryResult:
        """Send one row once (plus at most one token refresh and retry); never raises."""
        try:
            if row.channel == "app":
                return self._app(row)
            if row.channel == "card_update":
                return self._card_update(row)
            if row.channel == "appchat":
                return self._api_call("appchat/send", {**_body(row), "chatid": row.target})
            if row.channel == "webhook":
                return self._webhook(row)
            if row.channel == "response_url":
                return self._plain_post(row.target, _body(row))
            return DeliveryResult.failed(f"unknown channel {row.channel!r}")
        except requests.Timeout as exc:
            return DeliveryResult.retry(f"timeout: {type(exc).__name__}", outage=True)
        except requests.RequestException as exc:
            return DeliveryResult.retry(f"http error: {type(exc).__name__}", outage=True)
        except WeChatClientException as exc:
            return self._from_exception(exc)
        except Exception as exc:  # a bug must not lose the row: retry, visible in last_error
            log.exception("unexpected error delivering outbox row %s", getattr(row, "id", "?"))
            return DeliveryResult.retry(f"unexpected: {type(exc).__name__}: {exc}")

    # -- channels ---------------------------------------------------------------------------

    def _app(self, row: OutgoingMessage) -> DeliveryResult:
        users = [u for u in row.target.split("|") if u]
        if not users:
            return DeliveryResult.failed("no recipient")
        if len(users) > self.settings.max_users_per_send:
            return DeliveryResult.failed(
                f"{len(users)} recipients exceed {self.settings.max_users_per_send} per send"
            )
        body = {**_body(row), "touser": "|".join(users), "agentid": self.settings.agent_id}
        result = self.client.post("message/send", data=body)
        invalid = [u for u in str(result.get("invaliduser") or "").split("|") if u]
        if invalid and set(users) <= set(invalid):
            return DeliveryResult.failed(f"invaliduser: {'|'.join(invalid)}", 0)
        if invalid:
            return DeliveryResult.sent(f"partly delivered; invaliduser: {'|'.join(invalid)}")
        return DeliveryResult.sent()

    def _card_update(self, row: OutgoingMessage) -> DeliveryResult:
        """message/update_template_card for the members in ``target``: the payload holds the
        ``response_code`` and either ``button.replace_name`` or a whole ``template_card``.

        A refused code (spent, expired, unknown) is final: retrying cannot make it valid.
        """
        users = [u for u in row.target.split("|") if u]
        payload = dict(row.payload or {})
        if not users or not payload.get("response_code"):
            return DeliveryResult.failed("no recipient or no response_code")
        body = {**payload, "userids": users, "agentid": self.settings.agent_id}
        result = self.client.post("message/update_template_card", data=body)
        listed = result.get("invaliduser") or []
        invalid = listed.split("|") if isinstance(listed, str) else [str(u) for u in listed]
        if invalid:
            return DeliveryResult.sent(f"partly updated; invaliduser: {'|'.join(invalid)}")
        return DeliveryResult.sent()

    def _api_call(self, endpoint: str, body: dict[str, Any]) -> DeliveryResult:
        self.client.post(endpoint, data=body)
        return DeliveryResult.sent()

    def _webhook(self, row: OutgoingMessage) -> DeliveryResult:
        target = row.target
        if target.startswith(("http://", "https://")):
            return self._plain_post(target, _body(row))
        url = f"{self.client.api_base}/cgi-bin/webhook/send"
        return self._plain_post(url, _body(row), params={"key": target})

    def _plain_post(
        self, url: str, body: dict[str, Any], params: dict[str, str] | None = None
    ) -> DeliveryResult:
        """POST JSON without an access token (robots, smart-bot replies)."""
        res = self.http.post(url, params=params, json=body, timeout=self.settings.timeout_seconds)
        if res.status_code >= 500 or res.status_code == 429:
            return DeliveryResult.retry(f"HTTP {res.status_code}", outage=res.status_code >= 500)
        if res.status_code >= 400:
            return DeliveryResult.failed(f"HTTP {res.status_code}")
        try:
            data = res.json()
        except ValueError:
            return DeliveryResult.retry("answer is not JSON", outage=True)
        errcode = int(data.get("errcode", 0))
        if errcode:
            return classify_errcode(errcode, data.get("errmsg"))
        return DeliveryResult.sent()

    # -- errors -----------------------------------------------------------------------------

    def _from_exception(self, exc: WeChatClientException) -> DeliveryResult:
        if exc.errcode is None:  # an HTTP error status from the API or gettoken
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status is not None and 400 <= status < 500 and status != 429:
                return DeliveryResult.failed(f"HTTP {status}")
            return DeliveryResult.retry(f"HTTP {status or 'error'}", outage=True)
        errcode = int(exc.errcode)
        result = classify_errcode(errcode, str(exc.errmsg or ""))
        if errcode == 81013:  # WeCom's "nobody is valid": the invalid users are in the answer
            invalid = _answer_field(exc, "invaliduser")
            return DeliveryResult.failed(f"invaliduser: {invalid or '(all)'}", errcode)
        return result


def _answer_field(exc: WeChatClientException, name: str) -> str:
    response = getattr(exc, "response", None)
    try:
        return str(response.json().get(name) or "") if response is not None else ""
    except ValueError:
        return ""
