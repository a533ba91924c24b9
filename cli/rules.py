"""``bot.py rules …``: learn rules from labelled data, evaluate rules, explain one message.

``--from-tickets`` (``cli.rules_tickets``) takes the labelled data from the tickets staff
corrected with 改类, so the rules are measured on, and learn from, the township's own triage.

The lead wires :func:`add_commands` into bot.py's argparse; every sub-command sets ``func``, which
takes the parsed namespace and returns an exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cli.logs import configure_logging
from cli.rules_tickets import add_ticket_options, ticket_rows
from nlp.classifier import (
    DEFAULT_FAQ,
    DEFAULT_RULES,
    DEFAULT_USERDICT,
    ROOT,
    Classifier,
    load_classifier,
)
from nlp.data import read_labelled, stratified_folds, stratified_split
from nlp.evaluate import EvalReport, evaluate, format_report, predicted_label, score
from nlp.learn import LearnConfig, learn_rules
from nlp.rules import RuleError, load_rules
from nlp.tokenize import get_segmenter

#: The held-out split of the labelled grid-chat messages: the default rules were never tuned on
#: it (they were tuned on grid_chat_dev.csv beside it); ``rules eval`` scores it by default.
DEFAULT_EVAL_DATA = ROOT / "tests" / "data" / "grid_chat_test.csv"


def _learn_config(ns: argparse.Namespace) -> LearnConfig:
    return LearnConfig(top_k=ns.top_k, min_count=ns.min_count, c=ns.c)


def _add_learn_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-count", type=int, default=LearnConfig.min_count,
                   help="a term must occur in at least this many messages")
    p.add_argument("--top-k", type=int, default=LearnConfig.top_k, help="terms kept per category")
    p.add_argument("--c", type=float, default=LearnConfig.c, help="SVM regularisation")
    p.add_argument("--base", type=Path, default=DEFAULT_RULES,
                   help="rules whose names, departments, chatter, urgency and negation are reused")


def cmd_learn(ns: argparse.Namespace) -> int:
    """Learn rules from DATA.csv (and/or the corrected tickets) and write them to --out."""
    rows = read_labelled(ns.data) if ns.data else []
    names = [Path(ns.data).name] if ns.data else []
    if ns.from_tickets:
        found = ticket_rows(ns)
        rows += found.rows * max(ns.weight, 1)
        names.append(f"{len(found.rows)} {found.source} (x{max(ns.weight, 1)})")
        print(f"{len(found.rows)} {found.source}")
    elif not ns.data:
        raise ValueError("rules learn needs DATA.csv, --from-tickets, or both")
    base = load_rules(ns.base) if ns.base and Path(ns.base).is_file() else None
    t0 = time.perf_counter()
    rules, report = learn_rules(rows, get_segmenter(DEFAULT_USERDICT), _learn_config(ns), base=base)
    header = (f"# learned by `rules learn` from {' + '.join(names)}: {report.n_train} messages, "
              f"{report.n_features} candidate terms, top {ns.top_k} per category kept")
    rules.dump(ns.out, header=header)
    print(f"learned {len(report.labels)} categories from {report.n_train} messages "
          f"in {time.perf_counter() - t0:.1f}s -> {ns.out}")
    if report.skipped_chatter:
        print(f"({report.skipped_chatter} 'chatter' rows train no category)")
    for label, n in report.kept.items():
        print(f"  {label}: {n} terms")
    return 0


def _merge(reports: list[EvalReport]) -> EvalReport:
    gold: list[str] = []
    pred: list[str] = []
    seconds = 0.0
    for r in reports:
        for g, row in r.confusion.items():
            for p, n in row.items():
                gold += [g] * n
                pred += [p] * n
        seconds += r.n / r.per_second if r.per_second else 0.0
    return score(gold, pred, seconds)


def cmd_eval_tickets(ns: argparse.Namespace) -> int:
    """Evaluate rules (default: the township's, from --config) on the corrected tickets."""
    found = ticket_rows(ns)
    if not found.rows:
        print(f"no {found.source} to evaluate on")
        return 0
    rules_path = ns.rules or found.rules_path
    faq = Path(ns.faq) if ns.faq else (found.faq_path if ns.rules is None else None)
    clf = load_classifier(rules_path, faq_path=faq)
    rep = evaluate(clf, found.rows)
    print(format_report(rep, f"rules {rules_path} on {len(found.rows)} {found.source}"))
    wrong = [(n, text, gold, predicted_label(clf.classify(text)))
             for n, (text, gold) in zip(found.ticket_ids, found.rows, strict=True)]
    wrong = [w for w in wrong if w[2] != w[3]]
    print(f"misclassified: {len(wrong)} of {len(found.rows)}")
    for n, text, gold, pred in wrong[: ns.errors or 20]:
        print(f"  #{n} [{gold} -> {pred}] {text[:60]}")
    return 0


def cmd_eval(ns: argparse.Namespace) -> int:
    """Evaluate rules on DATA.csv, or learn-and-evaluate with --cv K / --split."""
    if ns.from_tickets:
        if ns.data != DEFAULT_EVAL_DATA or ns.cv or ns.split:
            raise ValueError("--from-tickets takes no DATA.csv, --cv or --split")
        return cmd_eval_tickets(ns)
    rows = read_labelled(ns.data)
    seg = get_segmenter(DEFAULT_USERDICT)
    base = load_rules(ns.rules or DEFAULT_RULES)
    if ns.cv or ns.split:
        if ns.cv:
            pairs = stratified_folds(rows, ns.cv, ns.seed)
            title = f"{ns.cv}-fold cross-validation of learned rules"
        else:
            pairs = [stratified_split(rows, ns.split, ns.seed)]
            title = f"learned on {ns.split:.0%}, scored on the held-out rest (seed {ns.seed})"
        reports = []
        for train, test in pairs:
            rules, _ = learn_rules(train, seg, _learn_config(ns), base=base)
            reports.append(evaluate(Classifier(rules, seg), test))
        rep = reports[0] if len(reports) == 1 else _merge(reports)
        print(format_report(rep, title))
        return 0
    faq = Path(ns.faq) if ns.faq else (DEFAULT_FAQ if ns.rules is None else None)
    clf = load_classifier(ns.rules or DEFAULT_RULES, faq_path=faq)
    rep = evaluate(clf, rows)
    print(format_report(rep, f"rules {ns.rules or DEFAULT_RULES} on {ns.data}"))
    if ns.errors:
        for text, gold, pred in rep.errors[: ns.errors]:
            print(f"  [{gold} -> {pred}] {text}")
    return 0


def cmd_explain(ns: argparse.Namespace) -> int:
    """Classify one message and show why."""
    faq = Path(ns.faq) if ns.faq else (DEFAULT_FAQ if ns.rules is None else None)
    clf = load_classifier(ns.rules or DEFAULT_RULES, faq_path=faq)
    c = clf.classify(ns.text)
    print(f"kind={c.kind} category={c.category or '-'} second={c.second_category or '-'} "
          f"score={c.score} urgent={c.urgent} tier={c.tier} department={c.department or '-'}")
    print(c.explain_text())
    if c.faq:
        print(c.faq.answer)
    if ns.json:
        print(json.dumps(c.explanation, ensure_ascii=False, indent=1))
    return 0


def _guard(func):  # type: ignore[no-untyped-def]
    def run(ns: argparse.Namespace) -> int:
        try:
            return func(ns)
        except (RuleError, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    run.__doc__ = func.__doc__
    return run


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``rules learn|eval|explain`` on an argparse sub-parsers object."""
    rules = subparsers.add_parser("rules", help="classifier rules: learn, evaluate, explain")
    sub = rules.add_subparsers(dest="rules_command", required=True)

    p = sub.add_parser("learn", help="derive weighted keyword rules from labelled CSV (text,label)"
                                     " and/or the tickets corrected with 改类")
    p.add_argument("data", type=Path, nargs="?", default=None,
                   help="labelled CSV (text,label); optional with --from-tickets")
    p.add_argument("--out", type=Path, required=True)
    add_ticket_options(p)
    p.add_argument("--weight", type=int, default=2,
                   help="with --from-tickets: each corrected ticket counts this many times")
    _add_learn_options(p)
    p.set_defaults(func=_guard(cmd_learn))

    p = sub.add_parser("eval", help="precision/recall/F1, macro-F1, confusion matrix, speed")
    p.add_argument("data", type=Path, nargs="?", default=DEFAULT_EVAL_DATA,
                   help="labelled CSV (text,label); default: the held-out test split "
                        f"{DEFAULT_EVAL_DATA.relative_to(ROOT)}")
    add_ticket_options(p)
    p.add_argument("--rules", type=Path, default=None, help=f"default {DEFAULT_RULES}")
    p.add_argument("--faq", type=Path, default=None)
    p.add_argument("--cv", type=int, default=0, help="k-fold cross-validation of learned rules")
    p.add_argument("--split", type=float, default=0.0, help="learn on this share, score the rest")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--errors", type=int, default=0, help="print this many misclassified messages"
                                                              " (--from-tickets: default 20)")
    _add_learn_options(p)
    p.set_defaults(func=_guard(cmd_eval))

    p = sub.add_parser("explain", help="classify one message and show the matched terms")
    p.add_argument("text")
    p.add_argument("--rules", type=Path, default=None)
    p.add_argument("--faq", type=Path, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_guard(cmd_explain))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: ``python -m cli.rules rules …``."""
    ap = argparse.ArgumentParser(prog="nlp")
    add_commands(ap.add_subparsers(dest="command", required=True))
    ns = ap.parse_args(argv)
    configure_logging()
    return int(ns.func(ns))


if __name__ == "__main__":
    raise SystemExit(main())
