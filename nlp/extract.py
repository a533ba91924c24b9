"""Extraction of a building / unit / room address ("3栋2单元302") from a resident's message."""

from __future__ import annotations

import re

_NUM = r"(?:\d{1,3}|[一二三四五六七八九十]{1,3})"
_BUILDING = rf"(?:{_NUM}|[A-Za-z])(?:号楼|栋|幢|座|号(?=\s*{_NUM}\s*单元))"
_UNIT = rf"{_NUM}单元"
_ROOM = r"(?:\d{3,4}(?:室|号|房)?|\d{1,2}楼(?!道|梯|顶|下|上))"
_LOCATION = re.compile(
    rf"(?<![\d月])(?:{_BUILDING}\s*(?:{_UNIT})?\s*(?:{_ROOM}(?!\d))?|{_UNIT}\s*{_ROOM}(?!\d))"
)


def extract_location(text: str) -> str | None:
    """The first building/unit/room mention ("3栋2单元302", "12号楼", "2单元501室"), or None."""
    if not text:
        return None
    m = _LOCATION.search(text)
    if not m:
        return None
    return re.sub(r"\s+", "", m.group(0))
