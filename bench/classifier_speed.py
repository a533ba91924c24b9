"""Speed bench: load time, messages per second and memory of the loaded classifier.

Run from the repo root: ``python bench/classifier_speed.py [--rules FILE] [--seconds S]``.
Messages: tests/data/grid_messages.csv (short resident chat, chatter included), classified
repeatedly in one process; a second figure for the TipDM titles (longer) if the file exists.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nlp.classifier as classifier_mod  # noqa: E402
import nlp.tokenize as tokenize_mod  # noqa: E402
from nlp.classifier import DEFAULT_FAQ, DEFAULT_RULES, load_classifier  # noqa: E402
from nlp.data import read_labelled  # noqa: E402

TITLES = Path("/work/shared/data/tipdm2020c_titles_dev.csv")


def rate(clf, texts: list[str], seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Messages per second over at least ``seconds`` of classification."""
    n = 0
    t0 = time.perf_counter()
    while True:
        for t in texts:
            clf.classify(t)
        n += len(texts)
        el = time.perf_counter() - t0
        if el >= seconds:
            return n / el


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    clf = load_classifier(args.rules, faq_path=args.faq)
    load_s = time.perf_counter() - t0
    print(f"load (jieba dict + user dict + rules + FAQ + warm-up): {load_s:.2f} s")
    # memory: build a second, independent classifier under tracemalloc (which slows loading ~20x)
    classifier_mod._CACHE.clear()
    tokenize_mod._tokenizer.cache_clear()
    tracemalloc.start()
    load_classifier(args.rules, faq_path=args.faq)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory of the loaded classifier (tracemalloc): {current / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB)")
    t0 = time.perf_counter()
    load_classifier(args.rules, faq_path=args.faq)
    print(f"second load_classifier call (cached): {(time.perf_counter() - t0) * 1e3:.2f} ms")

    chat = [t for t, _ in read_labelled(ROOT / "tests" / "data" / "grid_messages.csv")]
    avg = sum(map(len, chat)) / len(chat)
    print(f"short chat messages ({len(chat)} distinct, avg {avg:.0f} chars): "
          f"{rate(clf, chat, args.seconds):,.0f} messages/s")
    requests = [t for t, y in read_labelled(ROOT / "tests" / "data" / "grid_messages.csv") if y != "chatter"]
    print(f"requests only (no chatter fast path): {rate(clf, requests, args.seconds):,.0f} messages/s")
    if TITLES.is_file():
        titles = [t for t, _ in read_labelled(TITLES)]
        avg = sum(map(len, titles)) / len(titles)
        print(f"TipDM titles ({len(titles)}, avg {avg:.0f} chars) with these rules: "
              f"{rate(clf, titles, args.seconds):,.0f} messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
