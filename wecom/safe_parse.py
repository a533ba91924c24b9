"""Bounded parsing of what arrives on a callback: XML and JSON that cannot exhaust anything.

Everything here runs on bytes nobody has vouched for yet (the envelope is parsed before its
signature can be checked), so each parser bounds what it builds:

* XML: no DTD, no entity, no external reference (``defusedxml``), at most ``max_depth`` levels.
* JSON: at most ``max_depth`` levels of nesting — measured by a linear scan *before* the
  recursive decoder sees the text, so ``[[[[…`` never reaches it — integers of at most 20 digits
  (a uint64), finite numbers only (no ``NaN``, ``Infinity``, ``1e999``).

Anything outside those bounds raises :class:`MalformedMessage`, answered with 400.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from defusedxml import ElementTree as SafeET

MAX_INT_DIGITS = 20  # 18446744073709551615, the largest uint64
_JSON_SPECIALS = re.compile(r'[\[\]{}"\\]')


class MalformedMessage(ValueError):
    """The payload is not a message we can understand (answered with 400)."""


def parse_xml(text: str, max_depth: int = 3) -> dict[str, str]:
    """A flat dict of a WeCom XML document; DTDs and entities are refused, never expanded.

    Leaves of a nested element (e.g. ``SendLocationInfo``) are flattened to ``"Parent.Leaf"``;
    an element deeper than ``max_depth`` levels (the root being level 1) is refused.
    """
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as error:  # defusedxml raises several types; all mean "bad input"
        raise MalformedMessage(f"not acceptable XML: {type(error).__name__}") from None
    if root.tag != "xml":
        raise MalformedMessage("the root element must be <xml>")
    level: list[Any] = list(root)
    for _depth in range(2, max_depth + 1):
        level = [grandchild for child in level for grandchild in child]
    if level:
        raise MalformedMessage(f"XML nested deeper than {max_depth} levels")
    result: dict[str, str] = {}
    for child in root:
        if len(child):
            for leaf in child.iter():
                if leaf is not child and not len(leaf):
                    result[f"{child.tag}.{leaf.tag}"] = (leaf.text or "").strip()
        else:
            result[child.tag] = child.text or ""
    return result


def json_depth_within(text: str, max_depth: int) -> bool:
    """Whether no array or object in ``text`` is nested deeper than ``max_depth``.

    A linear scan over the characters that matter (brackets, quotes, backslashes), which stops
    at the first level too deep; brackets inside strings do not count.
    """
    depth = 0
    in_string = False
    skip_to = -1
    for found in _JSON_SPECIALS.finditer(text):
        at = found.start()
        if at < skip_to:
            continue
        char = text[at]
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedMessage(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise MalformedMessage("a number out of range")
    return value


def _no_constant(name: str) -> Any:
    raise MalformedMessage(f"{name} is not a JSON number")


def parse_json(text: str | bytes, max_depth: int = 8) -> Any:
    """The JSON value of ``text``, within the bounds above (else :class:`MalformedMessage`)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage("not UTF-8") from None
    if not json_depth_within(text, max_depth):
        raise MalformedMessage(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_int=_bounded_int, parse_float=_finite_float,
                          parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError):
        raise MalformedMessage("not JSON") from None
