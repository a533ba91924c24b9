"""The rules file: categories with weighted keywords and phrases, chatter, urgency and negation.

One YAML format serves hand-written township rules and rules learned by ``rules learn``::

    threshold: 1.0          # best score must reach this, else "other" (human triage)
    second_ratio: 0.6       # runner-up >= ratio * best (and >= threshold) gives a second label
    fallback: other         # other | best  (best: always take the top category, for learned rules)
    normalise: none         # none | l2: a category's score is bias + (sum of the weights of the
                            # matched terms) / sqrt(number of distinct terms the message matched in
                            # any category, keywords and phrases counted apart); learned rules use l2
    negation: {window: 2, cues: [不是, 没有, 没]}
    chatter: {terms: [收到, 好的], max_leftover: 2}
    urgent: {terms: [着火, 煤气泄漏]}
    request_cues: [麻烦, 帮忙, 能不能, 吗]   # optional: below threshold, a message with none of
                            # these opens no ticket ("unclear"); with one it goes to the centre
                            # as an unsure "other"; absent => every such message goes there
    unclear_max_chars: 14   # ... but a longer message (letters/digits) always goes there
    closing:                # optional: remarks that close a matter, never a ticket
      resolved: [修好了, 解决了]   # "fixed" (not right after 没/未/不/还没)
      thanks: [谢谢, 辛苦了]       # gratitude: closing when no category and no request cue
      open: [还没, 又, 还是]       # the matter is still open: never a closing remark
    categories:
      - code: facility
        name: 市政设施
        department: 住建办          # optional
        tier: easy                 # easy | general | hard
        bias: 0.0                  # optional, added to the score (learned rules)
        keywords: {下水道: 2.0}     # matched on jieba tokens
        phrases: {不亮: 1.5}        # matched as substrings
        negative: [演习]            # present => category excluded
        tier_terms: {hard: [塌陷]}  # present => tier raised

Loading errors raise :class:`RuleError` naming the category, the entry and the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's safe parser and emitter where PyYAML has them: the same documents, several times
# faster (learnt rules files run to 100,000 terms); the pure-Python ones otherwise.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

TIERS = ("easy", "general", "hard")
FALLBACKS = ("other", "best")
NORMALISE = ("none", "l2")
MAX_WEIGHT = 1000.0


class RuleError(ValueError):
    """A rules file that cannot be used; names the category, the entry and the reason."""

    def __init__(self, category: str, entry: str, reason: str) -> None:
        self.category = category
        self.entry = entry
        self.reason = reason
        super().__init__(f"rules error in category {category!r}, entry {entry!r}: {reason}")


def _round(v: float) -> float:
    """Four significant digits (learned weights can be small), at most four decimals."""
    return round(float(f"{v:.4g}"), 4) if abs(v) >= 1e-4 else float(f"{v:.2g}")


@dataclass(frozen=True)
class Category:
    """One category of the rules."""

    code: str
    name: str
    tier: str = "general"
    department: str | None = None
    bias: float = 0.0
    keywords: dict[str, float] = field(default_factory=dict)
    phrases: dict[str, float] = field(default_factory=dict)
    negative: tuple[str, ...] = ()
    tier_terms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The YAML shape of this category."""
        out: dict[str, Any] = {"code": self.code, "name": self.name}
        if self.department:
            out["department"] = self.department
        out["tier"] = self.tier
        if self.bias:
            out["bias"] = _round(self.bias)
        out["keywords"] = {k: _round(v) for k, v in self.keywords.items()}
        out["phrases"] = {k: _round(v) for k, v in self.phrases.items()}
        if self.negative:
            out["negative"] = list(self.negative)
        if self.tier_terms:
            out["tier_terms"] = {k: list(v) for k, v in self.tier_terms.items()}
        return out


@dataclass(frozen=True)
class RuleSet:
    """Everything a rules file holds."""

    categories: tuple[Category, ...]
    threshold: float = 1.0
    second_ratio: float = 0.6
    fallback: str = "other"
    normalise: str = "none"
    negation_cues: tuple[str, ...] = ()
    negation_window: int = 2
    chatter_terms: tuple[str, ...] = ()
    chatter_max_leftover: int = 2
    urgent_terms: tuple[str, ...] = ()
    request_cues: tuple[str, ...] = ()
    unclear_max_chars: int = 14
    closing_resolved: tuple[str, ...] = ()
    closing_thanks: tuple[str, ...] = ()
    closing_open: tuple[str, ...] = ()
    source: str = ""

    def category(self, code: str) -> Category | None:
        """The category with this code, if any."""
        for c in self.categories:
            if c.code == code:
                return c
        return None

    @property
    def codes(self) -> tuple[str, ...]:
        """Category codes in file order."""
        return tuple(c.code for c in self.categories)

    def to_dict(self) -> dict[str, Any]:
        """The YAML shape of the whole rule set."""
        return {
            "threshold": self.threshold,
            "second_ratio": self.second_ratio,
            "fallback": self.fallback,
            **({"normalise": self.normalise} if self.normalise != "none" else {}),
            "negation": {"window": self.negation_window, "cues": list(self.negation_cues)},
            "chatter": {"max_leftover": self.chatter_max_leftover, "terms": list(self.chatter_terms)},
            "urgent": {"terms": list(self.urgent_terms)},
            **({"request_cues": list(self.request_cues), "unclear_max_chars": self.unclear_max_chars}
               if self.request_cues else {}),
            **({"closing": {"resolved": list(self.closing_resolved),
                            "thanks": list(self.closing_thanks),
                            "open": list(self.closing_open)}}
               if self.closing_resolved or self.closing_thanks else {}),
            "categories": [c.to_dict() for c in self.categories],
        }

    def dump(self, path: Path, header: str = "") -> None:
        """Write the rule set as human-editable YAML."""
        text = yaml.dump(self.to_dict(), Dumper=_DUMPER, allow_unicode=True, sort_keys=False,
                         width=100)
        Path(path).write_text((header + "\n" if header else "") + text, encoding="utf-8")


def _number(value: Any, category: str, entry: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(category, entry, f"weight must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or abs(v) > MAX_WEIGHT:
        raise RuleError(category, entry, f"weight must be finite and within ±{MAX_WEIGHT:g}, got {value!r}")
    if v == 0 and not allow_zero:
        raise RuleError(category, entry, "weight must not be 0")
    return v


def _terms(value: Any, category: str, entry: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleError(category, entry, "must be a list of terms")
    out = []
    for t in value:
        if not isinstance(t, str | int) or isinstance(t, bool) or not str(t).strip():
            raise RuleError(category, entry, f"bad term {t!r}: must be a non-empty string")
        out.append(str(t).strip())
    return tuple(out)


def _weights(value: Any, category: str, entry: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleError(category, entry, "must be a mapping of term: weight")
    out: dict[str, float] = {}
    for term, w in value.items():
        if not isinstance(term, str | int) or isinstance(term, bool) or not str(term).strip():
            raise RuleError(category, entry, f"bad term {term!r}: must be a non-empty string")
        out[str(term).strip()] = _number(w, category, f"{entry}.{term}")
    return out


def _category(raw: Any, index: int) -> Category:
    if not isinstance(raw, dict):
        raise RuleError(f"#{index + 1}", "category", "each category must be a mapping")
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        raise RuleError(f"#{index + 1}", "code", "missing or empty category code")
    code = code.strip()
    known = {"code", "name", "department", "tier", "bias", "keywords", "phrases", "negative",
             "tier_terms"}
    for key in raw:
        if key not in known:
            raise RuleError(code, str(key), f"unknown key (expected one of {', '.join(sorted(known))})")
    name = raw.get("name") or code
    tier = raw.get("tier", "general")
    if tier not in TIERS:
        raise RuleError(code, "tier", f"unknown tier {tier!r} (expected one of {', '.join(TIERS)})")
    bias = _number(raw.get("bias", 0.0), code, "bias", allow_zero=True)
    keywords = _weights(raw.get("keywords"), code, "keywords")
    phrases = _weights(raw.get("phrases"), code, "phrases")
    negative = _terms(raw.get("negative"), code, "negative")
    tier_raw = raw.get("tier_terms") or {}
    if not isinstance(tier_raw, dict):
        raise RuleError(code, "tier_terms", "must be a mapping of tier: [terms]")
    tier_terms: dict[str, tuple[str, ...]] = {}
    for t, terms in tier_raw.items():
        if t not in TIERS:
            raise RuleError(code, f"tier_terms.{t}", f"unknown tier {t!r}")
        tier_terms[t] = _terms(terms, code, f"tier_terms.{t}")
    if code != "other" and not keywords and not phrases and not bias:
        raise RuleError(code, "keywords", "empty category: no keywords or phrases")
    dept = raw.get("department")
    return Category(code=code, name=str(name), tier=tier, department=str(dept) if dept else None,
                    bias=bias, keywords=keywords, phrases=phrases, negative=negative,
                    tier_terms=tier_terms)


def parse_rules(data: Any, source: str = "") -> RuleSet:
    """Validate a parsed YAML document into a :class:`RuleSet`."""
    if not isinstance(data, dict):
        raise RuleError("-", "file", "the rules file must be a mapping with a 'categories' list")
    raw_cats = data.get("categories")
    if not isinstance(raw_cats, list) or not raw_cats:
        raise RuleError("-", "categories", "missing or empty 'categories' list")
    cats: list[Category] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_cats):
        cat = _category(raw, i)
        if cat.code in seen:
            raise RuleError(cat.code, "code", "duplicate category code")
        seen.add(cat.code)
        cats.append(cat)
    threshold = _number(data.get("threshold", 1.0), "-", "threshold", allow_zero=True)
    ratio = _number(data.get("second_ratio", 0.6), "-", "second_ratio", allow_zero=True)
    if not 0 <= ratio <= 1:
        raise RuleError("-", "second_ratio", "must be between 0 and 1")
    fallback = data.get("fallback", "other")
    if fallback not in FALLBACKS:
        raise RuleError("-", "fallback", f"unknown fallback {fallback!r} (other | best)")
    normalise = data.get("normalise", "none")
    if normalise is None or normalise is False:
        normalise = "none"
    if normalise not in NORMALISE:
        raise RuleError("-", "normalise", f"unknown normalise {normalise!r} (none | l2)")
    neg = data.get("negation") or {}
    chat = data.get("chatter") or {}
    urg = data.get("urgent") or {}
    closing = data.get("closing") or {}
    for name, sec in (("negation", neg), ("chatter", chat), ("urgent", urg), ("closing", closing)):
        if not isinstance(sec, dict):
            raise RuleError("-", name, "must be a mapping")
    window = neg.get("window", 2)
    if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 10:
        raise RuleError("-", "negation.window", "must be an integer 0..10")
    leftover = chat.get("max_leftover", 2)
    if not isinstance(leftover, int) or isinstance(leftover, bool) or leftover < 0:
        raise RuleError("-", "chatter.max_leftover", "must be a non-negative integer")
    unclear_max = data.get("unclear_max_chars", 14)
    if not isinstance(unclear_max, int) or isinstance(unclear_max, bool) or unclear_max < 0:
        raise RuleError("-", "unclear_max_chars", "must be a non-negative integer")
    return RuleSet(
        categories=tuple(cats),
        threshold=threshold,
        second_ratio=ratio,
        fallback=fallback,
        normalise=normalise,
        negation_cues=_terms(neg.get("cues"), "-", "negation.cues"),
        negation_window=window,
        chatter_terms=_terms(chat.get("terms"), "-", "chatter.terms"),
        chatter_max_leftover=leftover,
        urgent_terms=_terms(urg.get("terms"), "-", "urgent.terms"),
        request_cues=_terms(data.get("request_cues"), "-", "request_cues"),
        unclear_max_chars=unclear_max,
        closing_resolved=_terms(closing.get("resolved"), "-", "closing.resolved"),
        closing_thanks=_terms(closing.get("thanks"), "-", "closing.thanks"),
        closing_open=_terms(closing.get("open"), "-", "closing.open"),
        source=source,
    )


def read_yaml(path: str | Path, category: str, what: str) -> Any:
    """The parsed YAML of a rules or FAQ file; RuleError if it is missing or not YAML."""
    p = Path(path)
    if not p.is_file():
        raise RuleError(category, str(p), f"{what} file not found")
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise RuleError(category, str(p), f"invalid YAML: {exc}") from exc


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file."""
    return parse_rules(read_yaml(path, "-", "rules"), source=str(Path(path)))
