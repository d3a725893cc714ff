"""What the start-up file ``textattack_xmtc.pth`` costs every Python start.

Python runs every ``.pth`` file of site-packages at start-up, so the plugin's
line runs in each interpreter of the environment, including the many that
never import TextAttack. This times ``python -c pass``:

* as installed, with the hook on, and with ``TEXTATTACK_XMTC_DISABLE_HOOK=1``;
* through one driver, ``python -S -c "<driver>"``, which runs site's own
  start-up (``site.main()``) with a filter on the ``.pth`` files it executes:
  all of them, all but ours ("no plugin": the control), only ours, none.
  "only ours" against "none" shows the cost in an environment whose other
  ``.pth`` files import nothing (another ``.pth`` file may already import
  what ours would, hiding its cost).

Runs are interleaved (each round runs every variant once, in a shuffled
order) so that a machine's drift hits all of them; the table gives medians.
It also reads ``-X importtime``'s line for the hook module, which a plain
start-up should not import at all (the ``.pth`` line's stub finder imports it
when ``textattack`` is first imported).

Usage::

    python benchmarks/startup.py               # 60 rounds
    python benchmarks/startup.py --rounds 200

Acceptance (issue 15): "all .pth files" within 5 ms of "all but ours".
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

PTH = "textattack_xmtc.pth"
HOOK = "_textattack_xmtc_hook"
DISABLE = "TEXTATTACK_XMTC_DISABLE_HOOK"

# Runs site's start-up as Python would, executing only the .pth files the filter lets through.
DRIVER = """import site
_addpackage = site.addpackage
def _filtered(sitedir, name, known_paths, _mode={mode!r}, _ours={pth!r}):
    if _mode == "all" or (_mode == "all-but-ours" and name != _ours) or (_mode == "only-ours" and name == _ours):
        return _addpackage(sitedir, name, known_paths)
    return known_paths
site.addpackage = _filtered
site.main()
"""


def variants():
    python = sys.executable
    plain = {name: value for name, value in os.environ.items() if name != DISABLE}
    disabled = dict(plain, **{DISABLE: "1"})

    def driver(mode):
        return [python, "-S", "-c", DRIVER.format(mode=mode, pth=PTH)]

    return {
        "python -c pass (as installed)": ([python, "-c", "pass"], plain),
        f"python -c pass, {DISABLE}=1": ([python, "-c", "pass"], disabled),
        "driver: all .pth files": (driver("all"), plain),
        "driver: all but ours (no plugin)": (driver("all-but-ours"), plain),
        "driver: only ours": (driver("only-ours"), plain),
        f"driver: only ours, {DISABLE}=1": (driver("only-ours"), disabled),
        "driver: no .pth file": (driver("none"), plain),
    }


def time_once(command, env):
    """Wall-clock and CPU (user + system) milliseconds of one run of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - start) * 1000.0
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000.0


CONTROL = "driver: all but ours (no plugin)"


def report(title, times, rounds):
    """Print one table of medians and quartiles; return the medians."""
    medians = {name: statistics.median(values) for name, values in times.items()}
    width = max(len(name) for name in times)
    print(f"\n{title} milliseconds, {rounds} interleaved runs of each:\n")
    print(f"{'variant':<{width}}  {'median':>7}  {'q1':>7}  {'q3':>7}")
    for name, values in times.items():
        q1, _, q3 = statistics.quantiles(values, n=4)
        print(f"{name:<{width}}  {medians[name]:>7.2f}  {q1:>7.2f}  {q3:>7.2f}")
    return medians


def hook_importtime(rounds: int):
    """Median self and cumulative microseconds of the hook module in ``-X importtime`` (None if not imported)."""
    env = {name: value for name, value in os.environ.items() if name != DISABLE}
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s+" + HOOK + r"\s*$")
    selfs, cumulatives = [], []
    for _ in range(rounds):
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], env=env,
                                capture_output=True, text=True, check=True)
        for line in result.stderr.splitlines():
            match = pattern.match(line)
            if match:
                selfs.append(int(match.group(1)))
                cumulatives.append(int(match.group(2)))
    if not selfs:
        return None
    return statistics.median(selfs), statistics.median(cumulatives)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60, help="runs of each variant (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    site_packages = Path(sysconfig.get_paths()["purelib"])
    installed = (site_packages / PTH).is_file()
    print(f"python: {sys.executable} ({sys.version.split()[0]})")
    print(f"site-packages: {site_packages}; {PTH} {'installed' if installed else 'NOT installed'}")
    others = sorted(p.name for p in site_packages.glob("*.pth") if p.name != PTH)
    print(f"other .pth files there: {', '.join(others) or 'none'}")
    if not installed:
        print("install the package first (pip install .): the plugin rows would measure nothing")

    cases = variants()
    for command, env in cases.values():  # warm the file system caches and .pyc files
        time_once(command, env)
    walls = {name: [] for name in cases}
    cpus = {name: [] for name in cases}
    rng = random.Random(args.seed)
    for _ in range(args.rounds):
        order = list(cases)
        rng.shuffle(order)
        for name in order:
            wall, cpu = time_once(*cases[name])
            walls[name].append(wall)
            cpus[name].append(cpu)

    wall_medians = report("wall-clock", walls, args.rounds)
    cpu_medians = report("CPU (user + system)", cpus, args.rounds)
    print("\ndifferences of medians, ms (wall / CPU):")
    for label, minuend, subtrahend, note in [
            ("all .pth files - all but ours", "driver: all .pth files", CONTROL, "acceptance: within 5 ms"),
            ("as installed - all but ours", "python -c pass (as installed)", CONTROL,
             "the driver's own small cost is in the control"),
            ("only ours - no .pth file", "driver: only ours", "driver: no .pth file", ""),
            ("only ours, disabled - no .pth file", f"driver: only ours, {DISABLE}=1", "driver: no .pth file", "")]:
        print(f"  {label:<36} {wall_medians[minuend] - wall_medians[subtrahend]:+7.2f} / "
              f"{cpu_medians[minuend] - cpu_medians[subtrahend]:+7.2f}" + (f"   ({note})" if note else ""))

    importtime = hook_importtime(min(args.rounds, 30))
    if importtime is None:
        print(f"\n-X importtime: {HOOK} is not imported by `python -c pass` (the .pth stub imports it "
              "only when textattack is imported)")
    else:
        print(f"\n-X importtime of {HOOK} (median): self {importtime[0]:.0f} us, "
              f"cumulative {importtime[1]:.0f} us (what it imports included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
