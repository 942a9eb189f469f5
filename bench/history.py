"""What a job's age costs a start: a chain of 10 two-second Spark jobs, each with 10, 1,000 or
100,000 earlier runs in Fusion, run by fusion-run over HTTP against the emulator.

    python bench/history.py                      # this checkout
    python bench/history.py --before DIR         # and, side by side, the code in DIR

For each size it prints the wall time of the fusion-run process, its peak memory (RSS), the
size of the report it wrote, the requests the emulator served, and the synced writes (fsync)
fusion-run made. With `--before`, each measure is taken of both codes in turn, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.emulator.model import EmulatedFusion  # noqa: E402
from runner.emulator.scenario import JobScript, PastRun, RunScript, Scenario  # noqa: E402
from runner.emulator.server import Emulator  # noqa: E402

STEPS = 10
DURATION = 2.0  # seconds each run takes
SIZES = (10, 1_000, 100_000)
# Run in the child: count the synced writes, then run fusion-run as `python -m runner` does.
CHILD = """
import atexit, os, runpy, sys
synced = 0
real = os.fsync
def fsync(fd):
    global synced
    synced += 1
    return real(fd)
os.fsync = fsync
atexit.register(lambda: open(os.environ["BENCH_FSYNCS"], "w").write(str(synced)))
sys.argv = ["fusion-run", *sys.argv[1:]]
runpy.run_module("runner", run_name="__main__")
"""


@dataclass
class Cost:
    wall: float  # seconds
    peak_mb: float
    report_kb: float
    requests: int
    synced: int


def scenario(history: int) -> Scenario:
    """Ten jobs, each with `history` earlier runs, a minute apart, and one 2 s run to come."""
    past = tuple(
        PastRun(ended_ago=60.0 * (index + 1), run=RunScript(duration=DURATION))
        for index in range(history)
    )
    return Scenario(
        jobs={
            f"job{index}": JobScript(runs=(RunScript(duration=DURATION),), history=past)
            for index in range(STEPS)
        }
    )


def write_plan(folder: Path) -> Path:
    lines = ["version: 1", "fusion: {auth: none}", "steps:"]
    for index in range(STEPS):
        after = f"[job{index - 1}]" if index else "[]"
        lines.append(f"  - job: job{index}\n    depends_on: {after}")
    path = folder / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(code: Path, history: int) -> Cost:
    """One fusion-run process of the code in `code`, against an emulator with `history` runs."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        plan = write_plan(folder)
        counted = folder / "fsyncs"
        # the emulator in a process of its own: a child forked from one holding its runs would
        # count their memory as fusion-run's
        emulator = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(history)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert emulator.stdin is not None
        assert emulator.stdout is not None
        try:
            url = emulator.stdout.readline().strip()
            env = {**os.environ, "PYTHONPATH": str(code), "BENCH_FSYNCS": str(counted)}
            command = [sys.executable, "-c", CHILD, plan.name, "--url", url, "-q"]
            began = time.monotonic()
            with (folder / "stderr").open("wb") as stderr:
                child = subprocess.Popen(
                    command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=stderr
                )
                _, status, usage = os.wait4(child.pid, 0)
            wall = time.monotonic() - began
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                said = (folder / "stderr").read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"fusion-run exited {child.returncode}: {said[-1:]}")
        finally:
            emulator.stdin.close()
            requests = int(emulator.stdout.readline() or -1)
            emulator.wait()
        report = folder / "fusion-run-report.json"
        outcome = json.loads(report.read_text())["outcome"]
        assert outcome == "succeeded", outcome
        return Cost(
            wall=wall,
            peak_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            report_kb=report.stat().st_size / 1024,
            requests=requests,
            synced=int(counted.read_text()),
        )


def serve(history: int) -> None:
    """The emulator with `history` runs of each job: its URL on stdout, then, once stdin
    closes, the requests it served."""
    model = EmulatedFusion(scenario(history))
    with Emulator(model) as emulator:
        print(emulator.url, flush=True)
        sys.stdin.read()
        print(len(model.requests), flush=True)


def row(name: str, history: int, cost: Cost) -> str:
    return (
        f"| {name:<6} | {history:>7,} | {cost.wall:>6.1f} s | {cost.peak_mb:>6.0f} MB "
        f"| {cost.report_kb:>9.0f} KB | {cost.requests:>8} | {cost.synced:>6} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve is not None:
        serve(options.serve)
        return
    codes = [("after", ROOT)]
    if options.before is not None:
        codes.insert(0, ("before", options.before.resolve()))
    print(f"A chain of {STEPS} Spark jobs of {DURATION:.0f} s, each with this many earlier runs:")
    print("| code   | history | wall     | peak RSS  | report       | requests | fsyncs |")
    print("|--------|---------|----------|-----------|--------------|----------|--------|")
    for history in options.sizes:
        for name, code in codes:
            try:
                print(row(name, history, measure(code, history)), flush=True)
            except (RuntimeError, AssertionError) as failed:
                print(f"| {name:<6} | {history:>7,} | failed: {str(failed)[-300:]!r}", flush=True)


if __name__ == "__main__":
    main()
