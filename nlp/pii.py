"""Masking of personal data (phone numbers, ID card numbers) in text a group or a log can read.

Chinese text has no word boundaries, so ``\\b`` never works here ("电话13812345678" has none);
digit look-arounds make sure a number is not part of a longer digit run (ticket #12, dates and
order numbers stay untouched). A ``\\uXXXX`` escape before a number also starts it: JSON written
with ``ensure_ascii`` (SQL parameters, payloads in logs) turns "身份证1101…" into "\\u8bc11101…".
"""

from __future__ import annotations

import re

# The start of a number: no letter or digit before it (digits only, for phones), or an escape.
_ESCAPED = r"(?<=\\u[0-9a-fA-F]{4})"
_START = rf"(?:{_ESCAPED}|(?<![0-9A-Za-z]))"
_PHONE_START = rf"(?:{_ESCAPED}|(?<!\d))"
# 18-digit resident ID (last may be X) or the old 15-digit one; birth month/day sanity-checked.
_ID18 = re.compile(_START + r"(\d{6})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})([\dXx])(?![0-9A-Za-z])")
_ID15 = re.compile(_START + r"(\d{6})(\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally +86 and separated 3-4-4 by a space or hyphen.
_PHONE = re.compile(_PHONE_START + r"((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Landlines with an area code: 0571-88886666 / 010-12345678.
_LANDLINE = re.compile(_PHONE_START + r"(0\d{2,3})-(\d{3,4})(\d{4})(?!\d)")


def _mask_id18(m: re.Match[str]) -> str:
    full = m.group(0)
    return full[:6] + "*" * 8 + full[-4:]


def _mask_id15(m: re.Match[str]) -> str:
    full = m.group(0)
    return full[:6] + "*" * 5 + full[-4:]


def mask_pii(text: str) -> str:
    """Mask phones as ``138****5678`` and IDs as ``110105********1234`` (15-digit: 6+5*+4)."""
    if not text or not any(c.isdigit() for c in text):
        return text
    text = _ID18.sub(_mask_id18, text)
    text = _ID15.sub(_mask_id15, text)
    text = _PHONE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _LANDLINE.sub(lambda m: m.group(1) + "-" + "*" * len(m.group(2)) + m.group(3), text)


def find_phones(text: str) -> list[str]:
    """The mobile numbers in ``text`` as 11 digits (separators removed, +86 dropped)."""
    out = []
    for m in _PHONE.finditer(text):
        head = re.sub(r"\D", "", m.group(1))[-3:]
        out.append(head + m.group(2) + m.group(3))
    return out
