"""Classification with the default rules: matching, negation, chatter, urgency, FAQ, explanations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nlp import Classification, load_classifier
from nlp.classifier import DEFAULT_FAQ, DEFAULT_RULES, DEFAULT_USERDICT, Classifier
from nlp.rules import parse_rules
from nlp.tokenize import get_segmenter


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return load_classifier(DEFAULT_RULES, faq_path=DEFAULT_FAQ)


def test_cached_per_process(clf: Classifier) -> None:
    assert load_classifier(DEFAULT_RULES, faq_path=DEFAULT_FAQ) is clf


def test_user_dictionary_words_are_single_tokens() -> None:
    seg = get_segmenter(DEFAULT_USERDICT)
    words = seg.words("楼道里有人飞线充电，下水道和化粪池都堵了，网格员快来")
    for w in ("飞线充电", "下水道", "化粪池", "网格员"):
        assert w in words


def test_matches_where_word_boundary_regex_fails(clf: Classifier) -> None:
    text = "3栋2单元的下水道堵了"
    assert re.search(r"\b下水道\b", text) is None  # \b finds no boundary inside Chinese text
    c = clf.classify(text)
    assert (c.kind, c.category) == ("request", "facility")
    terms = [t for t, _ in c.explanation["matched"]["facility"]]
    assert "下水道" in terms and "堵了" in terms
    assert c.department == "村建办" and c.tier == "easy"


def test_keyword_is_token_matched_not_substring() -> None:
    rules = parse_rules({"threshold": 1.0, "categories": [
        {"code": "facility", "name": "市政设施", "keywords": {"水管": 2.0}},
        {"code": "other", "name": "其他"}]})
    c = Classifier(rules, get_segmenter(DEFAULT_USERDICT))
    assert c.classify("楼下的水管爆了").category == "facility"
    assert c.classify("这是一家污水管理公司的车").category == "other"  # 污水/管理: no token 水管


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("你好，楼道里堆满了杂物", "safety"),
        ("小区垃圾桶三天没人收了，臭死了", "environment"),
        ("电梯又坏了，老人上不去18楼", "property"),
        ("我家电动车昨晚被偷了", "security"),
        ("独居老人张奶奶好几天没出门了", "care"),
        ("隔壁新搬来一户租客，还没登记", "population"),
        ("老板拖欠工资半年不给", "dispute"),
        ("我妈的养老金这个月没到账，帮我查一下", "welfare"),
    ],
)
def test_categories(clf: Classifier, text: str, code: str) -> None:
    c = clf.classify(text)
    assert (c.kind, c.category) == ("request", code), c.explain_text()


def test_negation(clf: Classifier) -> None:
    c = clf.classify("不是漏水，是没有停电")
    assert c.category == "other"
    assert set(c.explanation["negated"]) >= {"漏水", "停电"}
    assert clf.classify("我家停电了").category == "facility"
    # the cue must be close and in the same clause
    assert clf.classify("没有人管，路灯不亮一个月了").category == "facility"
    assert not clf.classify("楼道里没有煤气味，是别的味道").urgent


@pytest.mark.parametrize("text", ["收到", "好的", "好的好的，谢谢", "谢谢", "[强]", "[OK]", "👍", "👍👍👍",
                                  "早上好", "大家早上好！", "哈哈哈", "辛苦了", "嗯嗯", "收到，马上去", "1",
                                  "[玫瑰][玫瑰]", "在吗", "好冷", "?"])
def test_chatter(clf: Classifier, text: str) -> None:
    assert clf.classify(text).kind == "chatter"


def test_greeting_then_request_is_not_chatter(clf: Classifier) -> None:
    c = clf.classify("你好，楼道里堆满了杂物")
    assert c.kind == "request" and c.category == "safety"
    assert clf.classify("谢谢！另外3号楼路灯不亮了").category == "facility"


@pytest.mark.parametrize(("text", "term"), [("着火了！7号楼阳台冒烟", "着火"), ("厨房有煤气泄漏的味道", "煤气泄漏"),
                                            ("菜市场门口有人打架", "打架"), ("有人持刀在街上", "持刀"),
                                            ("河边有人落水了", "落水"), ("我家老人走失了", "走失")])
def test_urgency(clf: Classifier, text: str, term: str) -> None:
    c = clf.classify(text)
    assert c.urgent and term in c.urgent_terms
    assert c.kind == "request"
    assert "紧急" in c.explain_text()


def test_not_urgent(clf: Classifier) -> None:
    assert not clf.classify("楼道灯坏了").urgent


def test_second_label_and_tier(clf: Classifier) -> None:
    c = clf.classify("楼上漏水漏到我家，物业不管")
    assert c.category == "dispute" and c.second_category == "property"
    assert clf.classify("邻居盖房子占了我家宅基地").tier == "hard"


def test_faq_question_vs_request(clf: Classifier) -> None:
    c = clf.classify("医保怎么缴费？")
    assert c.kind == "faq" and c.category == "" and c.faq is not None
    assert "医保" in c.faq.question and c.faq.answer
    assert clf.classify("请问申请低保需要什么材料").faq.id == "dibao_documents"
    assert clf.classify("居住证怎么办").kind == "faq"
    help_me = clf.classify("我的养老金这个月没到账，能不能帮我查一下")
    assert help_me.kind == "request" and help_me.category == "welfare"
    assert clf.classify("我家残疾证办了半年还没下来，帮忙催一下").kind == "request"


def test_explanation_is_json_and_readable(clf: Classifier) -> None:
    c = clf.classify("3栋2单元的下水道堵了")
    assert isinstance(c, Classification)
    json.dumps(c.explanation, ensure_ascii=False)
    assert c.explain_text().startswith("市政设施 3.5：下水道(+2.0)")
    assert clf.category_name("facility") == "市政设施"
    assert clf.category_name("other") == "其他"


def test_below_threshold_goes_to_triage(clf: Classifier) -> None:
    c = clf.classify("建议村里在广场多搞点文艺活动")
    assert (c.kind, c.category, c.department) == ("request", "other", "综治中心")
    assert "人工分拣" in c.explain_text()


def test_threshold_override(tmp_path: Path) -> None:
    strict = load_classifier(DEFAULT_RULES, threshold=100.0)
    assert strict.classify("3栋2单元的下水道堵了").category == "other"
