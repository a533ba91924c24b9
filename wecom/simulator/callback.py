"""The WeCom side that calls us: signs, encrypts and posts callbacks exactly as WeCom does.

:class:`CallbackClient` drives our ``/wecom/callback`` (app XML) and ``/wecom/aibot`` (smart bot
JSON) endpoints: URL verification, message delivery, and WeCom's retries — when our server has
not answered within ``answer_timeout`` (5 s at WeCom) the same bytes are posted again, up to
``max_deliveries`` (3) in all. Every delivery returns a :class:`CallbackDelivery` record.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from defusedxml import ElementTree as SafeET

from wecom import crypto
from wecom.simulator.payloads import _cdata, to_xml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One HTTP delivery of a callback."""

    number: int
    status: int | None  # None: no answer (timeout or connection error)
    body: str | None
    elapsed: float
    error: str | None = None


@dataclass
class CallbackDelivery:
    """All deliveries of one callback: WeCom keeps trying while our server does not answer."""

    plaintext: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.attempts)

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]

    @property
    def status(self) -> int | None:
        return self.last.status

    @property
    def body(self) -> str | None:
        return self.last.body

    @property
    def answered(self) -> bool:
        return self.last.status is not None


@dataclass(frozen=True)
class UrlCheck:
    """The result of WeCom's URL verification GET."""

    status: int
    body: str
    expected: str  # the plain echostr our server must return

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body == self.expected


class CallbackClient:
    """Plays WeCom calling our callback URLs for one channel (one Token + EncodingAESKey).

    ``corp_id`` is the ReceiveId: the corp id for the self-built app, ``""`` for the smart bot
    (``send_aibot_json`` always uses ``""``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        aes_key: str,
        corp_id: str,
        *,
        agent_id: int = 1000002,
        answer_timeout: float = 5.0,
        max_deliveries: int = 3,
        retry_on_5xx: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.aes_key = aes_key
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.answer_timeout = answer_timeout
        self.max_deliveries = max_deliveries
        self.retry_on_5xx = retry_on_5xx
        self.http = session or requests.Session()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def _query(self, encrypted: str, bad_signature: bool) -> dict[str, str]:
        ts, nonce = crypto.timestamp(), crypto.nonce()
        signature = crypto.sign(self.token, ts, nonce, encrypted)
        if bad_signature:
            signature = "0" * 40
        return {"msg_signature": signature, "timestamp": ts, "nonce": nonce}

    # -- URL verification -------------------------------------------------------------------

    def verify_url(
        self,
        path: str,
        *,
        receive_id: str | None = None,
        echostr: str | None = None,
        bad_signature: bool = False,
    ) -> UrlCheck:
        """GET ``path`` with an encrypted echostr; our server must answer it decrypted."""
        plain = echostr or str(time.time_ns())
        rid = self.corp_id if receive_id is None else receive_id
        encrypted = crypto.encrypt(self.aes_key, plain, rid)
        params = {**self._query(encrypted, bad_signature), "echostr": encrypted}
        res = self.http.get(self.url(path), params=params, timeout=self.answer_timeout)
        return UrlCheck(res.status_code, res.text, plain)

    # -- deliveries -------------------------------------------------------------------------

    def app_envelope(self, fields: dict[str, Any]) -> tuple[str, str]:
        """(plaintext XML, encrypted envelope XML) for app message ``fields``."""
        full = {"ToUserName": self.corp_id, **fields}
        full.setdefault("AgentID", self.agent_id)
        plaintext = to_xml(full)
        encrypted = crypto.encrypt(self.aes_key, plaintext, self.corp_id)
        envelope = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName>"
            f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
            f"<AgentID>{_cdata(str(self.agent_id))}</AgentID></xml>"
        )
        return plaintext, envelope

    def sealed(
        self, plaintext: str, *, json_envelope: bool = False, receive_id: str | None = None,
        bad_signature: bool = False,
    ) -> tuple[bytes, dict[str, str], str]:
        """(body, query, content type) of a callback carrying ``plaintext`` exactly as given.

        The app's XML envelope, or with ``json_envelope`` the smart bot's ``{"encrypt": …}``
        (whose ReceiveId is "" unless ``receive_id`` says otherwise): for sending odd payloads
        that the builders above would never make, correctly encrypted and signed.
        """
        rid = receive_id if receive_id is not None else ("" if json_envelope else self.corp_id)
        encrypted = crypto.encrypt(self.aes_key, plaintext, rid)
        params = self._query(encrypted, bad_signature)
        if json_envelope:
            return json.dumps({"encrypt": encrypted}).encode("utf-8"), params, "application/json"
        body = (f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName>"
                f"<Encrypt>{_cdata(encrypted)}</Encrypt></xml>")
        return body.encode("utf-8"), params, "text/xml; charset=utf-8"

    def send_plaintext(
        self, path: str, plaintext: str, *, json_envelope: bool = False
    ) -> CallbackDelivery:
        """Deliver ``plaintext`` as it is (see :meth:`sealed`), with WeCom's retries."""
        body, params, content_type = self.sealed(plaintext, json_envelope=json_envelope)
        return self.deliver(path, body, params, content_type, plaintext)

    def send_app_xml(
        self, path: str, fields: dict[str, Any], *, bad_signature: bool = False
    ) -> CallbackDelivery:
        """Encrypt ``fields`` as the app's XML message and deliver it, with WeCom's retries."""
        plaintext, envelope = self.app_envelope(fields)
        encrypted = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        params = self._query(encrypted, bad_signature)
        return self.deliver(
            path, envelope.encode("utf-8"), params, "text/xml; charset=utf-8", plaintext
        )

    def send_aibot_json(
        self, path: str, payload: dict[str, Any], *, bad_signature: bool = False
    ) -> CallbackDelivery:
        """Encrypt ``payload`` as a smart-bot callback (ReceiveId "") and deliver it."""
        plaintext = json.dumps(payload, ensure_ascii=False)
        encrypted = crypto.encrypt(self.aes_key, plaintext, "")
        params = self._query(encrypted, bad_signature)
        body = json.dumps({"encrypt": encrypted}).encode("utf-8")
        return self.deliver(path, body, params, "application/json", plaintext)

    def deliver(
        self,
        path: str,
        body: bytes,
        params: dict[str, str],
        content_type: str,
        plaintext: str = "",
    ) -> CallbackDelivery:
        """POST the same bytes until answered, at most ``max_deliveries`` times."""
        record = CallbackDelivery(plaintext)
        url = self.url(path)
        for number in range(1, self.max_deliveries + 1):
            started = time.monotonic()
            try:
                res = self.http.post(
                    url,
                    params=params,
                    data=body,
                    headers={"Content-Type": content_type},
                    timeout=self.answer_timeout,
                )
            except requests.RequestException as exc:
                elapsed = time.monotonic() - started
                record.attempts.append(Attempt(number, None, None, elapsed, type(exc).__name__))
                log.info("callback delivery %d to %s unanswered (%s)", number, path, exc)
                continue
            elapsed = time.monotonic() - started
            record.attempts.append(Attempt(number, res.status_code, res.text, elapsed))
            if not (self.retry_on_5xx and res.status_code >= 500):
                break
        return record

    # -- passive replies --------------------------------------------------------------------

    def decrypt_app_reply(self, text: str | None) -> str | None:
        """The plaintext XML of an encrypted passive reply, None for an empty answer."""
        if not text or not text.strip():
            return None
        root = SafeET.fromstring(text)
        encrypted = root.findtext("Encrypt") or ""
        crypto.verify(
            self.token,
            root.findtext("TimeStamp") or "",
            root.findtext("Nonce") or "",
            encrypted,
            root.findtext("MsgSignature") or "",
        )
        return crypto.decrypt(self.aes_key, encrypted, self.corp_id)

    def decrypt_aibot_reply(self, text: str | None) -> dict[str, Any] | None:
        """The decrypted JSON of a smart bot's passive reply, None for an empty answer."""
        if not text or not text.strip():
            return None
        data = json.loads(text)
        encrypted = data.get("encrypt", "")
        crypto.verify(
            self.token,
            str(data.get("timestamp", "")),
            str(data.get("nonce", "")),
            encrypted,
            data.get("msgsignature", ""),
        )
        result: dict[str, Any] = json.loads(crypto.decrypt(self.aes_key, encrypted, ""))
        return result
