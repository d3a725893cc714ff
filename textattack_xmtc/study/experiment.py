"""The paper's attack over a targets file, resumable and in parallel: ``textattack-xmtc experiment``.

Every target of a targets file (``select-targets`` writes one) is attacked
once with one recipe, and its row (:func:`textattack_xmtc.results.result_row`
with both texts, plus ``seconds`` and ``target_number``, the 0-based row of
the targets file) is appended to ``RUN_DIR/results.jsonl`` as soon as it is
known (see :mod:`.run_directory` for ``run.json`` and the crash safety).

* Resumable: killed at any moment (SIGKILL included) and started again with
  the same settings, a run continues where it stopped; no target is attacked
  twice, none is lost. Other settings are refused, naming the difference.
* Reproducible: before each target, ``random``, ``numpy`` and ``torch`` are
  seeded from (seed, target number) and the attack's caches are cleared, so a
  row depends on neither the worker that made it nor where a run was
  resumed. Rows of the local, ``--workers`` and Ray backends are identical
  except ``seconds`` (wall time).
* Parallel: ``workers`` local processes ("spawn"), or Ray actors (``backend
  ="ray"``), each loading the model and building the attack once; the parent
  is the only writer. The recipe options are resolved once, in the parent
  (the only reader of the ``XMTC_*`` variables), and sent to the workers.

Usage::

    config = ExperimentConfig(model="attentionxml-reuters21578", targets="targets.jsonl",
                              recipe="xmtc-pos", out="runs/pos", options={"encoder": "none"})
    rows = run_experiment(config)       # every target's row, in targets-file order
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .run_directory import RunDirectory, RunDirectoryError, run_settings

BACKENDS = ("local", "ray")
RAY_INSTALL_HINT = 'pip install "textattack-xmtc[ray]"'

# What a worker receives per target: (target_number, text, the XMTCTarget's JSON).
Task = Tuple[int, str, str]


class ExperimentError(ValueError):
    """A user mistake (bad model, targets, options or run directory): the message is one line."""


@dataclass
class ExperimentConfig:
    model: str
    targets: str
    recipe: str
    out: str
    options: dict = field(default_factory=dict)  # recipe keyword options, before resolving
    seed: int = 0
    workers: int = 1
    backend: str = "local"
    ray_address: Optional[str] = None
    num_targets: Optional[int] = None  # only the first N rows of the targets file
    progress: bool = True

    def validate(self) -> None:
        from ..attack_recipes.xmtc_recipes import RECIPES

        if self.recipe not in RECIPES:
            raise ExperimentError(f"unknown recipe {self.recipe!r}; choose one of {', '.join(RECIPES)}")
        if self.backend not in BACKENDS:
            raise ExperimentError(f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.workers < 1:
            raise ExperimentError(f"workers must be at least 1, got {self.workers}")
        if self.num_targets is not None and self.num_targets < 1:
            raise ExperimentError(f"num_targets must be at least 1, got {self.num_targets}")
        if self.seed < 0:
            raise ExperimentError(f"seed must be a non-negative integer, got {self.seed}")
        if self.ray_address and self.backend != "ray":
            raise ExperimentError("a Ray address needs the ray backend (--backend ray)")
        if self.backend == "ray":
            _import_ray()  # before the model is loaded: a missing extra is said at once


def run_experiment(config: ExperimentConfig, log: Callable[[str], None] = None) -> List[dict]:
    """Attack every target not yet done in ``config.out``; return all the run's rows in target order."""
    log = log or _to_stderr
    config.validate()
    victim = _load_victim(config.model)
    targets_path = Path(config.targets).expanduser().resolve()
    tasks = _for_this_attack(_read_tasks(targets_path, victim.labels, config.targets), config.recipe, log)
    resolved = resolve_recipe_options(config.recipe, victim, config.options)
    settings = run_settings(config.model, victim.identity(), config.recipe, resolved, targets_path,
                            len(tasks), config.seed)
    if not tasks:
        _refuse_when_nothing_to_attack(config, settings)
    with RunDirectory.open(config.out, settings, log) as run:
        done = run.finished_rows()
        selected = tasks[: config.num_targets or len(tasks)]
        todo = [task for task in selected if task[0] not in done]
        if len(todo) < len(selected):
            log(f"continuing {run.path}: {len(selected) - len(todo)} of {len(selected)} targets already done")
        rows = _backend_rows(config, victim, resolved, todo)
        for row in _with_progress(rows, done, selected, config.progress):
            run.append(row)
            done[row["target_number"]] = row
        if all(task[0] in done for task in selected):
            run.put_in_order()
    return [done[number] for number in sorted(done)]


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_victim(model: str):
    from ..errors import ModelLoadError
    from ..model_wrappers import load_victim

    try:
        return load_victim(model)
    except ModelLoadError as error:
        raise ExperimentError(str(error)) from None


def _read_tasks(path: Path, labels: Sequence[str], given: str) -> List[Task]:
    """The targets file's rows as tasks, every label checked against the victim's."""
    from ..datasets.targets import TargetFormatError, read_targets

    try:
        dataset = read_targets(path, labels=labels)
    except TargetFormatError as error:
        message = str(error)
        if "unknown" in message and "label" in message:
            message = f"--targets {given} does not fit the model's label set: {message}"
        raise ExperimentError(message) from None
    return [(number, inputs["text"], str(target)) for number, (inputs, target) in enumerate(dataset)]


# The value of a targets row's "attack" field that each targeted recipe attacks.
RECIPE_KINDS = {"xmtc-pos": "pos", "xmtc-neg": "neg"}


def _for_this_attack(tasks: List[Task], recipe: str, log: Callable[[str], None]) -> List[Task]:
    """Leave out the rows ``select-targets`` drew for the other targeted attack (they would only be skipped).

    Rows keep their ``target_number`` (their row in the file); rows without an
    ``attack`` field are attacked by every recipe.
    """
    from ..datasets.targets import XMTCTarget

    kind = RECIPE_KINDS.get(recipe)
    if kind is None:
        return tasks
    kept = [task for task in tasks if XMTCTarget.parse(task[2]).attack in (None, kind)]
    if len(kept) < len(tasks):
        log(f"{len(tasks) - len(kept)} of {len(tasks)} target rows were selected for the other attack "
            f"(their 'attack' field is not {kind!r}): {recipe} attacks the other {len(kept)}")
    return kept


def _refuse_when_nothing_to_attack(config: "ExperimentConfig", settings: dict) -> None:
    """No row is for this recipe: an existing run directory's other settings are named first."""
    if (Path(config.out).expanduser() / "run.json").is_file():
        RunDirectory.open(config.out, settings).close()  # raises the difference, if any
    kind = RECIPE_KINDS.get(config.recipe, "")
    raise ExperimentError(f"no row of the targets file is for {config.recipe} (every 'attack' field is "
                          f"another kind): run select-targets with --attacks {kind}, or another --recipe")


def resolve_recipe_options(recipe: str, victim, options: dict) -> dict:
    """The recipe's options for this victim, resolved once (keywords, then ``XMTC_*``, then defaults)."""
    from ..attack_recipes.xmtc_recipes import RECIPES

    try:
        return RECIPES[recipe].resolve_options(victim, **options).as_dict()
    except (TypeError, ValueError) as error:
        raise ExperimentError(f"recipe {recipe}: {error}") from None


# -- attacking targets, the same way in every backend -------------------------

class TargetAttacker:
    """One worker's attack: the model loaded and the attack built once, then one target at a time.

    Usage::

        attacker = TargetAttacker("xmtc-pos", resolved_options, seed=0, model="path/to/model")
        row = attacker.attack_target(0, "some text", str(XMTCTarget(["acq"], "acq", 5)))
    """

    def __init__(self, recipe: str, options: dict, seed: int, model: Optional[str] = None, victim=None):
        from ..attack_recipes.xmtc_recipes import RECIPES

        if victim is None:
            victim = _load_victim(model)
        with _recipe_variables_ignored():
            self._attack = RECIPES[recipe].build(victim, **options)
        self._attack.random_seed = seed
        self._seed = seed

    def attack_target(self, number: int, text: str, target: str) -> dict:
        from ..datasets.targets import XMTCTarget
        from ..results import result_row

        seed_target(self._seed, number)
        self._attack.clear_cache()  # cached scores and candidates of earlier targets must not matter
        start = time.perf_counter()
        result = self._attack.attack(text, XMTCTarget.parse(target))
        seconds = time.perf_counter() - start
        row = result_row(result, texts=True)
        row["seconds"] = seconds
        row["target_number"] = number
        return row


def seed_target(seed: int, number: int) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` for one target, from the run's seed and its number."""
    import numpy as np
    import torch

    value = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


@contextlib.contextmanager
def _recipe_variables_ignored() -> Iterator[None]:
    """Hide ``XMTC_*`` variables while a worker builds the attack: the parent resolved them already."""
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("XMTC_")}
    try:
        yield
    finally:
        os.environ.update(hidden)


def _backend_rows(config: ExperimentConfig, victim, options: dict, todo: List[Task]) -> Iterator[dict]:
    """The rows of ``todo``, as they finish (in any order with several workers)."""
    if not todo:
        return iter(())
    if config.backend == "ray":
        return _ray_rows(config, options, todo)
    if config.workers > 1 and len(todo) > 1:
        return _process_rows(config, options, todo)
    return _local_rows(config, victim, options, todo)


def _local_rows(config: ExperimentConfig, victim, options: dict, todo: List[Task]) -> Iterator[dict]:
    attacker = TargetAttacker(config.recipe, options, config.seed, victim=victim)
    for task in todo:
        yield attacker.attack_target(*task)


_worker: Optional[TargetAttacker] = None  # the attacker of a worker process


def _start_worker(recipe: str, options: dict, seed: int, model: str) -> None:
    global _worker
    import signal

    # Ctrl-C reaches the whole process group: the parent stops the pool and says so in one line;
    # a worker interrupted mid-attack would print its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = TargetAttacker(recipe, options, seed, model=model)


def _attack_in_worker(task: Task) -> dict:
    return _worker.attack_target(*task)


def _process_rows(config: ExperimentConfig, options: dict, todo: List[Task]) -> Iterator[dict]:
    import multiprocessing

    # "spawn": torch's threads do not survive fork.
    context = multiprocessing.get_context("spawn")
    workers = min(config.workers, len(todo))
    with context.Pool(workers, initializer=_start_worker,
                      initargs=(config.recipe, options, config.seed, config.model)) as pool:
        yield from pool.imap_unordered(_attack_in_worker, todo)


def _ray_rows(config: ExperimentConfig, options: dict, todo: List[Task]) -> Iterator[dict]:
    ray = _import_ray()
    from ray.util import ActorPool

    _start_ray(ray, config)
    try:
        actor = ray.remote(num_cpus=1)(TargetAttacker)
        actors = [actor.remote(config.recipe, options, config.seed, model=config.model)
                  for _ in range(min(config.workers, len(todo)))]
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda worker, task: worker.attack_target.remote(*task), todo)
    finally:
        ray.shutdown()


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExperimentError(f"the ray backend needs Ray: {RAY_INSTALL_HINT}") from None
    return ray


def _start_ray(ray, config: ExperimentConfig) -> None:
    try:
        if config.ray_address:
            ray.init(address=config.ray_address, log_to_driver=False)
        else:
            ray.init(num_cpus=config.workers, include_dashboard=False, log_to_driver=False)
    except ConnectionError as error:
        raise ExperimentError(f"cannot join the Ray cluster at {config.ray_address}: "
                              f"{str(error).splitlines()[0]}") from None


# -- progress and summary ------------------------------------------------------

def _with_progress(rows: Iterator[dict], done: Dict[int, dict], selected: List[Task],
                   progress: bool) -> Iterator[dict]:
    """``rows``, with a progress bar over the selected targets: successes so far, seconds per target."""
    from ..training.common import progress_bar

    numbers = {task[0] for task in selected}
    finished = [row for number, row in done.items() if number in numbers]
    bar = progress_bar(rows, progress, total=len(selected), initial=len(finished), desc="experiment",
                       unit="target")
    bar.set_postfix_str(_postfix(finished), refresh=False)
    for row in bar:
        yield row
        finished.append(row)
        bar.set_postfix_str(_postfix(finished))


def _postfix(rows: List[dict]) -> str:
    successes = sum(row["status"] == "succeeded" for row in rows)
    seconds = [row["seconds"] for row in rows if row.get("seconds") is not None]
    mean = f"{sum(seconds) / len(seconds):.2f}s/target" if seconds else "-"
    return f"succeeded {successes}/{len(rows)}, {mean}"


def summary_text(rows: List[dict]) -> str:
    """The paper's table overall and per bin: the report's own when it exists, else the plain metrics."""
    try:
        from .report import summary_text as report_summary
    except ImportError:
        return _plain_summary(rows)
    return report_summary(rows)


def _plain_summary(rows: List[dict]) -> str:
    from ..metrics.attack import paper_metrics

    groups = [("all targets", rows)]
    by_bin: Dict[str, List[dict]] = {}
    for row in rows:
        by_bin.setdefault(str(row.get("bin")) if row.get("bin") is not None else "(no bin)", []).append(row)
    if list(by_bin) != ["(no bin)"]:
        groups += [(f"bin {name}", by_bin[name]) for name in sorted(by_bin, key=_bin_order)]
    lines = []
    for title, group in groups:
        lines.append(f"{title} ({len(group)} targets):")
        table = paper_metrics(group).table_rows()
        width = max(len(label) for label, _ in table)
        lines += [f"  {label:<{width}} {value}" for label, value in table]
    return "\n".join(lines)


def _bin_order(name: str) -> tuple:
    """Bins "lo-hi" by their lower frequency; other names after them, alphabetically."""
    low = name.split("-")[0]
    return (0, int(low), name) if low.isdigit() else (1, math.inf, name)
