"""Fast jieba tokenisation: a faithful, allocation-light port of ``jieba.cut(text, HMM=False)``.

jieba's own generator pipeline costs ~40 µs per title; this port walks the same prefix
dictionary (the loaded ``jieba.Tokenizer.FREQ``, user dictionary included, plus the words the
segmenter itself adds) with the same maximum-probability route and tie-breaking, and returns
``(token, start)`` pairs for the Han / alphanumeric blocks only (whitespace and punctuation are
never rule terms). The loaded jieba dictionary is shared read-only; a :class:`Segmenter` never
changes once built, so one classifier's words cannot change another's splits.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

# jieba is imported when the first dictionary is loaded (~0.4 s of start-up): a command that
# classifies nothing (``bot.py --help``, a config check that fails) never pays for it.
if TYPE_CHECKING:
    import jieba

# The same block and "English" patterns jieba uses for its default (non cut_all) mode.
_RE_HAN = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+")
_ENG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HAN_WORD = re.compile(r"^[\u4E00-\u9FD5]{2,}$")

Token = tuple[str, int]
_PREFIX = 1.0  # log probabilities are <= 0: these two markers cannot collide with one
_ABSENT = 2.0
_CACHE_MAX = 400_000


class Segmenter:
    """Segments text with a loaded jieba dictionary plus words of its own; immutable once built.

    The jieba dictionary (a ``jieba.Tokenizer``, user dictionary loaded) is shared by every
    segmenter made from it and never changed. The words a segmenter adds -- as
    ``Tokenizer.add_word`` would, with the frequency jieba suggests -- live in an overlay of its
    own, so building one classifier never changes how another splits text. The log-probability
    cache is per segmenter too, seeded with the overlay so that lookups stay one dict probe.
    """

    def __init__(self, tokenizer: jieba.Tokenizer, words: Iterable[str] = ()) -> None:
        tokenizer.check_initialized()
        self.tokenizer = tokenizer
        self._base: dict[str, int] = tokenizer.FREQ  # shared: read, never written
        self._added: dict[str, int] = {}  # words and new prefixes -> frequency (0 for a prefix)
        self.total: int = tokenizer.total
        self._reset_cache()
        for word in words:
            if _HAN_WORD.match(word) and not self._freq(word):
                self._add(word)
        self.words_added: tuple[str, ...] = tuple(w for w, f in self._added.items() if f)

    def with_words(self, words: Iterable[str]) -> Segmenter:
        """A segmenter that also has ``words`` as single tokens (Han words of two or more
        characters that it lacks); this one is left as it is."""
        new = [w for w in words if _HAN_WORD.match(w) and not self._freq(w)]
        return Segmenter(self.tokenizer, self.words_added + tuple(new)) if new else self

    def _freq(self, word: str) -> int | None:
        f = self._added.get(word)
        return self._base.get(word) if f is None else f

    def _add(self, word: str) -> None:
        """``jieba.Tokenizer.add_word(word)`` on the overlay: the suggested frequency (which
        lets the word be cut out whole), the total, and the word's prefixes."""
        ftotal = float(self.total)
        p = 1.0
        for token, _ in self.tokens(word):
            f = self._freq(token)
            p *= (1 if f is None else f) / ftotal
        known = self._freq(word)
        freq = max(int(p * self.total) + 1, 1 if known is None else known)
        self._added[word] = freq
        self.total += freq
        for i in range(1, len(word)):
            if self._freq(word[:i]) is None:
                self._added[word[:i]] = 0
        self._reset_cache()

    def _reset_cache(self) -> None:
        """Log probabilities for the current total: the overlay's now, the rest as looked up."""
        self.logtotal = logtotal = math.log(self.total)
        # fragment -> log P(word), or _PREFIX (a prefix of some word, not a word), or _ABSENT
        self._seed: dict[str, float] = {
            w: math.log(f) - logtotal if f else _PREFIX for w, f in self._added.items()
        }
        self._logp: dict[str, float] = dict(self._seed)

    def _block(self, s: str, offset: int, out: list[Token]) -> None:
        cache = self._logp
        if len(cache) > _CACHE_MAX:
            # a fresh dict, not clear(): a thread still reading the old one sees correct entries
            self._logp = cache = dict(self._seed)
        cget = cache.get
        get = self._base.get  # the overlay is in the cache: it is seeded and never evicted
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
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    if userdict:
        tok.load_userdict(userdict)
    return tok


def get_segmenter(userdict: Path | None) -> Segmenter:
    """A segmenter over the jieba dictionary plus ``userdict``, loaded once per process (per
    user dictionary and its mtime) and shared read-only by every segmenter made from it."""
    mtime = userdict.stat().st_mtime if userdict else 0.0
    return Segmenter(_tokenizer(str(userdict) if userdict else None, mtime))
