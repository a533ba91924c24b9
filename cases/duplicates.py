"""Duplicate reports: the same problem told twice (two neighbours, or one impatient resident).

A new report is a duplicate of an open ticket when both are in the same grid and category, the
open ticket is at most ``WINDOW`` (48 hours) old, and the texts are similar: the Jaccard index of
their character bigrams (Han characters, letters and digits only, function characters such as
的 了 都 我 家 removed first) is at least ``THRESHOLD`` (0.5). Character bigrams need no word segmentation and are robust to the small rewordings of
chat ("楼道堆满杂物" / "楼道里堆满了杂物"). Pure: the caller supplies the candidates.

Finding the candidates is bounded by prefix filtering (:func:`prefix`): order every text's
bigrams one fixed way (by a hash, the same for every text); when two texts reach the threshold,
the first ``n - ceil(THRESHOLD·n) + 1`` bigrams of each share at least one bigram, and their
sizes are within ``THRESHOLD`` of each other (:func:`size_range`). So an open ticket is indexed
by its prefix only (``cases.duplicate_index``), and a new report looks up its own prefix: no
ticket that could reach the threshold is left out, and unrelated tickets are never read.
"""

from __future__ import annotations

import math
import re
import zlib
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


def _order(gram: str) -> tuple[int, str]:
    """The one fixed order of bigrams that prefixes are taken in (spread by a hash)."""
    return zlib.crc32(gram.encode("utf-8")), gram


def prefix(grams: frozenset[str], threshold: float = THRESHOLD) -> tuple[str, ...]:
    """The bigrams a text is indexed and looked up by: the first ``n - ceil(t·n) + 1`` of them
    in the fixed order. Two sets with Jaccard ≥ ``t`` share a bigram of their prefixes."""
    ordered = sorted(grams, key=_order)
    keep = len(ordered) - math.ceil(threshold * len(ordered) - 1e-9) + 1
    return tuple(ordered[:max(keep, 0)])


def size_range(size: int, threshold: float = THRESHOLD) -> tuple[int, int]:
    """The sizes of the bigram sets that can reach ``threshold`` with one of ``size``."""
    return math.ceil(threshold * size - 1e-9), math.floor(size / threshold + 1e-9)


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
