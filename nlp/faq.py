"""FAQ: policy questions answered in chat from a YAML file (keywords -> answer), no ticket.

``faq.yaml``::

    question_cues: [怎么, 如何, 吗, ？]      # the message asks something
    help_cues: [帮我, 上门, 来人, 处理一下]  # ... or wants someone to act: then it is a request
    entries:
      - id: medical_insurance_payment
        question: 城乡居民医保怎么缴费？
        category: welfare                    # the category it would be as a request (optional)
        match: ["医保|医疗保险", "缴费|交费"]  # every group must match; '|' separates alternatives
        answer: ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.rules import RuleError, read_yaml


@dataclass(frozen=True)
class FaqAnswer:
    """One FAQ entry: the canonical question and its answer."""

    id: str
    question: str
    answer: str
    category: str | None = None


@dataclass(frozen=True)
class FaqEntry:
    """An FAQ entry with its match groups (all must match; any alternative within a group)."""

    answer: FaqAnswer
    groups: tuple[tuple[str, ...], ...]

    def matches(self, text: str) -> int:
        """Number of matched characters if every group matches, else 0."""
        total = 0
        for group in self.groups:
            hit = max((len(alt) for alt in group if alt in text), default=0)
            if not hit:
                return 0
            total += hit
        return total


@dataclass(frozen=True)
class Faq:
    """All FAQ entries plus the cues telling a question from a request for help."""

    entries: tuple[FaqEntry, ...]
    question_cues: tuple[str, ...]
    help_cues: tuple[str, ...]

    def __post_init__(self) -> None:
        # one compiled alternation per cue list: a single C-level scan instead of a Python loop
        object.__setattr__(self, "_question_re", _alternation(self.question_cues))
        object.__setattr__(self, "_help_re", _alternation(self.help_cues))
        # every entry needs its first group: no alternative of any first group => no entry matches
        firsts = tuple({a for e in self.entries if e.groups for a in e.groups[0]})
        object.__setattr__(self, "_first_re", _alternation(firsts) if all(e.groups for e in self.entries)
                           else None)

    def is_question(self, text: str) -> bool:
        """The message asks something."""
        return self._question_re.search(text) is not None  # type: ignore[attr-defined]

    def wants_help(self, text: str) -> bool:
        """The resident asks for someone to act (a ticket, not an answer)."""
        return self._help_re.search(text) is not None  # type: ignore[attr-defined]

    def match(self, text: str) -> FaqAnswer | None:
        """The best-matching entry (most matched characters), if any."""
        first_re = self._first_re  # type: ignore[attr-defined]
        if first_re is not None and first_re.search(text) is None:
            return None
        best: FaqEntry | None = None
        best_len = 0
        for e in self.entries:
            n = e.matches(text)
            if n > best_len:
                best, best_len = e, n
        return best.answer if best else None


def _alternation(cues: tuple[str, ...]) -> re.Pattern[str]:
    if not cues:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile("|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True)))


def _strings(value: Any, entry: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RuleError("faq", f"{entry}.{key}", "must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_faq(data: Any) -> Faq:
    """Validate a parsed faq.yaml document."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise RuleError("faq", "entries", "the FAQ file must be a mapping with an 'entries' list")
    entries = []
    seen: set[str] = set()
    for i, raw in enumerate(data["entries"]):
        if not isinstance(raw, dict):
            raise RuleError("faq", f"#{i + 1}", "each entry must be a mapping")
        eid = str(raw.get("id") or f"faq{i + 1}")
        if eid in seen:
            raise RuleError("faq", eid, "duplicate FAQ id")
        seen.add(eid)
        for key in ("question", "answer"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise RuleError("faq", f"{eid}.{key}", "missing or empty")
        groups = _strings(raw.get("match"), eid, "match")
        entries.append(FaqEntry(
            answer=FaqAnswer(id=eid, question=raw["question"].strip(), answer=raw["answer"].strip(),
                             category=raw.get("category")),
            groups=tuple(tuple(a.strip() for a in g.split("|") if a.strip()) for g in groups),
        ))
    return Faq(entries=tuple(entries),
               question_cues=_strings(data.get("question_cues", ["？", "?", "吗"]), "faq", "question_cues"),
               help_cues=_strings(data.get("help_cues", ["帮我", "上门"]), "faq", "help_cues"))


def load_faq(path: str | Path) -> Faq:
    """Read and validate an FAQ file."""
    return parse_faq(read_yaml(path, "faq", "FAQ"))
