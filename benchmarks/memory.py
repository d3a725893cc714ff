"""Memory over many attacked targets: ``xmtc-pos`` against the synthetic 670K-label tree.

Issue 18 asks that nothing per attacked target grows with L and that
attacking 1,000 targets of a 670,000-label tree keeps peak memory growth
under 200 MB once the model is loaded. This script builds the synthetic tree
(:mod:`synthetic_tree`: random weights, the original Amazon-670K tree's
shape), takes its own top-5 as each document's true labels and the 5th as the
target, and attacks ``--targets`` of them one after another, recording

* the resident set size (RSS) after the model is loaded, after the attack is
  built and one warm-up target attacked (GloVe candidates loaded), and after
  100, 250, 500, 1,000 ... targets;
* the exact peak RSS in each stretch between those points (Linux's
  ``VmHWM``, reset through ``/proc/self/clear_refs``: transient tensors of a
  forward pass are counted, which sampling would miss);
* after the last target, the RSS after ``gc.collect()`` and glibc's ``malloc_trim(0)``:
  what is left is live memory (caches, results), not freed heap kept by the
  allocator.

``--mode attack`` (default) attacks in-process with the experiment's own
per-target code (:class:`textattack_xmtc.study.experiment.TargetAttacker`:
seeded, caches cleared, one result row per target, all rows kept as a run
keeps them). ``--mode experiment`` writes the tree in the original's file
layout and a targets file, then runs :func:`run_experiment` on them (the
tree loaded by the package's own loader, rows appended to a run directory),
recording memory after each row.

Usage::

    python benchmarks/memory.py --targets 1000 --words 50
    python benchmarks/memory.py --mode experiment --targets 200 --work-dir /tmp/memory-run
    python benchmarks/memory.py --labels 10000 --targets 50      # a quick look

Prints a table: RSS after load, after warm-up, at each checkpoint, the peak,
the growth over the after-load RSS and over the after-warm-up RSS, and the
median and mean seconds per target.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_tree  # noqa: E402  (the benchmarks directory, put on the path above)

MB = 2 ** 20
CHECKPOINTS = (100, 250, 500, 1000, 2000, 5000)


def rss_mb() -> float:
    """The process's resident set size now, in MB."""
    return _status_kb("VmRSS") / 1024


def peak_mb() -> float:
    """The peak resident set size since the last :func:`reset_peak` (or the start), in MB."""
    return _status_kb("VmHWM") / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak RSS of this process to its current RSS; False where Linux refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        match = re.search(rf"^{field}:\s+(\d+)\s+kB", handle.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}: this benchmark needs Linux")
    return int(match.group(1))


def machine_line() -> str:
    """CPU model, cores, Python, torch and TextAttack versions, in one line."""
    import importlib.metadata

    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = re.search(r"^model name\s*:\s*(.+)$", handle.read(), re.MULTILINE).group(1).strip()
    except (OSError, AttributeError):
        pass
    return (f"machine: {cpu}, {os.cpu_count()} cores; python {platform.python_version()}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads), textattack "
            f"{importlib.metadata.version('textattack')}")


class MemoryLog:
    """RSS and peak RSS at checkpoints; ``record`` is called once per finished target.

    Usage::

        log = MemoryLog(checkpoints=(100, 250))
        log.start()
        for target in targets: ...; log.record(seconds)
    """

    def __init__(self, checkpoints: Sequence[int]):
        self.checkpoints = sorted(set(checkpoints))
        self.seconds: List[float] = []
        self.points: List[tuple] = []  # (targets done, RSS MB, peak MB in the stretch before)
        self.peak = 0.0
        self.trimmed: Optional[tuple] = None  # (RSS MB before, after gc + malloc_trim) at the last checkpoint

    def start(self) -> None:
        reset_peak()
        self.peak = rss_mb()

    def record(self, seconds: float) -> None:
        self.seconds.append(seconds)
        done = len(self.seconds)
        if done in self.checkpoints:
            self.checkpoint()
        if self.checkpoints and done == self.checkpoints[-1]:  # everything still alive: what is live?
            before = rss_mb()
            trimmed = trimmed_rss_mb()
            self.trimmed = None if trimmed is None else (before, trimmed)

    def checkpoint(self) -> None:
        stretch = peak_mb()
        self.peak = max(self.peak, stretch)
        self.points.append((len(self.seconds), rss_mb(), stretch))
        reset_peak()


def attack_in_process(victim, rows: List[dict], options: dict, log: MemoryLog, seed: int = 0) -> List[dict]:
    """Attack every row with the experiment's per-target code; keep every result row, as a run does."""
    from textattack_xmtc.datasets import XMTCTarget
    from textattack_xmtc.study.experiment import TargetAttacker

    attacker = TargetAttacker("xmtc-pos", options, seed, victim=victim)
    results = []
    for number, row in enumerate(rows):
        target = XMTCTarget(row["labels"], row["target"], row["k"], attack=row["attack"])
        start = time.perf_counter()
        results.append(attacker.attack_target(number, row["text"], str(target)))
        log.record(time.perf_counter() - start)
    return results


def attack_through_experiment(models_dir: Path, rows: List[dict], options: dict, out: Path,
                              log: MemoryLog, on_loaded: Callable[[], None]) -> List[dict]:
    """``run_experiment`` on the written tree and a targets file; memory recorded after each appended row."""
    from textattack_xmtc.study import experiment, run_directory

    targets = out.parent / "targets.jsonl"
    targets.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    append = run_directory.RunDirectory.append
    started = []

    def recorded(self, row):
        append(self, row)
        log.record(float(row["seconds"]))

    original_attacker = experiment.TargetAttacker

    class LoadedAttacker(original_attacker):  # the victim is loaded once this is built
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not started:
                started.append(True)
                on_loaded()

    run_directory.RunDirectory.append = recorded
    experiment.TargetAttacker = LoadedAttacker
    try:
        config = experiment.ExperimentConfig(model=str(models_dir), targets=str(targets), recipe="xmtc-pos",
                                             out=str(out), options=dict(options), progress=False)
        return experiment.run_experiment(config)
    finally:
        run_directory.RunDirectory.append = append
        experiment.TargetAttacker = original_attacker


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=synthetic_tree.AMAZON_670K)
    parser.add_argument("--targets", type=int, default=1000, help="targets attacked after the warm-up")
    parser.add_argument("--words", type=int, default=50, help="words per synthetic document (default 50)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--top", type=int, default=160, help="beam width (default 160, the original's)")
    parser.add_argument("--max-candidates", type=int, default=48, help="candidates per word (default 48)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, the recipes' CPU default)")
    parser.add_argument("--mode", choices=("attack", "experiment"), default="attack")
    parser.add_argument("--work-dir", help="experiment mode: a NEW directory for the tree files and the run "
                                           "(default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("labels", "targets", "words", "k", "top", "max_candidates", "threads"):
        if getattr(args, name) < 1:
            print(f"memory.py: --{name.replace('_', '-')} {getattr(args, name)}: must be positive", file=sys.stderr)
            return 2
    if args.work_dir and Path(args.work_dir).exists() and any(Path(args.work_dir).iterdir()):
        print(f"memory.py: --work-dir {args.work_dir}: already holds files; name a new directory", file=sys.stderr)
        return 2

    import torch

    torch.set_num_threads(args.threads)
    options = {"k": args.k, "encoder": "none", "max_candidates": args.max_candidates, "threads": args.threads}
    print(machine_line())
    began = rss_mb()
    start = time.perf_counter()
    victim = synthetic_tree.build_tree_victim(args.labels, seed=args.seed, top=args.top)
    print(f"{synthetic_tree.describe_size(victim)}; built in {time.perf_counter() - start:.1f} s")
    documents = synthetic_tree.synthetic_documents(victim, args.targets + 1, args.words, seed=args.seed)
    rows = synthetic_tree.choose_targets(victim, documents, k=args.k)
    print(f"{len(rows)} positive targets (true labels = the tree's top-{args.k}, target = the {args.k}th), "
          f"{args.words}-word documents")
    log = MemoryLog([c for c in CHECKPOINTS if c <= args.targets] + [args.targets])
    marks = {}

    if args.mode == "attack":
        marks["after load"] = rss_mb()
        warm = MemoryLog([])
        attack_in_process(victim, rows[:1], options, warm, seed=args.seed)  # GloVe index, caches, threads
        marks["after warm-up"] = rss_mb()
        log.start()
        attack_in_process(victim, rows[1:], options, log, seed=args.seed)
    else:
        work = Path(args.work_dir or tempfile.mkdtemp(prefix="xmtc-memory-"))
        models_dir = synthetic_tree.write_original_tree(victim, work)
        del victim  # the experiment loads its own copy from the files
        import gc

        gc.collect()

        def loaded():
            marks["after load"] = rss_mb()
            log.start()

        attack_through_experiment(models_dir, rows[1:], options, work / "run", log, loaded)
        print(f"tree files and run directory: {work}")
    if not log.points or log.points[-1][0] != len(log.seconds):  # fewer targets than asked
        log.checkpoint()
    _print_table(args, began, marks, log)
    return 0


def _print_table(args, began: float, marks: dict, log: MemoryLog) -> None:
    loaded = marks["after load"]
    warm = marks.get("after warm-up", loaded)
    print(f"\nmode {args.mode}; {len(log.seconds)} targets; L={args.labels}; beam {args.top}; "
          f"{args.words} words; {args.max_candidates} candidates; {args.threads} thread(s)")
    print(f"{'point':<28} {'RSS MB':>9} {'peak MB in stretch':>19}")
    print(f"{'process start':<28} {began:>9.1f}")
    for name, value in marks.items():
        print(f"{name:<28} {value:>9.1f}")
    for done, rss, stretch in log.points:
        print(f"{f'after {done} targets':<28} {rss:>9.1f} {stretch:>19.1f}")
    print(f"peak RSS after load: {log.peak:.1f} MB; growth over after-load RSS: {log.peak - loaded:+.1f} MB"
          + (f"; over after-warm-up RSS: {log.peak - warm:+.1f} MB" if "after warm-up" in marks else ""))
    if log.points:
        first, last = log.points[0], log.points[-1]
        print(f"RSS from {first[0]} to {last[0]} targets: {last[1] - first[1]:+.1f} MB")
    print(f"seconds per target: median {statistics.median(log.seconds):.3f}, "
          f"mean {statistics.mean(log.seconds):.3f}, total {sum(log.seconds):.0f} s")
    if log.trimmed is not None:
        print(f"RSS after the last target {log.trimmed[0]:.1f} MB; after gc and malloc_trim(0) "
              f"{log.trimmed[1]:.1f} MB (what malloc_trim returns is freed heap the allocator kept; "
              f"the rest is live)")


def trimmed_rss_mb() -> Optional[float]:
    """RSS after a garbage collection and glibc's ``malloc_trim(0)``; None without glibc."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return rss_mb()


if __name__ == "__main__":
    sys.exit(main())
