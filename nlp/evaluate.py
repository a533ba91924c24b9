"""``rules eval``: per-class precision/recall/F1, macro-F1, confusion matrix, messages per second.

Labels: a category code means "opens a ticket of this category"; ``chatter`` means "must not open
a ticket" (a message the classifier calls chatter, a closing remark or unclear is predicted
``chatter``); ``faq`` means "answered from the FAQ". In data without any ``faq`` label an FAQ
answer counts as its entry's category (older data sets label policy questions that way).

Beside the scores: how often a no-ticket message would open a ticket (chatter → ticket), how often
a request would get no ticket (request → silence), and what the unsure requests (no category
reached, sent to the centre's triage as ``other``) really were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nlp.classifier import Classification, Classifier

NO_TICKET = "chatter"
FAQ = "faq"


def predicted_label(c: Classification, faq_label: bool = False) -> str:
    """The label a classification stands for in evaluation (``faq_label``: FAQ answers as ``faq``)."""
    if c.kind in ("chatter", "closing", "unclear"):
        return NO_TICKET
    if c.kind == "faq":
        if faq_label:
            return FAQ
        return (c.faq.category if c.faq and c.faq.category else FAQ)
    return c.category


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


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
    unsure_gold: dict[str, int] = field(default_factory=dict)  # unsure requests by gold label

    def _rows(self, gold: str) -> dict[str, int]:
        return self.confusion.get(gold, {})

    @property
    def chatter_to_ticket(self) -> float:
        """Share of no-ticket messages (gold ``chatter``) that would open a ticket."""
        row = self._rows(NO_TICKET)
        return _share(sum(n for p, n in row.items() if p not in (NO_TICKET, FAQ)), sum(row.values()))

    @property
    def request_to_silence(self) -> float:
        """Share of requests (gold: a category) that would get no ticket and no answer."""
        rows = [r for g, r in self.confusion.items() if g not in (NO_TICKET, FAQ)]
        return _share(sum(r.get(NO_TICKET, 0) for r in rows), sum(sum(r.values()) for r in rows))

    @property
    def faq_to_ticket(self) -> float:
        """Share of FAQ questions (gold ``faq``) that would open a ticket instead of an answer."""
        row = self._rows(FAQ)
        return _share(sum(n for p, n in row.items() if p not in (NO_TICKET, FAQ)), sum(row.values()))


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
    gold = [y for _, y in rows]
    faq_label = FAQ in gold
    pred = [predicted_label(r, faq_label) for r in results]
    rep = score(gold, pred, seconds)
    rep.errors = [(t, g, p) for t, g, p in zip(texts, gold, pred, strict=True) if g != p]
    for r, g in zip(results, gold, strict=True):
        if r.unsure:
            rep.unsure_gold[g] = rep.unsure_gold.get(g, 0) + 1
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
    if NO_TICKET in rep.confusion:
        lines.append(f"chatter/closing -> ticket {rep.chatter_to_ticket:.1%}   "
                     f"request -> no ticket {rep.request_to_silence:.1%}"
                     + (f"   faq -> ticket {rep.faq_to_ticket:.1%}" if FAQ in rep.confusion else ""))
    unsure = sum(rep.unsure_gold.values())
    if unsure:
        parts = ", ".join(f"{g} {n}" for g, n in sorted(rep.unsure_gold.items(), key=lambda x: -x[1]))
        lines.append(f"unsure -> centre triage as other: {unsure} ({unsure / rep.n:.1%}); "
                     f"their gold labels: {parts}")
    cols = list(rep.confusion)
    short = {c: c[:6] for c in cols}
    lines.append("confusion matrix (rows: gold, columns: predicted)")
    lines.append(" " * width + "".join(f"{short[c]:>8}" for c in cols))
    for g in cols:
        if not any(rep.confusion[g].values()):
            continue
        lines.append(f"{g:<{width}}" + "".join(f"{rep.confusion[g][p]:>8}" for p in cols))
    return "\n".join(lines)
