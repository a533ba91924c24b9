"""Fast jieba tokenisation: a faithful, allocation-light port of ``jieba.cut(text, HMM=False)``.

jieba's own generator pipeline costs ~40 µs per title; this port walks the same prefix
dictionary (the loaded ``jieba.Tokenizer.FREQ``, user dictionary included) with the same
maximum-probability route and tie-breaking, and returns ``(token, start)`` pairs for the Han /
alphanumeric blocks only (whitespace and punctuation are never rule terms).
"""

from __future__ import annotations

import logging
import math
import re
from functools import lru_cache
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)

# The same block and "English" patterns jieba uses for its default (non cut_all) mode.
_RE_HAN = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+")
_ENG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HAN_WORD = re.compile(r"^[\u4E00-\u9FD5]{2,}$")

Token = tuple[str, int]
_PREFIX = 1.0  # log probabilities are <= 0: these two markers cannot collide with one
_ABSENT = 2.0
_CACHE_MAX = 400_000


class Segmenter:
    """Segments text with one jieba dictionary; build after all words have been added."""

    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        tokenizer.check_initialized()
        self.tokenizer = tokenizer
        self.freq: dict[str, int] = tokenizer.FREQ
        self.refresh()

    def refresh(self) -> None:
        """Re-read the dictionary total (call after ``add_word``); drops the log-probability cache."""
        self.total = self.tokenizer.total
        self.logtotal = math.log(self.total)
        # fragment -> log P(word), or _PREFIX (a prefix of some word, not a word), or _ABSENT
        self._logp: dict[str, float] = {}

    def add_words(self, words: list[str]) -> int:
        """Add Han words that the dictionary lacks (keywords must come out as single tokens)."""
        added = 0
        for word in words:
            if _HAN_WORD.match(word) and not self.freq.get(word):
                self.tokenizer.add_word(word)
                added += 1
        if added:
            self.refresh()
        return added

    def _block(self, s: str, offset: int, out: list[Token]) -> None:
        cache = self._logp
        if len(cache) > _CACHE_MAX:
            cache.clear()
        cget = cache.get
        get = self.freq.get
        log = math.log
        logtotal = self.logtotal
        n = len(s)
        best = [0.0] * (n + 1)
        nxt = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            bval = -1e300
            bend = k + 1
            found = False
            i = k + 1
            frag = s[k]
            while True:
                lp = cget(frag)
                if lp is None:
                    f = get(frag)
                    lp = _ABSENT if f is None else (log(f) - logtotal if f else _PREFIX)
                    cache[frag] = lp
                if lp == _ABSENT:
                    break
                if lp != _PREFIX:
                    found = True
                    v = lp + best[i]
                    if v >= bval:  # jieba's max() over (value, end) prefers the longer word on ties
                        bval = v
                        bend = i
                if i >= n:
                    break
                i += 1
                frag = s[k:i]
            if not found:
                bval = -logtotal + best[k + 1]
                bend = k + 1
            best[k] = bval
            nxt[k] = bend
        x = 0
        buf_start = -1
        while x < n:
            y = nxt[x]
            if y == x + 1 and s[x] in _ENG:
                if buf_start < 0:
                    buf_start = x
            else:
                if buf_start >= 0:
                    out.append((s[buf_start:x], offset + buf_start))
                    buf_start = -1
                out.append((s[x:y], offset + x))
            x = y
        if buf_start >= 0:
            out.append((s[buf_start:n], offset + buf_start))

    def tokens(self, text: str) -> list[Token]:
        """``(token, start)`` for every jieba token of the Han/alphanumeric blocks of ``text``."""
        if self.tokenizer.total != self.total:  # another Segmenter added words to the dictionary
            self.refresh()
        out: list[Token] = []
        for m in _RE_HAN.finditer(text):
            self._block(m.group(), m.start(), out)
        return out

    def tokens_at(self, text: str, positions: list[int]) -> list[Token]:
        """Like :meth:`tokens`, but only for the blocks containing one of ``positions``.

        jieba segments each Han/alphanumeric block on its own, so the tokens of a block do not
        depend on the rest of the text: the classifier segments only the blocks where a keyword
        occurs as a substring.
        """
        if self.tokenizer.total != self.total:
            self.refresh()
        out: list[Token] = []
        pi = 0
        npos = len(positions)
        for m in _RE_HAN.finditer(text):
            start, end = m.span()
            while pi < npos and positions[pi] < start:
                pi += 1
            if pi == npos:
                break
            if positions[pi] < end:
                self._block(m.group(), start, out)
        return out

    def words(self, text: str) -> list[str]:
        """Just the tokens."""
        return [t for t, _ in self.tokens(text)]


@lru_cache(maxsize=8)
def _tokenizer(userdict: str | None, _mtime: float) -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.initialize()
    if userdict:
        tok.load_userdict(userdict)
    return tok


def get_segmenter(userdict: Path | None) -> Segmenter:
    """One loaded jieba dictionary per user dictionary (and its mtime) per process."""
    mtime = userdict.stat().st_mtime if userdict else 0.0
    return Segmenter(_tokenizer(str(userdict) if userdict else None, mtime))
