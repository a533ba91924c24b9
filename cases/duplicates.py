"""Duplicate reports: the same problem told twice (two neighbours, or one impatient resident).

A new report is a duplicate of an open ticket when both are in the same grid and category, the
open ticket is at most ``WINDOW`` (48 hours) old, and the texts are similar: the Jaccard index of
their character bigrams (Han characters, letters and digits only, function characters such as
的 了 都 我 家 removed first) is at least ``THRESHOLD`` (0.5). Character bigrams need no word segmentation and are robust to the small rewordings of
chat ("楼道堆满杂物" / "楼道里堆满了杂物"). Pure: the caller supplies the candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

WINDOW = timedelta(hours=48)
THRESHOLD = 0.5
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
#: Characters that carry no meaning of their own in a report; dropped before comparing.
FUNCTION_CHARS = frozenset("的了都我家里上在有是着呢吧啊呀很又还也就这那个们")


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the Han/alphanumeric runs of ``text`` (a lone character counts)."""
    grams: set[str] = set()
    kept = "".join(c for c in text.lower() if c not in FUNCTION_CHARS)
    for run in _KEEP.findall(kept):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def similarity(a: str, b: str) -> float:
    """Jaccard index of the bigram sets, 0.0 … 1.0 (0.0 when either text has none)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def best_match(
    text: str, candidates: Iterable[tuple[int, str]], threshold: float = THRESHOLD
) -> tuple[int, float] | None:
    """The most similar candidate ``(id, text)`` at or above ``threshold``: ``(id, score)``."""
    best: tuple[int, float] | None = None
    for ticket_id, other in candidates:
        score = similarity(text, other)
        if score >= threshold and (best is None or score > best[1]):
            best = (ticket_id, score)
    return best
