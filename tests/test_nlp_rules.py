"""Rule loading: the format, and errors naming category, entry and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlp import RuleError, load_rules
from nlp.classifier import DEFAULT_RULES
from nlp.faq import parse_faq

CODES = ["dispute", "safety", "environment", "facility", "property", "security", "welfare", "care",
         "population", "other"]


def write(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def cat(code: str = "facility", **kw: object) -> dict:
    base = {"code": code, "name": "市政设施", "tier": "easy", "keywords": {"下水道": 2.0}}
    base.update(kw)
    return base


def test_default_rules_have_the_ten_categories() -> None:
    rules = load_rules(DEFAULT_RULES)
    assert list(rules.codes) == CODES
    assert rules.category("facility").name == "市政设施"
    assert "着火" in rules.urgent_terms and "没有" in rules.negation_cues and "收到" in rules.chatter_terms


@pytest.mark.parametrize(
    ("category", "entry", "reason", "reason_text"),
    [
        (cat(keywords={"下水道": "heavy"}), "keywords.下水道", "weight must be a number", "facility"),
        (cat(keywords={"下水道": 0}), "keywords.下水道", "must not be 0", "facility"),
        (cat(phrases={"不亮": float("nan")}), "phrases.不亮", "finite", "facility"),
        (cat(tier="urgent"), "tier", "unknown tier", "facility"),
        (cat(keywords={}, phrases={}), "keywords", "empty category", "facility"),
        (cat(negative="演习"), "negative", "list", "facility"),
        (cat(colour="red"), "colour", "unknown key", "facility"),
    ],
)
def test_loading_errors_name_category_entry_reason(tmp_path: Path, category: dict, entry: str,
                                                    reason: str, reason_text: str) -> None:
    path = write(tmp_path, {"categories": [category]})
    with pytest.raises(RuleError) as err:
        load_rules(path)
    e = err.value
    assert (e.category, e.entry) == (reason_text, entry)
    assert reason in e.reason
    assert reason_text in str(e) and entry in str(e) and reason in str(e)


def test_duplicate_code(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as err:
        load_rules(write(tmp_path, {"categories": [cat(), cat()]}))
    assert err.value.category == "facility" and "duplicate" in err.value.reason


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="not found"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [\n", encoding="utf-8")
    with pytest.raises(RuleError, match="invalid YAML"):
        load_rules(bad)
    with pytest.raises(RuleError, match="categories"):
        load_rules(write(tmp_path, {"threshold": 1}))


def test_bad_top_level_values(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="fallback"):
        load_rules(write(tmp_path, {"fallback": "guess", "categories": [cat()]}))
    with pytest.raises(RuleError, match="second_ratio"):
        load_rules(write(tmp_path, {"second_ratio": 3, "categories": [cat()]}))


def test_dump_round_trip(tmp_path: Path) -> None:
    rules = load_rules(DEFAULT_RULES)
    out = tmp_path / "copy.yaml"
    rules.dump(out)
    again = load_rules(out)
    assert again.codes == rules.codes
    assert again.category("safety").keywords == rules.category("safety").keywords
    assert again.urgent_terms == rules.urgent_terms


def test_faq_errors() -> None:
    with pytest.raises(RuleError) as err:
        parse_faq({"entries": [{"id": "a", "question": "q", "answer": "", "match": ["x"]}]})
    assert err.value.category == "faq" and err.value.entry == "a.answer"


@pytest.mark.parametrize("value", ["l1", "sqrt", 2, True])
def test_bad_normalise_value(tmp_path: Path, value: object) -> None:
    with pytest.raises(RuleError) as err:
        load_rules(write(tmp_path, {"normalise": value, "categories": [cat()]}))
    assert (err.value.category, err.value.entry) == ("-", "normalise")
    assert "none | l2" in err.value.reason


def test_normalise_l2_divides_by_sqrt_of_matched_terms(tmp_path: Path) -> None:
    from nlp.classifier import DEFAULT_USERDICT, Classifier
    from nlp.tokenize import get_segmenter

    data = {"normalise": "l2", "threshold": 0.0, "fallback": "best", "categories": [
        cat(bias=-0.5, keywords={}, phrases={"下水道": 2.0, "堵": 1.0}),
        cat("environment", keywords={}, phrases={"臭": 3.0})]}
    rules = load_rules(write(tmp_path, data))
    assert rules.normalise == "l2" and load_rules(DEFAULT_RULES).normalise == "none"
    out = tmp_path / "again.yaml"
    rules.dump(out)
    assert load_rules(out).normalise == "l2"
    clf = Classifier(rules, get_segmenter(DEFAULT_USERDICT))
    # three distinct terms matched in any category: each category's sum is divided by sqrt(3)
    scores = clf.classify("下水道堵了好臭").explanation["scores"]
    assert scores["facility"] == pytest.approx(-0.5 + 3.0 / 3 ** 0.5, abs=1e-3)
    assert scores["environment"] == pytest.approx(3.0 / 3 ** 0.5, abs=1e-3)
    assert clf.classify("好臭").explanation["scores"]["environment"] == pytest.approx(3.0)
