"""The classifier: chatter filter, weighted keyword/phrase scoring, negation, urgency, FAQ.

What a message is (``Classification.kind``): ``chatter`` (收到, 👍, greetings), ``closing`` (a
remark that closes a matter: 水管修好了，谢谢你们), ``faq`` (a policy question the FAQ answers),
``unclear`` (short, no category and no request cue: nobody is asked to do anything), or
``request`` (a ticket). A request no category reaches is ``other`` and ``unsure``: the centre
classifies it.

Everything that can be precomputed is built once in :class:`Classifier` (token and substring
dictionaries over all rule terms); ``classify`` then does one jieba segmentation and one
sliding-window dictionary scan of the text, no regex compiles and no per-category loops over terms.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nlp.texts as texts
from nlp.faq import Faq, FaqAnswer, load_faq
from nlp.rules import TIERS, RuleSet, load_rules
from nlp.tokenize import Segmenter, get_segmenter

__all__ = ["Classification", "Classifier", "FaqAnswer", "load_classifier", "DEFAULT_RULES",
           "DEFAULT_FAQ", "DEFAULT_USERDICT"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT / "rules" / "categories.yaml"
DEFAULT_FAQ = ROOT / "rules" / "faq.yaml"
DEFAULT_USERDICT = Path(__file__).resolve().parent / "userdict.txt"

_STICKER = re.compile(r"\[[^\[\]\s]{1,6}\]")
_NOISE = re.compile(r"[\W_]+")  # punctuation, emoji, symbols, spaces
_CLAUSE = frozenset("，。！？；,.!?;\n\r、 \t…~～")
_EXPLAIN_TERMS = 12  # terms per category kept in an explanation
_CHATTER_SCAN = 40  # longer messages are never searched for chatter terms
_HAN_OR_ALNUM = re.compile(r"[\u4E00-\u9FFFa-zA-Z0-9]")
_NOT_BEFORE = frozenset("没未不")  # 没修好了 / 未解决 / 不好了 are no "fixed" remarks


@dataclass(frozen=True)
class Classification:
    """What the classifier decided about one message, with its explanation."""

    kind: str  # "chatter" | "closing" | "unclear" | "faq" | "request"
    category: str  # code; "other" below threshold; "" unless a request
    second_category: str | None
    score: float
    urgent: bool
    urgent_terms: tuple[str, ...]
    tier: str
    department: str | None
    faq: FaqAnswer | None
    explanation: dict[str, Any] = field(default_factory=dict)
    unsure: bool = False  # a request no category reached: the centre decides what it is

    @property
    def opens_ticket(self) -> bool:
        """Whether this message should become a ticket."""
        return self.kind == "request"

    def explain_text(self) -> str:
        """Short Chinese explanation for staff: "市政设施 3.5：下水道(+2.0) 堵(+1.5)"."""
        ex = self.explanation
        if self.kind == "chatter":
            return texts.CHATTER
        if self.kind == "closing":
            return texts.CLOSING
        if self.kind == "unclear":
            return texts.UNCLEAR
        if self.kind == "faq" and self.faq:
            return f"{texts.FAQ}：{self.faq.question}"
        names: dict[str, str] = ex.get("names", {})
        parts = []
        for code in (self.category, self.second_category):
            if not code:
                continue
            terms = ex.get("matched", {}).get(code, [])
            top = sorted(terms, key=lambda t: -abs(t[1]))[:6]
            shown = " ".join(f"{t}({w:+.1f})" for t, w in top) or texts.NO_MATCH
            score = ex.get("scores", {}).get(code, 0.0)
            prefix = texts.SECOND if code == self.second_category else ""
            parts.append(f"{prefix}{names.get(code, code)} {score:.1f}：{shown}")
        if self.category == "other" and (ex.get("unsure") or ex.get("below_threshold")):
            parts.append(texts.BELOW_THRESHOLD)
        if ex.get("negated"):
            parts.append(f"{texts.NEGATED}：" + " ".join(ex["negated"]))
        if self.urgent:
            parts.append(f"{texts.URGENT}：" + " ".join(self.urgent_terms))
        return "；".join(parts)


class _Sub:
    """Everything a substring of the text can mean to the rules."""

    __slots__ = ("hits", "negative", "urgent", "cue", "tiers", "active", "keyword")

    def __init__(self) -> None:
        self.active = False
        self.keyword = False  # some category has this as a (token) keyword
        self.hits: list[tuple[int, float]] | tuple[tuple[int, float], ...] = []
        self.negative: list[int] = []
        self.urgent = False
        self.cue = False
        self.tiers: list[tuple[int, int]] = []


class Classifier:
    """Classifies resident messages with a rule set (and an optional FAQ)."""

    def __init__(self, rules: RuleSet, segmenter: Segmenter, faq: Faq | None = None,
                 threshold: float | None = None) -> None:
        self.rules = rules
        self.faq = faq
        self.threshold = rules.threshold if threshold is None else float(threshold)
        self._codes = rules.codes
        self._names = {c.code: c.name for c in rules.categories}
        self._bias = [c.bias for c in rules.categories]
        self._l2 = rules.normalise == "l2"
        # keywords must come out of jieba as single tokens: a segmenter of the classifier's own
        # (the one passed in is left as it is, and so is every other classifier's)
        self.segmenter = segmenter.with_words(k for c in rules.categories for k in c.keywords)
        tok: dict[str, list[tuple[int, float]]] = {}
        subs: dict[str, _Sub] = {}

        def sub(term: str) -> _Sub:
            s = subs.get(term)
            if s is None:
                s = subs[term] = _Sub()
            return s

        for i, c in enumerate(rules.categories):
            for term, w in c.keywords.items():
                tok.setdefault(term, []).append((i, w))
                sub(term).keyword = True
            for term, w in c.phrases.items():
                sub(term).hits.append((i, w))
            for term in c.negative:
                sub(term).negative.append(i)
            for tier, terms in c.tier_terms.items():
                for term in terms:
                    sub(term).tiers.append((i, TIERS.index(tier)))
        for term in rules.urgent_terms:
            sub(term).urgent = True
        for term in rules.negation_cues:
            sub(term).cue = True
        self._tok = {k: tuple(v) for k, v in tok.items()}
        for rec in subs.values():
            rec.hits = tuple(rec.hits)
            rec.active = bool(rec.hits or rec.negative or rec.urgent or rec.tiers)
        self._subs = subs
        pre2: dict[str, set[int]] = {}
        for k in subs:
            if len(k) >= 2:
                pre2.setdefault(k[:2], set()).add(len(k))
        # substrings are only looked up at positions whose two characters start some rule term
        self._pre2 = {p: tuple(sorted(ls)) for p, ls in pre2.items()}
        self._single = frozenset(k for k in subs if len(k) == 1)
        self._chatter = tuple(sorted(set(rules.chatter_terms), key=len, reverse=True))
        self._chatter_set = frozenset(rules.chatter_terms)
        self._chatter_del = {ord(ch): None for t in rules.chatter_terms for ch in t}
        self._max_leftover = rules.chatter_max_leftover
        self._request_re = _alternation(rules.request_cues)
        self._resolved_re = _alternation(rules.closing_resolved)
        self._thanks_re = _alternation(rules.closing_thanks)
        self._open_re = _alternation(rules.closing_open)
        self._window = rules.negation_window

    # -- helpers -------------------------------------------------------------------------------

    def category_name(self, code: str) -> str:
        """The display name of a category code ("facility" -> "市政设施")."""
        if code in self._names:
            return self._names[code]
        return "其他" if code == "other" else texts.UNKNOWN_CATEGORY

    def _leftover(self, text: str) -> str:
        """The text with stickers, emoji, punctuation and chatter terms removed."""
        s = _STICKER.sub("", text)
        s = _NOISE.sub("", s)
        if len(s) > _CHATTER_SCAN:
            return s
        # fast path: more than max_leftover Han/alphanumeric characters that occur in no chatter
        # term survive any removal of chatter terms, so the answer only needs to keep them
        rest = s.translate(self._chatter_del)
        if len(rest) > self._max_leftover and _HAN_OR_ALNUM.search(rest):
            return s
        if s in self._chatter_set:
            return ""
        for term in self._chatter:
            if term in s:
                s = s.replace(term, "")
                if not s:
                    break
        return s

    def has_request_cue(self, text: str) -> bool:
        """The message asks for something (麻烦, 能不能, 吗 …); always true without request cues."""
        return not self.rules.request_cues or self._request_re.search(text) is not None

    def _resolved(self, text: str) -> bool:
        """A "fixed" remark (修好了) not right after a negation (没修好了 is no such remark)."""
        for m in self._resolved_re.finditer(text):
            if text[max(0, m.start() - 1):m.start()] not in _NOT_BEFORE:
                return True
        return False

    def _closing(self, text: str, below: bool) -> bool:
        """A remark that closes a matter: fixed-and-thanks, or thanks with nothing asked."""
        if self._open_re.search(text) is not None:
            return False
        if self._resolved(text):
            return True
        if not below or self._thanks_re.search(text) is None:
            return False
        # 麻烦你了 thanks; it asks nothing: look for request cues outside the thanks
        return self._request_re.search(self._thanks_re.sub("", text)) is None

    def _negated(self, text: str, start: int, cue_ends: list[int]) -> bool:
        for e in cue_ends:
            if start - self._window <= e <= start and not any(ch in _CLAUSE for ch in text[e:start]):
                return True
        return False

    # -- the decision --------------------------------------------------------------------------

    def _match(self, text: str) -> tuple[list[float], list[tuple[str, tuple[tuple[int, float], ...]]],
                                          list[str], set[int], list[str], list[tuple[int, int]]]:
        """Scores plus the matched terms (each once), negated terms, excluded categories, urgency."""
        subs_get = self._subs.get
        n = len(text)
        cue_ends: list[int] = []
        found: list[tuple[int, _Sub, str]] = []
        kw_pos: list[int] = []
        pre2_get = self._pre2.get
        single = self._single
        for i in range(n):
            ch = text[i]
            if ch in single:
                rec = subs_get(ch)
                if rec.keyword:
                    kw_pos.append(i)
                if rec.cue:
                    cue_ends.append(i + 1)
                if rec.active:
                    found.append((i, rec, ch))
            lens = pre2_get(text[i:i + 2])
            if lens is None:
                continue
            for L in lens:
                j = i + L
                if j > n:
                    break
                rec = subs_get(text[i:j])
                if rec is not None:
                    if rec.keyword:
                        kw_pos.append(i)
                    if rec.cue:
                        cue_ends.append(j)
                    if rec.active:
                        found.append((i, rec, text[i:j]))

        scores = list(self._bias)
        terms: list[tuple[str, tuple[tuple[int, float], ...]]] = []
        negated: list[str] = []
        excluded: set[int] = set()
        urgent: list[str] = []
        tier_hits: list[tuple[int, int]] = []
        seen: set[str] = set()
        tok_get = self._tok.get
        # jieba only runs on the blocks where some keyword occurs as a substring (it then checks
        # word boundaries); positions are in increasing order
        for word, start in (self.segmenter.tokens_at(text, kw_pos) if kw_pos else ()):
            hits = tok_get(word)
            if hits is None or word in seen:
                continue
            seen.add(word)
            if cue_ends and self._negated(text, start, cue_ends):
                negated.append(word)
                continue
            terms.append((word, hits))
            for ci, w in hits:
                scores[ci] += w
        seen.clear()
        for start, rec, term in found:
            if term in seen:
                continue
            seen.add(term)
            if rec.negative:
                excluded.update(rec.negative)
            is_neg = bool(cue_ends) and self._negated(text, start, cue_ends)
            if rec.urgent and not is_neg:
                urgent.append(term)
            if rec.tiers:
                tier_hits.extend(rec.tiers)
            if rec.hits:
                if is_neg:
                    negated.append(term)
                    continue
                terms.append((term, rec.hits))
                for ci, w in rec.hits:
                    scores[ci] += w
        if self._l2 and len(terms) > 1:
            k = 1.0 / math.sqrt(len(terms))
            scores = [b + (v - b) * k for v, b in zip(scores, self._bias, strict=True)]
        for ci in excluded:
            scores[ci] = -math.inf
        return scores, terms, negated, excluded, urgent, tier_hits

    def matched_terms(self, text: str) -> dict[str, list[str]]:
        """Every matched (non-negated) term per category code, no chatter filter (for learning)."""
        _, terms, *_ = self._match((text or "").strip())
        out: dict[str, list[str]] = {}
        for term, hits in terms:
            for ci, _w in hits:
                out.setdefault(self._codes[ci], []).append(term)
        return out

    def classify(self, text: str) -> Classification:
        """Decide what a message is: chatter, an FAQ question, or a request of some category."""
        text = (text or "").strip()
        stripped = self._leftover(text)
        if not stripped or not _HAN_OR_ALNUM.search(stripped):
            return self._chatter_result(text)
        scores, terms, negated, excluded, urgent, tier_hits = self._match(text)

        ncat = len(self._codes)
        order = sorted(range(ncat), key=scores.__getitem__, reverse=True)
        best = order[0] if order else -1
        best_score = scores[best] if best >= 0 else 0.0
        threshold = self.threshold
        below = best < 0 or best_score < threshold or best_score == -math.inf
        if self.rules.fallback == "best" and best >= 0 and best_score > -math.inf:
            below = False
        if best >= 0 and self._codes[best] == "other":
            below = True

        # very short content-free messages ("好冷", "在吗") are chatter unless a rule fired
        if below and not urgent and len(stripped) <= self.rules.chatter_max_leftover:
            return self._chatter_result(text)

        second = -1
        if not below and len(order) > 1:
            r = order[1]
            rs = scores[r]
            if (rs >= threshold and rs > 0 and best_score > 0 and rs >= self.rules.second_ratio * best_score
                    and self._codes[r] != "other"):
                second = r

        if not urgent and self._closing(text, below):
            return self._quiet_result("closing")

        # FAQ: a question that matches an entry, not a report that needs someone to act
        faq_hit = None
        if (self.faq is not None and not urgent and self.faq.is_question(text)
                and not self.faq.wants_help(text)):
            faq_hit = self.faq.match(text)
        if (faq_hit is None and below and not urgent and not self.has_request_cue(text)
                and len(_NOISE.sub("", text)) <= self.rules.unclear_max_chars):
            return self._quiet_result("unclear")

        # explanation: scores of every category that scored, terms of the leading ones
        shown = [c for c in order[:3] if scores[c] > -math.inf]
        matched: dict[str, list[list[Any]]] = {}
        for c in shown:
            code = self._codes[c]
            lst = [[term, w] for term, hits in terms for ci, w in hits if ci == c]
            if len(lst) > _EXPLAIN_TERMS:
                lst = sorted(lst, key=lambda tw: -abs(tw[1]))[:_EXPLAIN_TERMS]
            if lst:
                matched[code] = lst
        explanation: dict[str, Any] = {
            "scores": {self._codes[c]: round(scores[c], 3) for c in range(ncat)
                       if scores[c] != 0 and scores[c] > -math.inf},
            "matched": matched,
            "negated": negated,
            "excluded": sorted(self._codes[c] for c in excluded),
            "urgent_terms": urgent,
            "threshold": threshold,
            "below_threshold": below,
            "names": {code: self._names[code] for code in matched},
        }
        if faq_hit is not None:
            explanation["faq"] = faq_hit.id
            return Classification(kind="faq", category="", second_category=None,
                                  score=round(best_score, 3) if not below else 0.0,
                                  urgent=False, urgent_terms=(), tier="easy", department=None,
                                  faq=faq_hit, explanation=explanation)

        if below:
            other = self.rules.category("other")
            explanation["names"]["other"] = self.category_name("other")
            explanation["unsure"] = True
            return Classification(
                kind="request", category="other", second_category=None,
                score=round(max(best_score, 0.0), 3), urgent=bool(urgent),
                urgent_terms=tuple(urgent), tier=other.tier if other else "general",
                department=other.department if other else None, faq=None, explanation=explanation,
                unsure=True)

        cat = self.rules.categories[best]
        tier_i = TIERS.index(cat.tier)
        for ci, t in tier_hits:
            if ci == best and t > tier_i:
                tier_i = t
        return Classification(
            kind="request", category=cat.code,
            second_category=self._codes[second] if second >= 0 else None,
            score=round(best_score, 3), urgent=bool(urgent), urgent_terms=tuple(urgent),
            tier=TIERS[tier_i], department=cat.department, faq=None, explanation=explanation)

    def _chatter_result(self, text: str) -> Classification:
        """Chatter, or a closing remark when it says the matter is fixed (已经好了 辛苦了)."""
        closing = self._resolved(text) and self._open_re.search(text) is None
        return self._quiet_result("closing" if closing else "chatter")

    @staticmethod
    def _quiet_result(kind: str) -> Classification:
        """A message that opens no ticket: chatter, a closing remark, or nothing asked."""
        return Classification(kind=kind, category="", second_category=None, score=0.0,
                              urgent=False, urgent_terms=(), tier="easy", department=None, faq=None,
                              explanation={kind: True})


def _alternation(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled search for any of ``terms`` (longest first); matches nothing when empty."""
    if not terms:
        return re.compile(r"(?!x)x")
    return re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)))


_CACHE: dict[tuple[Any, ...], Classifier] = {}
_LOCK = threading.Lock()


def _key(p: Path | None) -> tuple[str, float] | None:
    if p is None:
        return None
    try:
        return (str(p.resolve()), p.stat().st_mtime)
    except OSError:
        return (str(p), -1.0)


def load_classifier(rules_path: str | Path | None = None, faq_path: str | Path | None = None,
                    userdict_path: str | Path | None = None,
                    threshold: float | None = None) -> Classifier:
    """The classifier for these files, built once per process (keyed by paths and mtimes).

    Loads the jieba dictionary (plus the user dictionary, default ``nlp/userdict.txt``), the rules
    and the FAQ, and warms the tokenizer so the first real message is fast.
    """
    rp = Path(rules_path) if rules_path else DEFAULT_RULES
    fp = Path(faq_path) if faq_path else None
    up = Path(userdict_path) if userdict_path else DEFAULT_USERDICT
    key = (_key(rp), _key(fp), _key(up), threshold)
    with _LOCK:
        clf = _CACHE.get(key)
        if clf is None:
            rules = load_rules(rp)
            faq = load_faq(fp) if fp else None
            clf = Classifier(rules, get_segmenter(up), faq=faq, threshold=threshold)
            clf.classify("你好，3栋楼道里的路灯不亮了，麻烦处理一下")  # warm up
            _CACHE[key] = clf
    return clf
