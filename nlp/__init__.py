"""nlp: jieba keyword rules that explain themselves, learn from data, and mask personal data.

Public API::

    from nlp import load_classifier, mask_pii, extract_location
    clf = load_classifier("rules/categories.yaml", faq_path="rules/faq.yaml")
    result = clf.classify("3栋2单元的下水道堵了")
"""

from nlp.classifier import Classification, Classifier, FaqAnswer, load_classifier
from nlp.extract import extract_location
from nlp.pii import mask_pii
from nlp.rules import Category, RuleError, RuleSet, load_rules

__all__ = [
    "Category",
    "Classification",
    "Classifier",
    "FaqAnswer",
    "RuleError",
    "RuleSet",
    "extract_location",
    "load_classifier",
    "load_rules",
    "mask_pii",
]
