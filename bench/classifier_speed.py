"""Speed bench: load time, messages per second and memory of the loaded classifier.

Run from the repo root: ``python bench/classifier_speed.py [--rules FILE] [--n N]``.
Messages are unique (no two texts alike, so no cache of recent texts can help): every labelled
message of tests/data/grid_messages.csv (short resident chat, chatter included) in many variants
-- a building/unit/room, a time, a name prefix -- classified once each in one process. Two sets:
the chatter mix (as labelled, about one in six is chatter) and requests only (no chatter fast
path); a third figure for the TipDM titles (longer, all distinct) if the file exists.
"""

from __future__ import annotations

import argparse
import random
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


PREFIXES = ("", "", "", "网格员你好，", "@社区 ", "麻烦问下，", "老王反映：", "")
SUFFIXES = ("", "。", "！", "，谢谢", "，麻烦尽快", "？")


def unique_messages(texts: list[str], n: int, seed: int = 7) -> list[str]:
    """``n`` distinct messages made from ``texts``: each gets a prefix, a place or time, a suffix."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        t = rng.choice(texts)
        r = rng.random()
        if r < 0.4:
            extra = f"{rng.randint(1, 40)}栋{rng.randint(1, 6)}单元{rng.randint(1, 26)}0{rng.randint(1, 4)}"
        elif r < 0.7:
            extra = f"{rng.randint(1, 12)}点{rng.randint(0, 59)}分"
        else:
            extra = f"{rng.randint(1, 99)}号"
        msg = rng.choice(PREFIXES) + (f"{t}，{extra}" if rng.random() < 0.6 else f"{extra}{t}")
        msg += rng.choice(SUFFIXES)
        if msg not in seen:
            seen.add(msg)
            out.append(msg)
    return out


def rate(clf, texts: list[str], runs: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Messages per second classifying every (unique) text once, in ``runs`` equal batches: the
    best batch (less noise from the machine), none of its texts seen before."""
    best = 0.0
    size = len(texts) // runs
    classify = clf.classify
    for r in range(runs):
        batch = texts[r * size:(r + 1) * size]
        t0 = time.perf_counter()
        for t in batch:
            classify(t)
        best = max(best, len(batch) / (time.perf_counter() - t0))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    ap.add_argument("--n", type=int, default=20000, help="unique messages per set")
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

    rows = read_labelled(ROOT / "tests" / "data" / "grid_messages.csv")
    chat = unique_messages([t for t, _ in rows], 3 * args.n)
    requests = unique_messages([t for t, y in rows if y != "chatter"], 3 * args.n, seed=8)
    for name, msgs in (("chatter mix", chat), ("requests only (no chatter fast path)", requests)):
        avg = sum(map(len, msgs)) / len(msgs)
        print(f"{name}: {len(msgs):,} unique messages (best of 3 batches), avg {avg:.0f} chars: "
              f"{rate(clf, msgs):,.0f} messages/s")
    if TITLES.is_file():
        titles = list(dict.fromkeys(t for t, _ in read_labelled(TITLES)))
        avg = sum(map(len, titles)) / len(titles)
        print(f"TipDM titles ({len(titles)}, avg {avg:.0f} chars) with these rules: "
              f"{rate(clf, titles):,.0f} messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
