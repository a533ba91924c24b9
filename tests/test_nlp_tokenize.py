"""Segmentation: faithful to jieba with added words, and one classifier's words never leak into
another's splits or decisions."""

from __future__ import annotations

import re

import jieba

from nlp.classifier import DEFAULT_RULES, DEFAULT_USERDICT, Classifier
from nlp.rules import load_rules, parse_rules
from nlp.tokenize import get_segmenter

TEXTS = (
    "着火了！7号楼三楼阳台冒烟了，快来人",
    "街上到处是狗屎，遛狗的都不清理",
    "今天一早就停水了，也没通知，什么时候来水",
    "对门把鞋柜杂物都放到我家门口了，跟她说她还骂人",
    "楼下的水管爆了，3栋2单元302",
)
# words that, once in a dictionary, change how every text above is split
OTHER_WORDS = ("着火了", "号楼三", "快来人", "是狗屎", "遛狗的", "不清理", "停水了", "没通知",
               "门把鞋", "柜杂物", "都放到", "下的水", "管爆了")


def _other_rules():  # type: ignore[no-untyped-def]
    return parse_rules({"threshold": 1.0, "categories": [
        {"code": "other_words", "name": "别的词", "keywords": dict.fromkeys(OTHER_WORDS, 1.0)},
        {"code": "other", "name": "其他"}]})


def test_building_a_classifier_never_changes_another() -> None:
    a = Classifier(load_rules(DEFAULT_RULES), get_segmenter(DEFAULT_USERDICT))
    splits = [a.segmenter.words(t) for t in TEXTS]
    decisions = [a.classify(t) for t in TEXTS]
    base = get_segmenter(DEFAULT_USERDICT)
    base_splits = [base.words(t) for t in TEXTS]

    b = Classifier(_other_rules(), get_segmenter(DEFAULT_USERDICT))

    assert [b.segmenter.words(t) for t in TEXTS] != splits  # B really splits differently
    assert [a.segmenter.words(t) for t in TEXTS] == splits
    assert [a.classify(t) for t in TEXTS] == decisions
    assert [get_segmenter(DEFAULT_USERDICT).words(t) for t in TEXTS] == base_splits
    assert [base.words(t) for t in TEXTS] == base_splits


def test_a_segmenter_passed_to_classifiers_is_left_as_it_is() -> None:
    seg = get_segmenter(DEFAULT_USERDICT)
    before = [seg.words(t) for t in TEXTS]
    b = Classifier(_other_rules(), seg)
    assert b.segmenter is not seg and seg.words_added == ()
    assert set(OTHER_WORDS) <= set(b.segmenter.words_added)
    assert [seg.words(t) for t in TEXTS] == before
    assert seg.with_words(["楼下"]) is seg  # nothing to add: the same (immutable) segmenter


def test_added_words_split_as_jieba_add_word_does() -> None:
    """The overlay reproduces ``jieba.Tokenizer.add_word`` (suggested frequency, total, prefixes)
    and ``cut(HMM=False)`` on a dictionary of jieba's own."""
    words = [*OTHER_WORDS, *load_rules(DEFAULT_RULES).categories[0].keywords, "水管爆", "下水"]
    tok = jieba.Tokenizer()
    tok.initialize()
    tok.load_userdict(str(DEFAULT_USERDICT))
    seg = get_segmenter(DEFAULT_USERDICT).with_words(words)
    for word in words:
        if re.fullmatch(r"[\u4E00-\u9FD5]{2,}", word) and not tok.FREQ.get(word):
            tok.add_word(word)
    assert seg.total == tok.total
    for text in TEXTS:
        theirs = [w for w in tok.cut(text, HMM=False) if re.fullmatch(r"[\u4E00-\u9FD5\w]+", w)]
        assert seg.words(text) == theirs
