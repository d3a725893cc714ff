"""Scale: seconds per attacked target and peak memory as the label count L and the document grow.

Victims are the synthetic AttentionXMLs of :mod:`synthetic_tree` (random
weights, seeded): the label tree in the original Amazon-670K tree's shape at
every L, and a flat AttentionXML of the same sizes where one forward pass of
64 texts fits under ``--flat-limit-gb`` (its [64, T, L] attention scores
grow with L; the script says which sizes it skipped and the estimate).
Every victim is attacked with ``xmtc-pos`` (k = 5, GloVe candidates, no
encoder) on the same synthetic documents (true labels = the victim's own
top-5, target = the 5th), through the experiment's per-target code.

Two sweeps:

* L (``--labels``, default 1k, 10k, 100k, 670,091) at ``--words`` words;
* document length (``--doc-words``, default 100, 500, 2,000) on the tree
  with ``--doc-labels`` labels. AttentionXML reads at most ``max_length``
  words (500 by default, the original's): later words cannot change its
  scores, and the recipe does not try them, so a 2,000-word document costs
  about what a 500-word one does. The table says how many words were read.

For each run: median and mean seconds per target, median queries, seconds
per query (all time / all queries), success rate, RSS after the model is
built, and the peak growth over it while attacking (Linux ``VmHWM``, reset
after a warm-up target: every transient tensor counts). The ratio of the
670K tree to the 1K tree, and time per word read, close the table.

Usage::

    python benchmarks/scale.py                                  # both sweeps, 10 targets each
    python benchmarks/scale.py --labels 1000 10000 --doc-words  # L sweep only, 2 sizes
    python benchmarks/scale.py --targets 5 --doc-targets 3
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_tree  # noqa: E402  (the benchmarks directory, put on the path above)
from memory import machine_line, peak_mb, reset_peak, rss_mb  # noqa: E402

DEFAULT_LABELS = (1_000, 10_000, 100_000, synthetic_tree.AMAZON_670K)
DEFAULT_DOC_WORDS = (100, 500, 2_000)


def attack_rows(victim, rows: List[dict], options: dict, seed: int = 0) -> dict:
    """Attack ``rows`` (after one warm-up row) and return the timings and memory of the rest."""
    from textattack_xmtc.datasets import XMTCTarget
    from textattack_xmtc.study.experiment import TargetAttacker

    loaded = rss_mb()
    attacker = TargetAttacker("xmtc-pos", options, seed, victim=victim)

    def attack(number, row):
        target = XMTCTarget(row["labels"], row["target"], row["k"], attack=row["attack"])
        start = time.perf_counter()
        result = attacker.attack_target(number, row["text"], str(target))
        return time.perf_counter() - start, result

    attack(0, rows[0])  # warm-up: GloVe candidates, threads, kernels
    reset_peak()
    timed = [attack(number, row) for number, row in enumerate(rows[1:], start=1)]
    seconds = [s for s, _ in timed]
    queries = [int(result["queries"]) for _, result in timed]
    return {"targets": len(timed), "median": statistics.median(seconds), "mean": statistics.mean(seconds),
            "queries": statistics.median(queries), "per_query": sum(seconds) / max(1, sum(queries)),
            "success": sum(result["status"] == "succeeded" for _, result in timed) / len(timed),
            "loaded": loaded, "growth": peak_mb() - loaded}


def run_one(kind: str, labels_num: int, words: int, targets: int, options: dict, top: int,
            flat_limit: float, seed: int) -> dict:
    """Build one victim, attack ``targets`` targets of ``words``-word documents, free it; the row to print."""
    row = {"kind": kind, "labels": labels_num, "words": words}
    if kind == "flat":
        needed = synthetic_tree.flat_attack_bytes(labels_num, words=words) / 2 ** 30
        if needed > flat_limit:
            row["skipped"] = (f"one 64-text forward pass needs ~{needed:.1f} GiB ([64, T, L] attention "
                              f"scores and [64, L, 2h] contexts) > --flat-limit-gb {flat_limit:g}")
            return row
    gc.collect()
    start = time.perf_counter()
    victim = (synthetic_tree.build_tree_victim(labels_num, seed=seed, top=top) if kind == "tree"
              else synthetic_tree.build_flat_victim(labels_num, seed=seed))
    row["build"] = time.perf_counter() - start
    row["size_mb"] = synthetic_tree.model_bytes(victim) / 2 ** 20
    row["read"] = min(words, victim.max_words or words)
    row["levels"] = (" -> ".join(str(n) for n in victim.model.sizes) if kind == "tree" else str(labels_num))
    documents = synthetic_tree.synthetic_documents(victim, targets + 1, words, seed=seed)
    chosen = synthetic_tree.choose_targets(victim, documents, k=options["k"])
    row.update(attack_rows(victim, chosen, options, seed))
    del victim, chosen
    gc.collect()
    return row


def print_rows(title: str, rows: Sequence[dict]) -> None:
    print(f"\n{title}")
    print(f"{'victim':<6} {'L':>8} {'words':>6} {'read':>5} {'targets':>7} {'median s':>9} {'mean s':>8} "
          f"{'queries':>8} {'ms/query':>9} {'success':>8} {'model MB':>9} {'RSS MB':>8} {'peak +MB':>9}  levels")
    for row in rows:
        head = f"{row['kind']:<6} {row['labels']:>8} {row['words']:>6}"
        if "skipped" in row:
            print(f"{head}   skipped: {row['skipped']}")
            continue
        print(f"{head} {row['read']:>5} {row['targets']:>7} {row['median']:>9.3f} {row['mean']:>8.3f} "
              f"{row['queries']:>8.0f} {row['per_query'] * 1e3:>9.2f} {row['success']:>8.0%} "
              f"{row['size_mb']:>9.1f} {row['loaded']:>8.0f} {row['growth']:>+9.1f}  {row['levels']}")


def print_ratios(by_labels: Sequence[dict], by_words: Sequence[dict]) -> None:
    trees = [row for row in by_labels if row["kind"] == "tree" and "skipped" not in row]
    if len(trees) >= 2:
        small, large = trees[0], trees[-1]
        print(f"\ntree, L={large['labels']} against L={small['labels']}: "
              f"{large['median'] / small['median']:.2f}x the median seconds per target, "
              f"{large['mean'] / small['mean']:.2f}x the mean, {large['per_query'] / small['per_query']:.2f}x "
              f"the seconds per query")
        for row in trees[1:-1]:
            print(f"tree, L={large['labels']} against L={row['labels']}: "
                  f"{large['median'] / row['median']:.2f}x the median, "
                  f"{large['per_query'] / row['per_query']:.2f}x per query")
    measured = [row for row in by_words if "skipped" not in row]
    if len(measured) >= 2:
        first = measured[0]
        for row in measured[1:]:
            print(f"document {row['words']} words ({row['read']} read) against {first['words']} "
                  f"({first['read']} read): {row['words'] / first['words']:.1f}x the words, "
                  f"{row['read'] / first['read']:.1f}x the words read, {row['median'] / first['median']:.2f}x "
                  f"the median seconds per target, {row['mean'] / first['mean']:.2f}x the mean, "
                  f"{row['per_query'] / first['per_query']:.2f}x the seconds per query")
        for row in measured:
            print(f"  {row['words']} words: {row['median'] / row['read'] * 1e3:.2f} ms per word read per target "
                  f"(median), {row['queries'] / row['read']:.1f} queries per word read")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, nargs="*", default=list(DEFAULT_LABELS),
                        help="label counts of the L sweep (none: skip it)")
    parser.add_argument("--words", type=int, default=100, help="document words in the L sweep (default 100)")
    parser.add_argument("--targets", type=int, default=10, help="targets per victim in the L sweep (default 10)")
    parser.add_argument("--doc-words", type=int, nargs="*", default=list(DEFAULT_DOC_WORDS),
                        help="document lengths of the document sweep (none: skip it)")
    parser.add_argument("--doc-labels", type=int, default=synthetic_tree.AMAZON_670K,
                        help="labels of the tree in the document sweep (default 670091)")
    parser.add_argument("--doc-targets", type=int, default=5, help="targets per length (default 5)")
    parser.add_argument("--no-flat", action="store_true", help="the tree only")
    parser.add_argument("--flat-limit-gb", type=float, default=4.0,
                        help="skip a flat victim whose 64-text forward pass would need more (default 4)")
    parser.add_argument("--top", type=int, default=160, help="beam width (default 160, the original's)")
    parser.add_argument("--max-candidates", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("words", "targets", "doc_targets", "top", "max_candidates", "threads", "doc_labels"):
        if getattr(args, name) < 1:
            print(f"scale.py: --{name.replace('_', '-')} {getattr(args, name)}: must be positive", file=sys.stderr)
            return 2
    bad = [n for n in args.labels + args.doc_words if n < 2]
    if bad:
        print(f"scale.py: {bad[0]}: label counts and document lengths must be at least 2", file=sys.stderr)
        return 2

    import torch

    torch.set_num_threads(args.threads)
    options = {"k": 5, "encoder": "none", "max_candidates": args.max_candidates, "threads": args.threads}
    print(machine_line())
    print(f"sizes: {synthetic_tree.SyntheticSizes()}; beam {args.top}; {args.max_candidates} candidates; "
          f"{args.threads} thread(s)")
    started = time.perf_counter()
    by_labels = []
    for labels_num in args.labels:
        for kind in ("tree",) if args.no_flat else ("tree", "flat"):
            by_labels.append(run_one(kind, labels_num, args.words, args.targets, options, args.top,
                                     args.flat_limit_gb, args.seed))
            print_rows("progress", by_labels[-1:])
    by_words = []
    for words in args.doc_words:
        by_words.append(run_one("tree", args.doc_labels, words, args.doc_targets, options, args.top,
                                args.flat_limit_gb, args.seed))
        print_rows("progress", by_words[-1:])
    if by_labels:
        print_rows(f"L sweep ({args.words}-word documents, {args.targets} targets after one warm-up)", by_labels)
    if by_words:
        print_rows(f"document sweep (tree, L={args.doc_labels}, {args.doc_targets} targets per length)", by_words)
    print_ratios(by_labels, by_words)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
