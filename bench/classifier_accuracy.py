"""Accuracy bench: learned keyword rules vs TF-IDF char 1-3 grams + LinearSVC on the same splits.

Run from the repo root::

    python bench/classifier_accuracy.py [DATA.csv] [--seeds 42,7,1] [--folds 5] [--top-k K] [--c C]

Data default: /work/shared/data/tipdm2020c_titles_dev.csv (read in place, never copied).
For every seed: stratified k-fold cross-validation (the same folds for both models: each learns on
k-1 folds and is scored on the fold it never saw), then the fixed, seeded 80/20 stratified split
(seed 42). The learned rules are scored after a round trip through their YAML file (what is
scored is the file the classifier loads). Prints per-fold and mean macro-F1 of both, per-class F1
and the terms each category keeps. scikit-learn is imported here only (a bench-only extra).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.classifier import DEFAULT_RULES, DEFAULT_USERDICT, Classifier  # noqa: E402
from nlp.data import read_labelled, stratified_folds, stratified_split  # noqa: E402
from nlp.evaluate import EvalReport, evaluate, score  # noqa: E402
from nlp.learn import LearnConfig, learn_rules  # noqa: E402
from nlp.rules import RuleSet, load_rules  # noqa: E402
from nlp.tokenize import get_segmenter  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/tipdm2020c_titles_dev.csv")
Rows = list[tuple[str, str]]


def baseline(train: Rows, test: Rows) -> EvalReport:
    """TF-IDF char 1-3 grams + LinearSVC, scikit-learn defaults otherwise."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    model = LinearSVC().fit(vec.fit_transform([t for t, _ in train]), [y for _, y in train])
    pred = list(model.predict(vec.transform([t for t, _ in test])))
    return score([y for _, y in test], pred)


def learned(train: Rows, test: Rows, cfg: LearnConfig, base: RuleSet) -> tuple[EvalReport, dict[str, int], float, int]:
    """Learn rules on ``train``, write and reload the YAML, score on ``test``."""
    seg = get_segmenter(DEFAULT_USERDICT)
    t0 = time.perf_counter()
    rules, report = learn_rules(train, seg, cfg, base=base)
    seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "learned.yaml"
        rules.dump(path)
        size = path.stat().st_size
        rules = load_rules(path)
    return evaluate(Classifier(rules, seg), test), report.kept, seconds, size


def per_class(rules_rep: EvalReport, base_rep: EvalReport, title: str) -> None:
    print(title)
    print(f"  {'label':<12}{'rules F1':>10}{'baseline F1':>13}")
    for lab in rules_rep.labels:
        print(f"  {lab:<12}{rules_rep.f1[lab]:10.3f}{base_rep.f1.get(lab, 0.0):13.3f}")


def merged(reports: list[EvalReport]) -> EvalReport:
    gold: list[str] = []
    pred: list[str] = []
    for r in reports:
        for g, row in r.confusion.items():
            for p, n in row.items():
                gold += [g] * n
                pred += [p] * n
    return score(gold, pred)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seeds", default="42,7,1", help="comma-separated seeds of the fold assignment")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--split-seed", type=int, default=42)
    ap.add_argument("--top-k", type=int, default=LearnConfig.top_k)
    ap.add_argument("--c", type=float, default=LearnConfig.c)
    args = ap.parse_args(argv)
    cfg = LearnConfig(top_k=args.top_k, c=args.c)
    base = load_rules(DEFAULT_RULES)
    rows = read_labelled(args.data)
    print(f"data {args.data}: {len(rows)} rows; learner top_k={cfg.top_k} C={cfg.c} "
          f"normalise={'l2' if cfg.normalise else 'none'}")

    all_rules: list[float] = []
    all_base: list[float] = []
    kept: dict[str, int] = {}
    for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
        print(f"\n{args.folds}-fold stratified cross-validation, seed {seed} (same folds for both)")
        print(f"  {'fold':<6}{'rules':>8}{'baseline':>10}{'diff':>8}{'learn s':>9}")
        r_reps: list[EvalReport] = []
        b_reps: list[EvalReport] = []
        for k, (train, test) in enumerate(stratified_folds(rows, args.folds, seed), 1):
            rep, kept, secs, _ = learned(train, test, cfg, base)
            brep = baseline(train, test)
            r_reps.append(rep)
            b_reps.append(brep)
            print(f"  {k:<6}{rep.macro_f1:8.4f}{brep.macro_f1:10.4f}{rep.macro_f1 - brep.macro_f1:+8.4f}"
                  f"{secs:9.1f}", flush=True)
        rm = statistics.mean(r.macro_f1 for r in r_reps)
        bm = statistics.mean(r.macro_f1 for r in b_reps)
        all_rules += [r.macro_f1 for r in r_reps]
        all_base += [r.macro_f1 for r in b_reps]
        print(f"  {'mean':<6}{rm:8.4f}{bm:10.4f}{rm - bm:+8.4f}   ({'>=' if rm >= bm else '<'} baseline)")
        per_class(merged(r_reps), merged(b_reps), "  per-class F1 over all folds (pooled predictions):")
    if all_rules:
        rm, bm = statistics.mean(all_rules), statistics.mean(all_base)
        wins = sum(1 for a, b in zip(all_rules, all_base, strict=True) if a >= b)
        print(f"\nall {len(all_rules)} folds: learned rules mean macro-F1 {rm:.4f} (sd "
              f"{statistics.pstdev(all_rules):.4f})  vs  baseline {bm:.4f} (sd {statistics.pstdev(all_base):.4f})"
              f"  diff {rm - bm:+.4f}; rules >= baseline on {wins}/{len(all_rules)} folds")
        print("terms kept per category (last fold): " + ", ".join(f"{k} {v}" for k, v in kept.items()))

    train, test = stratified_split(rows, 0.8, args.split_seed)
    rep, kept, secs, size = learned(train, test, cfg, base)
    brep = baseline(train, test)
    print(f"\nfixed 80/20 stratified split (seed {args.split_seed}): train {len(train)}, held-out {len(test)}")
    print(f"learned in {secs:.1f}s; rules file {size / 1024:.0f} KiB; terms kept per category: "
          + ", ".join(f"{k} {v}" for k, v in kept.items()))
    per_class(rep, brep, "per-class F1 on the held-out 20%:")
    print(f"macro-F1 learned rules {rep.macro_f1:.4f}  vs  TF-IDF char1-3 + LinearSVC {brep.macro_f1:.4f}"
          f"  ({'>=' if rep.macro_f1 >= brep.macro_f1 else '<'} baseline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
