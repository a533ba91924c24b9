"""WeCom's callback crypto, shared by both channels and by the simulator's callback client.

One scheme serves the self-built app (XML, ReceiveId = the corp id) and the smart bot (JSON,
ReceiveId = ""): AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding
to 32 bytes, and plaintext = random16 ‖ len(msg) as 4 bytes big-endian ‖ msg ‖ receive_id. The
signature is SHA1 over the sorted concatenation of token, timestamp, nonce and the ciphertext.

The AES primitive is wechatpy's; decryption is re-implemented here so that bad padding, a wrong
length or a receive-id mismatch raise :class:`DecryptError` instead of returning garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct
import time

from wechatpy.crypto.base import WeChatCipher
from wechatpy.crypto.pkcs7 import PKCS7Encoder

BLOCK_SIZE = 32


class CryptoError(ValueError):
    """Anything wrong with a callback's signature or ciphertext."""


class SignatureError(CryptoError):
    """The msg_signature does not match token, timestamp, nonce and ciphertext."""


class DecryptError(CryptoError):
    """The ciphertext is not valid base64/AES/PKCS#7, or was made for another receive id."""


class ReceiveIdError(DecryptError):
    """The ciphertext decrypts, but was made for another corp (or channel): answered with 403."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from WeCom's 43-character EncodingAESKey."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("EncodingAESKey is not valid base64") from exc
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: SHA1 hex of the sorted, joined four strings."""
    parts = sorted([str(token), str(timestamp), str(nonce), str(encrypt)])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def verify(token: str, timestamp: str, nonce: str, encrypt: str, signature: str) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is right (constant-time compare)."""
    expected = sign(token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(expected, str(signature or "")):
        raise SignatureError("msg_signature mismatch")


def encrypt(encoding_aes_key: str, plaintext: str, receive_id: str) -> str:
    """Encrypt ``plaintext`` for ``receive_id``; returns base64 text."""
    key = aes_key(encoding_aes_key)
    msg = plaintext.encode("utf-8")
    body = secrets.token_bytes(16) + struct.pack(">I", len(msg)) + msg + receive_id.encode("utf-8")
    padded = PKCS7Encoder.encode(body)
    return base64.b64encode(WeChatCipher(key).encrypt(padded)).decode("ascii")


def decrypt(encoding_aes_key: str, b64: str, receive_id: str) -> str:
    """Decrypt WeCom's base64 ciphertext, checking padding, length and ``receive_id``."""
    key = aes_key(encoding_aes_key)
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise DecryptError("ciphertext is not valid base64") from exc
    if not raw or len(raw) % 16:
        raise DecryptError("ciphertext length is not a multiple of the AES block")
    try:
        plain = WeChatCipher(key).decrypt(raw)
    except Exception as exc:  # the backend's own errors are not part of our contract
        raise DecryptError("AES decryption failed") from exc
    pad = plain[-1]
    if pad < 1 or pad > BLOCK_SIZE or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad PKCS#7 padding")
    content = plain[16:-pad]
    if len(content) < 4:
        raise DecryptError("plaintext too short")
    (length,) = struct.unpack(">I", content[:4])
    if length > len(content) - 4:
        raise DecryptError("declared message length exceeds the plaintext")
    message = content[4 : 4 + length]
    from_id = content[4 + length :]
    if not hmac.compare_digest(from_id, receive_id.encode("utf-8")):
        raise ReceiveIdError("receive id mismatch")
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecryptError("message is not UTF-8") from exc


def nonce(length: int = 10) -> str:
    """A random nonce of letters and digits, as WeCom sends."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def timestamp() -> str:
    """The current Unix time as WeCom puts it in a query string."""
    return str(int(time.time()))


def random_aes_key() -> str:
    """A fresh 43-character EncodingAESKey (tests and the demo)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
