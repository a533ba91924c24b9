"""Read a resident's answer to the rating prompt (评单): 1/2/3 or everyday words → rating + comment.

Pure: text in, a :class:`RatingReply` (or None) out. The prompt says "回复 1 满意 / 2 一般 /
3 不满意", and people answer "好的，挺满意", "还行吧", "2 一般般", "3 师傅根本没来", "不满意，问题还在"::

    read_rating_reply("3 师傅根本没来")   → RatingReply(UNSATISFIED, comment="师傅根本没来")
    read_rating_reply("还行吧")           → RatingReply(AVERAGE, comment="")
    read_rating_reply("1 不满意")         → RatingReply(None, …)   # contradicts itself: ask again
    read_rating_reply("楼道里的灯又坏了") → None                    # not an answer at all

How it reads:

* A leading single digit 1, 2 or 3 (full-width too) is the answer, unless it is part of an address
  or a quantity (``3号楼``, ``1楼``, ``2个小时``) or a longer number.
* Cue phrases anywhere in the text vote for a rating: *verdicts* (满意, 还行, 挺好, 差评, 不行 …) and
  *facts* (没解决, 没人来, 问题还在, 修好了 …). A negation just before a cue turns it round
  (不太满意 → 不满意, 没有不满意 → 满意); cues that are part of a question (修好了吗) or of another
  phrase (一般什么时候, 可以帮我, 漏得不行) do not vote.
* All votes agree → that rating. Votes that disagree (挺好的，就是问题还在) → an unclear reply
  (``rating`` None) that the chat asks about again. No vote → None: the text is something else.
* The comment is what the person said besides the answer: a leading digit, acknowledgement
  (好的, 嗯) and verdict are taken off, facts are kept (they tell the handler what went wrong).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cases.model import Rating

S, A, U = Rating.SATISFIED, Rating.AVERAGE, Rating.UNSATISFIED

# Evaluative words: they are the answer, and leave the comment when they lead it.
VERDICTS: dict[str, Rating] = {
    **dict.fromkeys(
        ["满意", "非常满意", "很满意", "挺满意", "蛮满意", "比较满意", "十分满意", "特别满意",
         "还算满意", "相当满意", "好评", "挺好", "很好", "蛮好", "真好", "非常好", "特别好",
         "太好了", "不错", "挺不错", "很不错", "可以", "没问题", "不差", "点赞", "赞", "👍"], S),
    **dict.fromkeys(
        ["一般", "一般般", "基本满意", "还行", "还可以", "还好", "凑合", "马马虎虎", "行吧",
         "过得去", "将就", "差不多", "中评"], A),
    **dict.fromkeys(
        ["不满意", "很不满意", "非常不满意", "特别不满意", "不满", "差评", "很差", "太差",
         "真差", "比较差", "差劲", "不行", "不太行", "不好", "很不好", "太慢", "不靠谱"], U),
}
# Descriptive phrases: they decide the rating and stay in the comment.
FACTS: dict[str, Rating] = {
    **dict.fromkeys(
        ["解决了", "已解决", "已经解决", "修好了", "已修好", "弄好了", "处理好了", "已经好了",
         "好了", "搞定了", "通了", "亮了"], S),
    **dict.fromkeys(
        ["没解决", "没有解决", "未解决", "还没解决", "没能解决", "解决不了", "不解决", "没修好",
         "没有修好", "没修", "没弄好", "没处理", "没有处理", "没人来", "没有人来", "没人管",
         "没来", "没有来", "根本没来", "没见人", "没见到人", "没看到人", "问题还在",
         "问题依旧", "还是老样子", "还没好", "没有好", "没好", "敷衍", "糊弄"], U),
}
# A reply that is nothing but this word ("好" and "行" alone are acknowledgements: ask again).
WHOLE: dict[str, Rating] = {"差": U}

# A cue does not count when followed by one of these (a question, or another phrase).
_NOT_BEFORE: dict[str, str] = {
    "一般": "什来都是要情会在需人多",
    "可以": "帮给申办用去来问再先让把在找请说不",
    "还好": "像是",
    "好了": "没",
    "满意": "度",
}
_NOT_AFTER: dict[str, str] = {"不行": "得", "不好": "得", "好了": "就"}
_QUESTION = "吗么嘛?"
_NEGATORS = "不没未别"
_CLAUSE_END = ",.;!?~、，。；！？～ \n"

_CUES: dict[str, tuple[Rating, bool]] = {
    **{w: (r, True) for w, r in VERDICTS.items()},
    **{w: (r, False) for w, r in FACTS.items()},
}
_BY_FIRST_CHAR: dict[str, tuple[str, ...]] = {}
for _word in sorted(_CUES, key=len, reverse=True):
    _BY_FIRST_CHAR[_word[0]] = (*_BY_FIRST_CHAR.get(_word[0], ()), _word)
_DIGIT = re.compile(
    r"^([123])(?![0-9]|[.:：/][0-9]|[号栋幢楼层单元室户座期组区路弄巷街村点时分月日天年周个次位人块斤米岁])")
_LEAD_ACK = re.compile(r"^(?:好的|好滴|好吧|嗯+|恩+|哦+|噢|ok|收到|谢谢|感谢|谢谢你们)(?=[\s,，.。!！~～、])")
_SEPARATORS = " \t\n,，.。、:：;；!！~～-—"
_PARTICLES = "吧啊呀的了哈呢哦嘛啦喔哟噢嗯"
_FILLER = set(_SEPARATORS + _PARTICLES)
_SOFTENERS = ("还算", "比较", "非常", "十分", "特别", "一点", "怎么", "挺", "很", "蛮", "太", "都",
              "也", "还", "真", "是", "大", "并", "有", *_NEGATORS)
_SOFTENING = re.compile(f"(?:{'|'.join(_SOFTENERS)})*")


@dataclass(frozen=True)
class RatingReply:
    """A reply read as an answer to the rating prompt.

    ``rating`` None means the reply is about the rating but says two things (ask again);
    ``cues`` are the words that decided, for the log and the tests.
    """

    rating: Rating | None
    comment: str
    cues: tuple[str, ...] = ()

    @property
    def clear(self) -> bool:
        return self.rating is not None


@dataclass(frozen=True)
class _Cue:
    start: int
    end: int
    word: str
    rating: Rating | None  # None: a negated 一般 (不一般), which says nothing clear
    verdict: bool


def half_width(text: str) -> str:
    """Full-width digits, letters and punctuation to half-width and ASCII letters to lower case,
    one character for one (positions in the result are positions in ``text``)."""
    out = []
    for char in text:
        if "\u4e00" <= char <= "\u9fff":  # CJK ideographs are their own normal form
            out.append(char)
            continue
        folded = unicodedata.normalize("NFKC", char)
        if len(folded) != 1:
            folded = char
        out.append(folded.lower() if folded.isascii() else folded)
    return "".join(out)


def read_rating_reply(text: str) -> RatingReply | None:
    """The rating and comment in ``text``; None when it is not an answer to the rating prompt."""
    original = (text or "").strip()
    folded = half_width(original)
    if not folded:
        return None
    whole = folded.strip(_SEPARATORS + _PARTICLES)
    if whole in WHOLE:
        return RatingReply(WHOLE[whole], "", (whole,))
    digit = _DIGIT.match(folded)
    cues = _find_cues(folded, 1 if digit else 0)
    votes = {cue.rating for cue in cues}
    if digit:
        votes.add(_DIGIT_RATINGS[digit.group(1)])
    if not votes:
        return None
    words = tuple(([digit.group(1)] if digit else []) + [c.word for c in cues])
    comment = _comment(original, folded, 1 if digit else 0, cues)
    if len(votes) != 1 or None in votes:
        return RatingReply(None, comment, words)
    [rating] = votes
    assert rating is not None
    return RatingReply(rating, comment, words)


_DIGIT_RATINGS = {"1": S, "2": A, "3": U}


def _find_cues(text: str, start: int) -> list[_Cue]:
    found: list[_Cue] = []
    i = start
    while i < len(text):
        word = next((w for w in _BY_FIRST_CHAR.get(text[i], ()) if text.startswith(w, i)), None)
        if word is None:
            i += 1
            continue
        end = i + len(word)
        after, before = text[end:end + 1], text[i - 1:i] if i else ""
        if (after and (after in _QUESTION or after in _NOT_BEFORE.get(word, ""))) or (
                before and before in _NOT_AFTER.get(word, "")):
            i += 1
            continue
        rating, verdict = _CUES[word]
        found.append(_Cue(i, end, word, _negated(rating) if _is_negated(text, i) else rating,
                          verdict))
        i = end
    return found


def _is_negated(text: str, start: int) -> bool:
    """A negation in the few characters before ``start``, within the same clause."""
    for j in range(start - 1, max(-1, start - 5), -1):
        if text[j] in _CLAUSE_END:
            return False
        if text[j] in _NEGATORS:
            return True
    return False


def _negated(rating: Rating) -> Rating | None:
    return {S: U, U: S}.get(rating)


def _comment(original: str, folded: str, start: int, cues: list[_Cue]) -> str:
    """What remains once the leading answer (digit, acknowledgement, verdicts) is taken off."""
    pos = _skip(folded, start)
    ack = _LEAD_ACK.match(folded[pos:])
    if ack:
        pos = _skip(folded, pos + ack.end())
    for cue in cues:
        if cue.start < pos:
            continue
        lead = folded[pos:cue.start]
        if not cue.verdict or not _only_softeners(lead):
            break
        pos = _skip(folded, cue.end, _SEPARATORS + _PARTICLES)
    rest = original[pos:].strip()
    return "" if all(char in _FILLER for char in half_width(rest)) else rest


def _skip(text: str, pos: int, chars: str = _SEPARATORS) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _only_softeners(lead: str) -> bool:
    """``lead`` is nothing but 不/没 and 很/挺/比较 …: the words around a leading verdict."""
    return _SOFTENING.fullmatch(lead) is not None
