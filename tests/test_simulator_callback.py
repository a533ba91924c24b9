"""The callback client signs and encrypts like WeCom, interoperates with wechatpy, and retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from defusedxml import ElementTree as SafeET
from flask import Flask, request
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import WeChatCrypto

from wecom import crypto
from wecom.simulator import CallbackClient, aibot_text, app_event, app_location, app_text
from wecom.simulator.app import serve_in_thread

TOKEN = "cb-token"
AES = crypto.random_aes_key()
CORP = "wwsimcorp0001"


class Ours:
    """A bare callback server built on wecom.crypto: verifies, decrypts, records, maybe stalls.

    A stalled request is answered when the test calls :meth:`unstall` (or after
    ``stall_seconds``), not after a fixed time: the client's timeouts are what is tested.
    """

    def __init__(self, stall_first: int = 0, stall_seconds: float = 30.0) -> None:
        self.stall_first = stall_first
        self.stall_seconds = stall_seconds
        self.received: list[str] = []
        self.answered = 0  # requests whose handler has returned
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.app = Flask("ours")
        self.app.add_url_rule("/cb", "cb", self.app_cb, methods=["GET", "POST"])
        self.app.add_url_rule("/bot", "bot", self.bot_cb, methods=["GET", "POST"])

    def _stall(self, plain: str) -> None:
        with self.lock:
            self.received.append(plain)
            count = len(self.received)
            release = self.release
        if count <= self.stall_first:
            release.wait(self.stall_seconds)

    def _answered(self) -> None:
        with self.lock:
            self.answered += 1

    def unstall(self) -> None:
        """Let every stalled request finish; later ones stall again."""
        with self.lock:
            release, self.release = self.release, threading.Event()
        release.set()

    def wait_answered(self, count: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.answered < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.answered >= count

    def _check(self, encrypted: str, receive_id: str) -> str:
        a = request.args
        crypto.verify(TOKEN, a["timestamp"], a["nonce"], encrypted, a["msg_signature"])
        return crypto.decrypt(AES, encrypted, receive_id)

    def app_cb(self) -> tuple[str, int]:
        try:
            if request.method == "GET":
                return self._check(request.args["echostr"], CORP), 200
            encrypted = SafeET.fromstring(request.get_data()).findtext("Encrypt") or ""
            plain = self._check(encrypted, CORP)
        except crypto.CryptoError:
            return "forbidden", 403
        self._stall(plain)
        self._answered()
        return "", 200

    def bot_cb(self) -> tuple[str, int]:
        try:
            if request.method == "GET":
                return self._check(request.args["echostr"], ""), 200
            plain = self._check(json.loads(request.get_data())["encrypt"], "")
        except crypto.CryptoError:
            return "forbidden", 403
        self._stall(plain)
        self._answered()
        return "", 200


@pytest.fixture
def ours() -> Iterator[tuple[Ours, str]]:
    server_app = Ours()
    base_url, stop = serve_in_thread(server_app.app)
    try:
        yield server_app, base_url
    finally:
        server_app.unstall()
        stop()


def test_crypto_interoperates_with_wechatpy():
    ours_cipher = crypto.encrypt(AES, "<xml><Content><![CDATA[下水道堵了]]></Content></xml>", CORP)
    sig = crypto.sign(TOKEN, "1700000000", "abc", ours_cipher)
    assert sig == _get_signature(TOKEN, "1700000000", "abc", ours_cipher)
    theirs = WeChatCrypto(TOKEN, AES, CORP)
    envelope = f"<xml><Encrypt><![CDATA[{ours_cipher}]]></Encrypt></xml>"
    assert "下水道堵了" in theirs.decrypt_message(envelope, sig, "1700000000", "abc")
    reply = theirs.encrypt_message("<xml>ok</xml>", "n1", "1700000001")
    encrypted = SafeET.fromstring(reply).findtext("Encrypt")
    assert crypto.decrypt(AES, encrypted, CORP) == "<xml>ok</xml>"


def test_decrypt_rejects_bad_input():
    good = crypto.encrypt(AES, "hello", "")
    with pytest.raises(crypto.DecryptError, match="receive id"):
        crypto.decrypt(AES, good, CORP)
    with pytest.raises(crypto.DecryptError):
        crypto.decrypt(AES, "not base64!!", "")
    with pytest.raises(crypto.DecryptError):
        crypto.decrypt(crypto.random_aes_key(), good, "")  # wrong key: padding/length garbage
    with pytest.raises(crypto.SignatureError):
        crypto.verify(TOKEN, "1", "2", good, "0" * 40)
    with pytest.raises(crypto.CryptoError):
        crypto.aes_key("short")


def test_url_verification_both_channels(ours):
    _, base = ours
    app_client = CallbackClient(base, TOKEN, AES, CORP)
    assert app_client.verify_url("/cb").ok
    assert app_client.verify_url("/cb", bad_signature=True).status == 403
    bot_client = CallbackClient(base, TOKEN, AES, "")
    assert bot_client.verify_url("/bot").ok


def test_app_xml_and_aibot_json_payloads(ours):
    server_app, base = ours
    client = CallbackClient(base, TOKEN, AES, CORP, agent_id=1000002)
    sent = client.send_app_xml("/cb", app_text("zhangsan", "门口]]>下水道堵了", msg_id=123456))
    assert sent.status == 200 and sent.count == 1
    root = SafeET.fromstring(server_app.received[-1])
    assert root.findtext("ToUserName") == CORP and root.findtext("FromUserName") == "zhangsan"
    assert root.findtext("Content") == "门口]]>下水道堵了" and root.findtext("MsgId") == "123456"
    assert root.findtext("AgentID") == "1000002"
    client.send_app_xml("/cb", app_event("zhangsan", "template_card_event", "接单 12",
                                         task_id="t12", card_type="button_interaction"))  # fmt: skip
    root = SafeET.fromstring(server_app.received[-1])
    assert root.findtext("Event") == "template_card_event" and root.findtext("TaskId") == "t12"
    assert root.findtext("MsgId") is None
    client.send_app_xml("/cb", app_location("zhangsan", 39.9, 116.4, "东顺苑"))
    assert SafeET.fromstring(server_app.received[-1]).findtext("Label") == "东顺苑"
    assert client.send_app_xml("/cb", app_text("x", "y"), bad_signature=True).status == 403

    bot = CallbackClient(base, TOKEN, AES, "")
    payload = aibot_text("lisi", "wrOgChat1", "路灯坏了", msgid="m-1")
    assert bot.send_aibot_json("/bot", payload).status == 200
    data = json.loads(server_app.received[-1])
    assert data["chatid"] == "wrOgChat1" and data["from"] == {"userid": "lisi"}
    assert data["text"]["content"] == "@网格通 路灯坏了" and data["chattype"] == "group"
    assert data["response_url"].startswith("https://")
    single = aibot_text("lisi", None, "查询", chattype="single")
    assert "chatid" not in single and single["text"]["content"] == "查询"


def test_redelivers_after_timeout_up_to_three_times(ours):
    server_app, base = ours
    server_app.stall_first = 2
    client = CallbackClient(base, TOKEN, AES, CORP, answer_timeout=0.3)
    record = client.send_app_xml("/cb", app_text("zhangsan", "第一条", msg_id=1))
    assert [a.status for a in record.attempts] == [None, None, 200]
    assert record.attempts[0].error == "ReadTimeout" and record.attempts[0].elapsed >= 0.3
    server_app.unstall()
    assert server_app.wait_answered(3)  # the stalled handlers have finished
    assert len(server_app.received) == 3 and len(set(server_app.received)) == 1  # same payload

    server_app.received.clear()
    server_app.stall_first = 10
    record = client.send_app_xml("/cb", app_text("zhangsan", "第二条", msg_id=2))
    assert record.count == 3 and not record.answered  # WeCom gives up after 3 deliveries
