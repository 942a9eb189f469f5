"""How long `fusion-run --validate` takes to start, against Python starting at all.

    python bench/startup.py                  # 30 runs of each, examples/quickstart.yaml
    python bench/startup.py -n 50 examples/nightly-recommendations.yaml

It times, side by side and interleaved (so that a noisy machine slows all of them alike):
`python -c pass`, `python -m runner PLAN --validate` and, when it is installed next to this
Python, the `fusion-run` console script. Each is started as a process of its own, and this
checkout's code is the one run. It prints the median of each and its ratio to `python -c pass`:
read the ratio, not the times. The target is at most 8 times `python -c pass`.

The checkout's modules are compiled to bytecode first, as `pip install` compiles them: with
PYTHONDONTWRITEBYTECODE set, a changed module would otherwise be compiled again at every start.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, whatever is installed
TARGET = 8.0


def commands(plan: str) -> dict[str, list[str]]:
    measured = {
        "python -c pass": [sys.executable, "-c", "pass"],
        f"python -m runner {plan} --validate": [
            sys.executable,
            "-m",
            "runner",
            plan,
            "--validate",
        ],
    }
    script = Path(sys.executable).parent / "fusion-run"
    if not script.is_file():
        script = Path(shutil.which("fusion-run") or "")
    if script.is_file():
        measured[f"fusion-run {plan} --validate"] = [str(script), plan, "--validate"]
    return measured


def once(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=CHILD_ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan", nargs="?", default="examples/quickstart.yaml")
    parser.add_argument("-n", "--runs", type=int, default=30, help="runs of each (default 30)")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "runner", quiet=1)
    measured = commands(args.plan)
    times: dict[str, list[float]] = {name: [] for name in measured}
    for command in measured.values():  # a first run of each warms the disk cache and .pyc files
        once(command)
    for _ in range(args.runs):
        for name, command in measured.items():
            times[name].append(once(command))
    baseline = statistics.median(times["python -c pass"])
    width = max(len(name) for name in measured)
    print(f"median of {args.runs} interleaved runs each, Python {sys.version.split()[0]}")
    for name, taken in times.items():
        median = statistics.median(taken)
        print(f"  {name:<{width}}  {median * 1000:7.1f} ms  {median / baseline:5.1f}x")
    worst = max(statistics.median(taken) for taken in times.values()) / baseline
    verdict = "met" if worst <= TARGET else "NOT met"
    print(f"target: at most {TARGET:g}x `python -c pass`: {verdict}")


if __name__ == "__main__":
    main()
