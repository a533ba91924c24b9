"""Accuracy bench: learned keyword rules vs TF-IDF char 1-3 grams + LinearSVC on the same split.

Run from the repo root: ``python bench/classifier_accuracy.py [DATA.csv] [--seed N] [--top-k K]``.
Data default: /work/shared/data/tipdm2020c_titles_dev.csv (read in place, never copied).
A fixed, seeded 80/20 stratified split: rules are learned on 80% and both models are scored on
the 20% neither saw. scikit-learn is imported here only (a bench-only extra).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.classifier import DEFAULT_RULES, DEFAULT_USERDICT, Classifier  # noqa: E402
from nlp.data import read_labelled, stratified_split  # noqa: E402
from nlp.evaluate import evaluate, format_report, score  # noqa: E402
from nlp.learn import LearnConfig, learn_rules  # noqa: E402
from nlp.rules import load_rules  # noqa: E402
from nlp.tokenize import get_segmenter  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/tipdm2020c_titles_dev.csv")


def baseline(train: list[tuple[str, str]], test: list[tuple[str, str]]) -> tuple[float, dict[str, float]]:
    """TF-IDF char 1-3 grams + LinearSVC, scikit-learn defaults otherwise."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    model = LinearSVC().fit(vec.fit_transform([t for t, _ in train]), [y for _, y in train])
    pred = list(model.predict(vec.transform([t for t, _ in test])))
    rep = score([y for _, y in test], pred)
    return rep.macro_f1, rep.f1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--split", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=LearnConfig.top_k)
    ap.add_argument("--c", type=float, default=LearnConfig.c)
    args = ap.parse_args(argv)

    rows = read_labelled(args.data)
    train, test = stratified_split(rows, args.split, args.seed)
    print(f"data {args.data}: {len(rows)} rows, train {len(train)}, held-out test {len(test)} (seed {args.seed})")

    b_f1, b_per = baseline(train, test)

    seg = get_segmenter(DEFAULT_USERDICT)
    t0 = time.perf_counter()
    rules, report = learn_rules(train, seg, LearnConfig(top_k=args.top_k, c=args.c),
                                base=load_rules(DEFAULT_RULES))
    learn_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:  # round-trip through YAML: what is scored is the file
        path = Path(tmp) / "learned.yaml"
        rules.dump(path)
        size = path.stat().st_size
        rules = load_rules(path)
    rep = evaluate(Classifier(rules, seg), test)

    print(f"learned in {learn_s:.1f}s from {report.n_features} candidate terms; rules file {size / 1024:.0f} KiB")
    print("terms kept per category: " + ", ".join(f"{k} {v}" for k, v in report.kept.items()))
    print(format_report(rep, "learned rules on the held-out 20%:"))
    print()
    print(f"{'label':<12}{'rules F1':>10}{'baseline F1':>13}")
    for lab in rep.labels:
        print(f"{lab:<12}{rep.f1[lab]:10.3f}{b_per.get(lab, 0.0):13.3f}")
    print(f"macro-F1 learned rules {rep.macro_f1:.4f}  vs  TF-IDF char1-3 + LinearSVC {b_f1:.4f}"
          f"  ({'>=' if rep.macro_f1 >= b_f1 else '<'} baseline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
