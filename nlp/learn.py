"""``rules learn``: derive weighted keyword/phrase rules from labelled messages.

Features are what the classifier itself matches: jieba tokens (-> ``keywords``) and character
n-grams (-> ``phrases``), extracted through a :class:`Classifier` so that negation and
segmentation are exactly those used at run time. Each category gets a one-vs-rest linear SVM
(L2-regularised squared hinge, the loss of scikit-learn's LinearSVC, solved in the primal by
Newton-CG with numpy, balanced class weights) over features ``idf(term) / sqrt(number of matched
terms)``; a term's rule weight is its SVM weight times its IDF, the category's ``bias`` its
intercept, and the rules file says ``normalise: l2`` so the classifier divides each message's summed
weights by the square root of the number of terms it matched: the rules compute exactly the learned
linear model. The top-K terms per category (by |weight|) are kept so the file stays readable and
editable (optionally, ``retrain``, the model is learned again on the union of the kept terms so the
run-time normalisation is exactly the learned one; on the TipDM titles this scored slightly lower);
negative weights are counter-evidence.

Rows labelled ``chatter`` train no category (chatter is handled by the chatter section, copied with
urgency and negation from the base rules).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

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
    epochs: int = 30  # Newton iterations at most
    tol: float = 1e-3  # stop when the gradient norm fell by this factor
    seed: int = 13
    tier: str = "general"
    balance: bool = True  # weight errors inversely to class frequency
    prune: str = "weight"  # rank terms by |weight| x document frequency ("mass") or |weight| ("weight")
    normalise: bool = True  # scores divided by sqrt(number of matched terms): ``normalise: l2``
    retrain: bool = False  # learn again on the kept terms only (keeps the normalisation exact)
    min_weight: float = 1e-4  # smaller rule weights are dropped


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
    """The set of matched terms per text: ``k:<token>`` and ``p:<ngram>``.

    The base rules' keywords are words of the domain: texts are segmented with them as words.
    """
    if base is not None:
        segmenter = segmenter.with_words(k for c in base.categories for k in c.keywords)
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


def _csr(feats: list[list[int]], vals: list[list[float]], n_feat: int) -> tuple[Any, Any, Any, Any]:
    """Row-compressed arrays (indptr, indices, data, row lengths) with a bias column appended."""
    np = _numpy()
    lens = np.fromiter((len(f) + 1 for f in feats), dtype=np.int64, count=len(feats))
    indptr = np.zeros(len(feats) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int64)
    data = np.empty(int(indptr[-1]), dtype=np.float64)
    for i, (f, v) in enumerate(zip(feats, vals, strict=True)):
        a, b = indptr[i], indptr[i + 1]
        indices[a:b - 1] = f
        data[a:b - 1] = v
        indices[b - 1] = n_feat
        data[b - 1] = 1.0
    return indptr, indices, data, lens


def _train_binary(csr: tuple[Any, Any, Any, Any], ys: Any, costs: Any, n_feat: int, max_iter: int,
                  tol: float) -> Any:
    """L2-regularised squared-hinge linear SVM in the primal (the loss of LinearSVC), by Newton's
    method with conjugate gradients and an exact line search (Keerthi & DeCoste 2005).

    Minimises ``0.5 |w|^2 + sum_i C_i max(0, 1 - y_i w.x_i)^2``; the last weight is the bias
    (a constant feature 1, regularised like LIBLINEAR's). Returns the weights (numpy array).
    """
    np = _numpy()
    indptr, indices, data, lens = csr
    starts = indptr[:-1]
    d = n_feat + 1

    def xv(v: Any) -> Any:
        return np.add.reduceat(data * v[indices], starts)

    def xtv(u: Any) -> Any:
        return np.bincount(indices, weights=data * np.repeat(u, lens), minlength=d)

    w = np.zeros(d)
    z = np.zeros(len(ys))
    g0 = None
    for _ in range(max_iter):
        margin = 1.0 - ys * z
        act = margin > 0
        ca = np.where(act, costs, 0.0)
        g = w - 2.0 * xtv(ca * ys * margin)
        gn = float(np.sqrt(g @ g))
        if g0 is None:
            g0 = gn
        if gn <= tol * g0 or gn == 0.0:
            break
        # conjugate gradients on (I + 2 X_A' C_A X_A) s = -g
        s = np.zeros(d)
        r = -g
        p = r.copy()
        rr = float(r @ r)
        for _cg in range(200):
            hp = p + 2.0 * xtv(ca * xv(p))
            alpha = rr / float(p @ hp)
            s += alpha * p
            r -= alpha * hp
            rr_new = float(r @ r)
            if rr_new <= (0.1 * gn) ** 2:
                break
            p = r + (rr_new / rr) * p
            rr = rr_new
        # exact line search on the piecewise quadratic along s
        e = xv(s)
        ws, ss = float(w @ s), float(s @ s)
        t = 1.0
        for _ls in range(30):
            m = 1.0 - ys * (z + t * e)
            a = m > 0
            d1 = ws + t * ss - 2.0 * float(np.sum((costs * ys * e * m)[a]))
            d2 = ss + 2.0 * float(np.sum((costs * e * e)[a]))
            t_new = t - d1 / d2
            if abs(t_new - t) <= 1e-10 * max(1.0, abs(t)):
                t = t_new
                break
            t = t_new
        w += t * s
        z += t * e
    return w


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy ships with the learn extra
        raise ValueError("`rules learn` needs numpy (pip install numpy)") from exc
    return numpy


def _design(feats: list[set[str]], index: dict[str, int], idf: list[float], normalise: bool
            ) -> tuple[list[list[int]], list[list[float]]]:
    """Per message: vocabulary indices and values ``idf / sqrt(number of matched terms)``."""
    xs_idx: list[list[int]] = []
    xs_val: list[list[float]] = []
    for f in feats:
        idx = sorted(index[t] for t in f if t in index)
        scale = 1.0 / math.sqrt(len(idx)) if normalise and idx else 1.0
        xs_idx.append(idx)
        xs_val.append([idf[j] * scale for j in idx])
    return xs_idx, xs_val


def _fit(rows: list[tuple[str, str]], feats: list[set[str]], vocab: list[str], idf: list[float],
         labels: list[str], cfg: LearnConfig) -> list[Any]:
    """One-vs-rest SVM weights (term weights times IDF, then the bias) per label."""
    np = _numpy()
    index = {t: i for i, t in enumerate(vocab)}
    xs_idx, xs_val = _design(feats, index, idf, cfg.normalise)
    csr = _csr(xs_idx, xs_val, len(vocab))
    n_docs = len(rows)
    counts = Counter(y for _, y in rows)
    idf_b = np.array(list(idf) + [1.0])
    if cfg.balance:  # as scikit-learn's class_weight="balanced": n / (k * count of the row's label)
        costs = np.array([cfg.c * n_docs / (len(labels) * counts[y]) for _, y in rows])
    else:
        costs = np.full(n_docs, cfg.c)
    out = []
    for label in labels:
        ys = np.array([1.0 if y == label else -1.0 for _, y in rows])
        w = _train_binary(csr, ys, costs, len(vocab), cfg.epochs, cfg.tol)
        out.append(w * idf_b)  # rule weight of a term = SVM weight x IDF; the bias stays
    return out


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
    n_docs = len(rows)

    def idf_of(terms: list[str]) -> list[float]:
        return [math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms]

    weights = _fit(rows, feats, vocab, idf_of(vocab), labels, cfg)

    def ranked(w: Any, terms: list[str]) -> list[int]:
        if cfg.prune == "mass":
            key = [-abs(w[j]) * df[terms[j]] for j in range(len(terms))]
        else:
            key = [-abs(w[j]) for j in range(len(terms))]
        return sorted(range(len(terms)), key=key.__getitem__)

    if cfg.retrain and len(vocab) > cfg.top_k:
        # keep the union of every category's top terms and learn again on just those, so that the
        # normalisation at run time (the terms the rules file matches) is the one learned with
        union = set()
        for w in weights:
            union.update(vocab[j] for j in ranked(w, vocab)[:cfg.top_k])
        vocab = sorted(union)
        weights = _fit(rows, feats, vocab, idf_of(vocab), labels, cfg)

    base_cats = {c.code: c for c in base.categories} if base else {}
    cats = []
    report = LearnReport(labels=labels, n_train=n_docs, n_features=len(vocab), skipped_chatter=skipped)
    bias_j = len(vocab)
    for label, w in zip(labels, weights, strict=True):
        keep = [j for j in ranked(w, vocab)[:cfg.top_k] if abs(w[j]) >= cfg.min_weight]
        keywords: dict[str, float] = {}
        phrases: dict[str, float] = {}
        for j in sorted(keep, key=lambda j: -w[j]):
            term = vocab[j]
            weight = float(w[j])
            if not weight:
                continue
            if term.startswith("k:"):
                keywords[term[2:]] = weight
            else:
                phrases[term[2:]] = weight
        known = base_cats.get(label)
        cats.append(Category(code=label, name=known.name if known else label,
                             department=known.department if known else None,
                             tier=known.tier if known else cfg.tier,
                             bias=float(w[bias_j]) or 1e-4, keywords=keywords, phrases=phrases))
        report.kept[label] = len(keywords) + len(phrases)
    rules = RuleSet(categories=tuple(cats), threshold=0.0, second_ratio=1.0, fallback="best",
                    normalise="l2" if cfg.normalise else "none")
    if base is not None:
        rules = replace(rules, negation_cues=base.negation_cues, negation_window=base.negation_window,
                        chatter_terms=base.chatter_terms, chatter_max_leftover=base.chatter_max_leftover,
                        urgent_terms=base.urgent_terms, request_cues=base.request_cues,
                        unclear_max_chars=base.unclear_max_chars,
                        closing_resolved=base.closing_resolved, closing_thanks=base.closing_thanks,
                        closing_open=base.closing_open)
    return rules, report
