"""``rules learn``: derive weighted keyword/phrase rules from labelled messages.

Features are what the classifier itself matches: jieba tokens (-> ``keywords``) and character
n-grams (-> ``phrases``), extracted through a :class:`Classifier` so that negation and
segmentation are exactly those used at run time. Each category gets a one-vs-rest linear SVM
(L2-regularised squared hinge, dual coordinate descent as in LIBLINEAR, pure Python) over
IDF-weighted, length-normalised presence features; a term's rule weight is its SVM weight times its
IDF, the category's ``bias`` its intercept. The top-K terms per category by absolute weight are
kept, so the file stays readable and editable; negative weights are counter-evidence.

Rows labelled ``chatter`` train no category (chatter is handled by the chatter section, copied with
urgency and negation from the base rules).
"""

from __future__ import annotations

import math
import operator
import random
from collections import Counter
from dataclasses import dataclass, field, replace

from nlp.classifier import Classifier
from nlp.rules import Category, RuleSet
from nlp.tokenize import Segmenter

CHATTER = "chatter"


@dataclass
class LearnConfig:
    """Knobs of the learner (defaults tuned on the TipDM titles, see bench/classifier_accuracy.py)."""

    top_k: int = 8000  # terms kept per category
    min_count: int = 1  # a term must occur in at least this many training messages
    ngram_min: int = 1
    ngram_max: int = 3
    use_tokens: bool = True
    c: float = 0.5  # SVM regularisation (larger = fit the training data harder)
    epochs: int = 12
    seed: int = 13
    tier: str = "general"
    balance: bool = True  # weight errors inversely to class frequency
    prune: str = "mass"  # rank terms by |weight| x document frequency ("mass") or |weight| ("weight")
    scale_bias: bool = False  # rescale the intercept to the unnormalised run-time scores


@dataclass
class LearnReport:
    """What learning did, for the CLI and the bench."""

    labels: list[str]
    n_train: int
    n_features: int
    kept: dict[str, int] = field(default_factory=dict)
    skipped_chatter: int = 0


def _extractor(base: RuleSet | None, segmenter: Segmenter, vocab_k: set[str], vocab_p: set[str]) -> Classifier:
    """A classifier whose two pseudo-categories match every candidate term (weight 1)."""
    cats = []
    if vocab_k:
        cats.append(Category(code="k", name="k", keywords=dict.fromkeys(vocab_k, 1.0)))
    if vocab_p:
        cats.append(Category(code="p", name="p", phrases=dict.fromkeys(vocab_p, 1.0)))
    rs = RuleSet(categories=tuple(cats), threshold=0.0, fallback="best",
                 negation_cues=base.negation_cues if base else (),
                 negation_window=base.negation_window if base else 1,
                 chatter_max_leftover=0)
    return Classifier(rs, segmenter)


def _ngrams(text: str, lo: int, hi: int) -> set[str]:
    out = set()
    n = len(text)
    for size in range(lo, hi + 1):
        for i in range(n - size + 1):
            g = text[i:i + size]
            if not g.isspace() and g.strip() == g:
                out.add(g)
    return out


def extract_features(texts: list[str], segmenter: Segmenter, cfg: LearnConfig,
                     base: RuleSet | None = None) -> list[set[str]]:
    """The set of matched terms per text: ``k:<token>`` and ``p:<ngram>``."""
    vocab_k: set[str] = set()
    vocab_p: set[str] = set()
    for t in texts:
        t = t.strip()
        if cfg.use_tokens:
            vocab_k.update(w for w in segmenter.words(t))
        vocab_p.update(_ngrams(t, cfg.ngram_min, cfg.ngram_max))
    ex = _extractor(base, segmenter, vocab_k, vocab_p)
    out = []
    for t in texts:
        matched = ex.matched_terms(t)
        feats = {"k:" + term for term in matched.get("k", [])}
        feats.update("p:" + term for term in matched.get("p", []))
        out.append(feats)
    return out


def _train_binary(xs_idx: list[list[int]], xs_val: list[list[float]], ys: list[int], n_feat: int,
                  c_pos: float, c_neg: float, epochs: int, rng: random.Random) -> list[float]:
    """L2-regularised squared-hinge SVM by dual coordinate descent; the last weight is the bias."""
    w = [0.0] * (n_feat + 1)
    n = len(ys)
    alpha = [0.0] * n
    diag = [0.5 / (c_pos if y > 0 else c_neg) for y in ys]
    qii = [sum(v * v for v in val) + diag[i] for i, val in enumerate(xs_val)]
    order = list(range(n))
    mul = operator.mul
    for _ in range(epochs):
        rng.shuffle(order)
        max_pg = 0.0
        for i in order:
            idx = xs_idx[i]
            val = xs_val[i]
            yi = ys[i]
            wx = sum(map(mul, map(w.__getitem__, idx), val))
            g = yi * wx - 1.0 + diag[i] * alpha[i]
            a_old = alpha[i]
            pg = min(g, 0.0) if a_old == 0.0 else g
            if pg == 0.0:
                continue
            max_pg = max(max_pg, abs(pg))
            a_new = max(a_old - g / qii[i], 0.0)
            alpha[i] = a_new
            d = (a_new - a_old) * yi
            if d:
                for j, v in zip(idx, val, strict=True):
                    w[j] += d * v
        if max_pg < 1e-3:
            break
    return w


def learn_rules(rows: list[tuple[str, str]], segmenter: Segmenter, cfg: LearnConfig | None = None,
                base: RuleSet | None = None) -> tuple[RuleSet, LearnReport]:
    """Learn a rule set from ``(text, label)`` rows."""
    cfg = cfg or LearnConfig()
    skipped = sum(1 for _, y in rows if y == CHATTER)
    rows = [(t, y) for t, y in rows if y != CHATTER]
    labels = sorted({y for _, y in rows})
    if len(labels) < 2:
        raise ValueError("learning needs at least two labels besides 'chatter'")
    feats = extract_features([t for t, _ in rows], segmenter, cfg, base)
    df: Counter[str] = Counter()
    for f in feats:
        df.update(f)
    vocab = sorted(t for t, n in df.items() if n >= cfg.min_count)
    index = {t: i for i, t in enumerate(vocab)}
    n_docs = len(rows)
    idf = [math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in vocab]
    norms: list[float] = []
    xs_idx: list[list[int]] = []
    xs_val: list[list[float]] = []
    bias_j = len(vocab)
    for f in feats:
        idx = sorted(index[t] for t in f if t in index)
        vals = [idf[j] for j in idx]
        norm = math.sqrt(sum(v * v for v in vals)) or 1.0
        norms.append(norm)
        xs_idx.append(idx + [bias_j])
        xs_val.append([v / norm for v in vals] + [1.0])
    bias_scale = sorted(norms)[len(norms) // 2] if cfg.scale_bias and norms else 1.0
    counts = Counter(y for _, y in rows)
    rng = random.Random(cfg.seed)
    base_cats = {c.code: c for c in base.categories} if base else {}
    cats = []
    report = LearnReport(labels=labels, n_train=n_docs, n_features=len(vocab), skipped_chatter=skipped)
    for label in labels:
        ys = [1 if y == label else -1 for _, y in rows]
        if cfg.balance:
            c_pos = cfg.c * n_docs / (2 * counts[label])
            c_neg = cfg.c * n_docs / (2 * (n_docs - counts[label]))
        else:
            c_pos = c_neg = cfg.c
        w = _train_binary(xs_idx, xs_val, ys, len(vocab), c_pos, c_neg, cfg.epochs, rng)
        if cfg.prune == "mass":
            ranked = sorted(range(len(vocab)), key=lambda j: -abs(w[j] * idf[j]) * df[vocab[j]])
        else:
            ranked = sorted(range(len(vocab)), key=lambda j: -abs(w[j] * idf[j]))
        keep = [j for j in ranked[:cfg.top_k] if abs(w[j] * idf[j]) >= 1e-4]
        keywords: dict[str, float] = {}
        phrases: dict[str, float] = {}
        for j in sorted(keep, key=lambda j: -w[j] * idf[j]):
            term = vocab[j]
            weight = round(w[j] * idf[j], 4)
            if term.startswith("k:"):
                keywords[term[2:]] = weight
            else:
                phrases[term[2:]] = weight
        known = base_cats.get(label)
        cats.append(Category(code=label, name=known.name if known else label,
                             department=known.department if known else None,
                             tier=known.tier if known else cfg.tier,
                             bias=round(w[bias_j] * bias_scale, 4) or 1e-4, keywords=keywords, phrases=phrases))
        report.kept[label] = len(keywords) + len(phrases)
    rules = RuleSet(categories=tuple(cats), threshold=0.0, second_ratio=1.0, fallback="best")
    if base is not None:
        rules = replace(rules, negation_cues=base.negation_cues, negation_window=base.negation_window,
                        chatter_terms=base.chatter_terms, chatter_max_leftover=base.chatter_max_leftover,
                        urgent_terms=base.urgent_terms)
    return rules, report
