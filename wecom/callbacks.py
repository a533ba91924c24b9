"""The two WeCom callback endpoints (a Flask blueprint): verify, decrypt, de-duplicate, hand on.

* ``/wecom/callback`` — the self-built app: XML, ReceiveId = corp id.
* ``/wecom/aibot``    — the smart bot: JSON ``{"encrypt": …}``, ReceiveId = "".

GET answers WeCom's URL verification with the decrypted echostr. POST parses only the envelope
before the signature is checked — a flat XML document or a one-level JSON object, bounded in
size and depth (``wecom.safe_parse``) — then verifies the signature (403 if wrong, or if the
message was made for another corp), decrypts, and validates the plaintext against its declared
shape (``wecom.shapes``; 400 for anything malformed). The normalised :class:`Incoming` goes to
the intake, which records it under a unique de-duplication key. The answer is an empty 200 as
soon as that commits, well inside WeCom's 5 s; replies leave through the outbox. A retry or a
concurrent copy of the same message hits the unique key and changes nothing. A well-formed
message of a type GridBot does not handle is recorded as unsupported and answered 200, so that
WeCom does not retry it. Bodies over 64 KiB are refused with 413 before they are read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flask import Blueprint, Response, current_app, request

from wecom import crypto
from wecom.inbound import Incoming, from_aibot_json, from_app_xml
from wecom.safe_parse import MalformedMessage, parse_json, parse_xml

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
APP_XML_DEPTH = 5  # <xml><SelectedItems><SelectedItem><OptionIds><OptionId> (a card's choices)


@dataclass(frozen=True)
class ChannelKeys:
    """What one callback channel needs to verify and decrypt."""

    token: str
    encoding_aes_key: str
    receive_id: str


class InFlight(Protocol):
    """Counts the callbacks being answered (work sharing the process may give way to them)."""

    def enter(self) -> None: ...

    def leave(self) -> None: ...


class Rejected(Exception):
    """A callback we refuse, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _query(name: str) -> str:
    value = request.args.get(name, "")
    if not value:
        raise Rejected(400, f"missing query parameter {name}")
    return value


def _verify_and_decrypt(keys: ChannelKeys, encrypted: str) -> str:
    signature, timestamp, nonce = _query("msg_signature"), _query("timestamp"), _query("nonce")
    try:
        crypto.verify(keys.token, timestamp, nonce, encrypted, signature)
    except crypto.SignatureError:
        raise Rejected(403, "bad signature") from None
    try:
        return crypto.decrypt(keys.encoding_aes_key, encrypted, keys.receive_id)
    except crypto.ReceiveIdError:
        raise Rejected(403, "message made for another corp") from None
    except crypto.CryptoError as error:
        raise Rejected(400, f"cannot decrypt: {error}") from None


def _read_body() -> bytes:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    if not body.strip():
        raise Rejected(400, "empty body")
    return body


def _app_message(keys: ChannelKeys, bot_name: str) -> Incoming:
    try:
        envelope = parse_xml(_read_body().decode("utf-8"), max_depth=2)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    encrypted = envelope.get("Encrypt", "").strip()
    if not encrypted:
        raise Rejected(400, "no <Encrypt> element")
    plaintext = _verify_and_decrypt(keys, encrypted)
    fields = parse_xml(plaintext, max_depth=APP_XML_DEPTH)
    return from_app_xml(fields, plaintext)


def _aibot_message(keys: ChannelKeys, bot_name: str) -> Incoming:
    try:
        envelope = parse_json(_read_body(), max_depth=1)
    except MalformedMessage:
        raise Rejected(400, "body is not a flat JSON object") from None
    encrypted = envelope.get("encrypt") if isinstance(envelope, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise Rejected(400, "no encrypt field")
    plaintext = _verify_and_decrypt(keys, encrypted)
    return from_aibot_json(plaintext, bot_name)


def make_blueprint(
    intake: Callable[[Incoming], str],
    app_keys: ChannelKeys,
    aibot_keys: ChannelKeys,
    bot_name: str,
    in_flight: InFlight | None = None,
) -> Blueprint:
    """The callback blueprint; ``intake`` records one message and returns what became of it.

    ``in_flight`` (optional) is told when a callback starts and ends, so that work sharing the
    process can give way to answering WeCom.
    """
    bp = Blueprint("wecom", __name__, url_prefix="/wecom")
    if in_flight is not None:
        bp.before_request(in_flight.enter)
        bp.teardown_request(lambda _error: in_flight.leave())

    def endpoint(keys: ChannelKeys, parse: Callable[[ChannelKeys, str], Incoming]) -> Response:
        try:
            if request.method == "GET":
                echo = _verify_and_decrypt(keys, _query("echostr"))
                return Response(echo, mimetype="text/plain")
            message = parse(keys, bot_name)
        except Rejected as rejected:
            log.info("callback rejected (%s): %s", rejected.status, rejected.reason)
            return Response(rejected.reason, status=rejected.status, mimetype="text/plain")
        except MalformedMessage as error:
            log.info("callback rejected (400): %s", error)
            return Response(str(error), status=400, mimetype="text/plain")
        outcome = intake(message)
        current_app.logger.debug("message %s: %s", message.dedup_key, outcome)
        return Response("", status=200, mimetype="text/plain")

    @bp.route("/callback", methods=["GET", "POST"])
    def app_callback() -> Response:
        return endpoint(app_keys, _app_message)

    @bp.route("/aibot", methods=["GET", "POST"])
    def aibot_callback() -> Response:
        return endpoint(aibot_keys, _aibot_message)

    return bp
