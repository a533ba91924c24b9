"""Labelled data: reading ``text,label`` CSV files, stratified splits and folds."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

Row = tuple[str, str]


def read_labelled(path: str | Path) -> list[Row]:
    """Rows of a CSV with ``text`` and ``label`` columns (header required; blanks skipped)."""
    p = Path(path)
    with p.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "text" not in reader.fieldnames or "label" not in reader.fieldnames:
            raise ValueError(f"{p}: the CSV needs a header with 'text' and 'label' columns")
        rows = []
        for r in reader:
            text = (r.get("text") or "").strip()
            label = (r.get("label") or "").strip()
            if text and label:
                rows.append((text, label))
    return rows


def _by_label(rows: list[Row], seed: int) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (_, label) in enumerate(rows):
        groups[label].append(i)
    rng = random.Random(seed)
    for label in sorted(groups):
        rng.shuffle(groups[label])
    return groups


def stratified_split(rows: list[Row], train: float = 0.8, seed: int = 42) -> tuple[list[Row], list[Row]]:
    """A fixed, seeded, per-label split into (train, test)."""
    tr: list[int] = []
    te: list[int] = []
    for _label, idx in sorted(_by_label(rows, seed).items()):
        cut = round(len(idx) * train)
        tr += idx[:cut]
        te += idx[cut:]
    return [rows[i] for i in sorted(tr)], [rows[i] for i in sorted(te)]


def stratified_folds(rows: list[Row], k: int, seed: int = 42) -> list[tuple[list[Row], list[Row]]]:
    """``k`` (train, test) pairs; every row is tested exactly once."""
    fold_of = [0] * len(rows)
    for _label, idx in sorted(_by_label(rows, seed).items()):
        for j, i in enumerate(idx):
            fold_of[i] = j % k
    return [([r for r, f in zip(rows, fold_of, strict=True) if f != fold],
             [r for r, f in zip(rows, fold_of, strict=True) if f == fold]) for fold in range(k)]
