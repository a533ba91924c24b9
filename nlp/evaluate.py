"""``rules eval``: per-class precision/recall/F1, macro-F1, confusion matrix, messages per second.

With the default rules the label ``chatter`` means "must not open a ticket": a message the
classifier calls chatter is predicted ``chatter``; an FAQ answer counts as its entry's category.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nlp.classifier import Classification, Classifier


def predicted_label(c: Classification) -> str:
    """The label a classification stands for in evaluation."""
    if c.kind == "chatter":
        return "chatter"
    if c.kind == "faq":
        return (c.faq.category if c.faq and c.faq.category else "faq")
    return c.category


@dataclass
class EvalReport:
    """Scores of one evaluation."""

    labels: list[str]
    precision: dict[str, float]
    recall: dict[str, float]
    f1: dict[str, float]
    support: dict[str, int]
    confusion: dict[str, dict[str, int]]
    accuracy: float
    macro_f1: float
    n: int
    per_second: float
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (text, gold, predicted)


def score(gold: list[str], pred: list[str], seconds: float = 0.0) -> EvalReport:
    """Metrics from gold and predicted labels (macro-F1 averages over the gold labels)."""
    labels = sorted(set(gold))
    all_labels = sorted(set(gold) | set(pred))
    conf = {g: dict.fromkeys(all_labels, 0) for g in all_labels}
    for g, p in zip(gold, pred, strict=True):
        conf[g][p] += 1
    prec, rec, f1, sup = {}, {}, {}, {}
    for lab in labels:
        tp = conf[lab][lab]
        npred = sum(conf[g][lab] for g in all_labels)
        ngold = sum(conf[lab].values())
        p = tp / npred if npred else 0.0
        r = tp / ngold if ngold else 0.0
        prec[lab], rec[lab], sup[lab] = p, r, ngold
        f1[lab] = 2 * p * r / (p + r) if p + r else 0.0
    n = len(gold)
    acc = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / n if n else 0.0
    return EvalReport(labels=labels, precision=prec, recall=rec, f1=f1, support=sup, confusion=conf,
                      accuracy=acc, macro_f1=sum(f1.values()) / len(labels) if labels else 0.0,
                      n=n, per_second=n / seconds if seconds else 0.0)


def evaluate(clf: Classifier, rows: list[tuple[str, str]]) -> EvalReport:
    """Classify every row and score the result (timing covers classification only)."""
    texts = [t for t, _ in rows]
    t0 = time.perf_counter()
    results = [clf.classify(t) for t in texts]
    seconds = time.perf_counter() - t0
    pred = [predicted_label(r) for r in results]
    gold = [y for _, y in rows]
    rep = score(gold, pred, seconds)
    rep.errors = [(t, g, p) for t, g, p in zip(texts, gold, pred, strict=True) if g != p]
    return rep


def format_report(rep: EvalReport, title: str = "") -> str:
    """A plain-text report: per-class table, macro-F1, accuracy, speed, confusion matrix."""
    lines = [title] if title else []
    width = max([len(lab) for lab in rep.labels] + [8]) + 2
    lines.append(f"{'label':<{width}}{'prec':>7}{'recall':>8}{'f1':>7}{'n':>6}")
    for lab in rep.labels:
        lines.append(f"{lab:<{width}}{rep.precision[lab]:7.3f}{rep.recall[lab]:8.3f}"
                     f"{rep.f1[lab]:7.3f}{rep.support[lab]:6d}")
    lines.append(f"macro-F1 {rep.macro_f1:.4f}   accuracy {rep.accuracy:.4f}   n={rep.n}"
                 f"   {rep.per_second:,.0f} messages/s")
    cols = list(rep.confusion)
    short = {c: c[:6] for c in cols}
    lines.append("confusion matrix (rows: gold, columns: predicted)")
    lines.append(" " * width + "".join(f"{short[c]:>8}" for c in cols))
    for g in cols:
        if not any(rep.confusion[g].values()):
            continue
        lines.append(f"{g:<{width}}" + "".join(f"{rep.confusion[g][p]:>8}" for p in cols))
    return "\n".join(lines)
