"""What following runs costs Fusion in requests, and what it costs the plan in time: one table.

    python bench/polling.py                                # this checkout, about 3 minutes
    python bench/polling.py --quick                        # the short DAG, smaller plans
    python bench/polling.py --code ../before               # the code in that checkout
    python bench/polling.py --code . --code ../before      # both, each case in turn (5 min)

"real" rows run fusion-run (the measured code) as a process over HTTP against the emulator (this
checkout's, the same instrument for every code) in a process of its own, on the wall clock; the
requests are the emulator's access lines. "virtual" rows run the measured code's engine and
emulator model on one simulated clock, in a child process that imports that code only: exact
and repeatable. A plan here sets no poll_interval and no request budget unless the row says so,
so the code before `poll_interval: auto` and `fusion.max_requests_per_second` reads it too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The code measured: this checkout, or in the virtual child the one it was given. It is imported
# first, so that bench/run.py's own imports find it, not this checkout's.
CODE = Path(os.environ.get("BENCH_CODE", str(ROOT))).resolve()
sys.path.insert(0, str(CODE))
importlib.import_module("runner")

from run import (  # noqa: E402
    Dag,
    Row,
    VirtualClock,
    _served_at,
    critical_path,
    emulator_process,
    log,
    print_table,
    write_plan,
)

from runner.emulator.adapter import ModelFusion  # noqa: E402
from runner.emulator.model import EmulatedFusion  # noqa: E402
from runner.emulator.scenario import FaultTarget, JobScript, PastRun, RunScript, Scenario  # noqa: E402
from runner.engine import Engine  # noqa: E402
from runner.plan.loader import load_plan  # noqa: E402

# The 8-job DAG: a -> {b, c}; b, c -> d; d -> {e, f, g}; e, f, g -> h
DAG8: Dag = [
    ("a", []),
    ("b", ["a"]),
    ("c", ["a"]),
    ("d", ["b", "c"]),
    ("e", ["d"]),
    ("f", ["d"]),
    ("g", ["d"]),
    ("h", ["e", "f", "g"]),
]
SHORT = {"a": 1.0, "b": 2.0, "c": 0.5, "d": 1.0, "e": 0.5, "f": 1.5, "g": 1.0, "h": 0.5}
# (name, durations scale, makespan target x CP, request target, median end->start target)
SIZES = [("short", 1, 1.30, 60, None), ("long", 10, 1.08, 100, 0.5)]
YESTERDAY = 86_400  # seconds: when the last good run of a job that ran before ended
ACCESS = re.compile(r"^[A-Z]+ /\S* -> ")  # the emulator's line for each request it served
DURATIONS = (2, 30, 120, 600, 7200)  # seconds: one run, for the status reads per run
SETTINGS = ("default", "default, last run known", "10s", "30s")
DEFAULT = "default: poll_interval auto; in older code, 10s read at a tenth of the run's age"
AUTO_CEILING = 10  # seconds: auto reads at most this far apart, as fixed polling did by default
BUDGET = 10  # requests a second: the default request budget


# --- real: the 8-job DAG over HTTP ----------------------------------------------------------------


def dag_folder(scratch: Path, name: str, scale: int, ran_before: bool) -> Path:
    """The plan (defaults, max_parallel 8) and the emulator's scenario for one case."""
    folder = scratch / f"{name}-{'before' if ran_before else 'first'}"
    folder.mkdir()
    durations = {job: d * scale for job, d in SHORT.items()}
    write_plan(folder, DAG8, durations)
    jobs = []
    for job, duration in durations.items():
        past = f", history: [{{ended_ago: {YESTERDAY}, duration: {duration}}}]"
        jobs.append(f"  {job}: {{runs: [{{duration: {duration}}}]{past if ran_before else ''}}}")
    (folder / "scenario.yaml").write_text("version: 1\njobs:\n" + "\n".join(jobs) + "\n")
    return folder


def real_dag(code: Path, folder: Path) -> dict[str, Any]:
    """fusion-run of `code` on the plan in `folder`: its wall time (start-up included), the
    requests the emulator served, the median gap from a step's last upstream end to its start
    request, and the plan's outcome (or why it has none)."""
    log_path = folder / "emulator.log"
    emulator = emulator_process(folder, log_path)
    try:
        url = _served_at(log_path)
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "runner", "plan.yaml", "--url", url, "-q"],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(code)},
            check=False,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - began
    finally:
        emulator.terminate()
        emulator.wait()
    served = sum(1 for line in log_path.read_text().splitlines() if ACCESS.match(line))
    report_path = folder / "fusion-run-report.json"
    if not report_path.exists():
        said = (done.stderr.strip().splitlines() or [""])[-1]
        return {
            "wall": wall,
            "requests": served,
            "gap": None,
            "outcome": f"exit {done.returncode}: {said}",
        }
    report = json.loads(report_path.read_text())
    return {
        "wall": wall,
        "requests": served,
        "gap": end_to_start(report),
        "outcome": report["outcome"],
    }


def end_to_start(report: dict[str, Any]) -> float | None:
    """Median of (a dependent step's start request - its latest upstream's end), in seconds."""
    steps = {step["name"]: step for step in report["steps"]}
    gaps = []
    for step in steps.values():
        ends = [steps[name]["ended_at"] for name in step["depends_on"]]
        if not step["depends_on"] or not step["attempts"] or None in ends:
            continue
        requested = step["attempts"][0]["requested_at"]
        last_end = max(datetime.fromisoformat(end) for end in ends)
        gaps.append((datetime.fromisoformat(requested) - last_end).total_seconds())
    return statistics.median(gaps) if gaps else None


def dag_rows(name: str, scale: int, ran_before: bool, measured: dict[str, Any]) -> list[Row]:
    _, _, times_cp, most_requests, most_gap = next(size for size in SIZES if size[0] == name)
    durations = {job: d * scale for job, d in SHORT.items()}
    cp = critical_path(DAG8, durations)
    label = f"8-job DAG, {name} (CP {cp:.0f} s), {'ran before' if ran_before else 'first run ever'}"
    wall, requests, gap, outcome = (measured[k] for k in ("wall", "requests", "gap", "outcome"))
    failed = "" if outcome == "succeeded" else f" (plan {outcome})"

    def judged(value: float, target: float | None, text: str) -> tuple[str, str]:
        if not ran_before:
            return "(no target: first run)", ""
        if target is None:
            return "", ""
        return text, ("yes" if value <= target else "no") + failed

    rows = []
    target, met = judged(wall, cp * times_cp, f"<= {cp * times_cp:.1f} s ({times_cp:.2f}x CP)")
    rows.append(
        Row(
            f"{label}: makespan, real over HTTP (process wall time)",
            f"{wall:.1f} s",
            f"{cp:.1f} s (critical path)",
            f"{wall / cp:.2f}x CP",
            target,
            met,
        )
    )
    target, met = judged(requests, most_requests, f"<= {most_requests}")
    rows.append(
        Row(f"{label}: requests sent (all, preflight included)", str(requests), "", "", target, met)
    )
    shown = "n/a" if gap is None else f"{gap:.2f} s"
    target, met = judged(gap if gap is not None else float("inf"), most_gap, f"<= {most_gap} s")
    rows.append(
        Row(
            f"{label}: median upstream end -> start request, 7 dependent steps",
            shown,
            "",
            "",
            target,
            met,
        )
    )
    return rows


# --- virtual: status reads per run, and 1,000 steps under the budget ------------------------------


def reads_after_start(duration: float, setting: str) -> tuple[int, float]:
    """Status reads of one run of `duration` s after its start request (the pre-start status
    read and list of runs not counted), and the virtual time the plan took."""
    clock = VirtualClock()
    past: tuple[PastRun, ...] = ()
    if setting == "default, last run known":
        past = (PastRun(ended_ago=YESTERDAY, run=RunScript(duration=duration)),)
    script = JobScript(runs=(RunScript(duration=duration),), history=past)
    model = EmulatedFusion(Scenario(jobs={"j": script}), clock=clock, epoch=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.yaml"
        poll = "" if setting.startswith("default") else f"    poll_interval: {setting}\n"
        # a timeout beyond the longest run: the 2 h default would end a 2 h run
        path.write_text(
            f"version: 1\nfusion: {{auth: none}}\nsteps:\n  - job: j\n    timeout: 3h\n{poll}"
        )
        plan = load_plan(str(path))
    Engine(plan, ModelFusion(model), clock, url="virtual", rng=random.Random(1)).execute()
    kinds = [kind for kind, _ in model.requests]
    started = kinds.index(FaultTarget.START)
    return sum(1 for kind in kinds[started:] if kind == FaultTarget.STATUS), clock.now


def spoken(duration: int) -> str:
    """2 s, 2 min, 2 h."""
    for unit, seconds in (("h", 3600), ("min", 60)):
        if duration >= seconds and duration % seconds == 0:
            return f"{duration // seconds} {unit}"
    return f"{duration} s"


def reads_row(duration: int, setting: str, reads: int) -> Row:
    interval = AUTO_CEILING if setting.startswith("default") else int(setting.removesuffix("s"))
    fixed = duration // interval + 1
    target, met = "", ""
    if setting.startswith("default") and duration >= 120:
        target, met = "<= 1.3x fixed", "yes" if reads <= 1.3 * fixed else "no"
    elif not setting.startswith("default"):
        most = duration / interval + 2
        target, met = f"<= {most:.1f} (duration / poll + 2)", "yes" if reads <= most else "no"
    return Row(
        f"status reads after the start, one {spoken(duration)} run, {setting}, virtual",
        str(reads),
        f"{fixed} (every {interval} s)",
        f"{reads / fixed:.2f}",
        target,
        met,
    )


class Timed:
    """A Transport that notes the clock time each request goes out (after the budget's wait)."""

    def __init__(self, inner: Any, clock: VirtualClock) -> None:
        self.inner = inner
        self.clock = clock
        self.sent: list[float] = []

    def send(self, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(self.clock.now)
        return self.inner.send(*args, **kwargs)


def wide(steps: int, parallel: int) -> dict[str, Any]:
    """`steps` independent 2 s steps, `parallel` at once, on the virtual clock, with the
    request budget the plan has (the code's default), as `runner.commands.run.connect` builds
    it; a code with no budget sends as the engine asks."""
    clock = VirtualClock()
    names = [f"job{index:05d}" for index in range(steps)]
    model = EmulatedFusion(
        Scenario(jobs={n: JobScript(runs=(RunScript(duration=2.0),)) for n in names}),
        clock=clock,
        epoch=0,
    )
    with tempfile.TemporaryDirectory() as folder:
        write_plan(Path(folder), [(n, []) for n in names], dict.fromkeys(names, 2.0))
        path = Path(folder) / "plan.yaml"
        path.write_text(
            path.read_text().replace(f"max_parallel: {steps}", f"max_parallel: {parallel}")
        )
        plan = load_plan(str(path))
    rate = getattr(plan.fusion, "max_requests_per_second", None)
    if rate is None:
        fusion = ModelFusion(model)
    else:
        from runner.fusion.budget import Budget  # noqa: PLC0415

        budget = Budget(rate, monotonic=clock.monotonic, sleep=clock.sleep)
        fusion = ModelFusion(model, budget=budget)
    timed = Timed(fusion.transport, clock)
    fusion.transport = timed
    engine = Engine(plan, fusion, clock, url="virtual", rng=random.Random(1))
    engine.execute()
    sent = timed.sent
    peak, first = 0, 0
    for last, at in enumerate(sent):  # the most requests in any window [t, t + 1 s)
        while sent[first] <= at - 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return {
        "requests": len(sent),
        "peak": peak,
        "makespan": clock.now,
        "budget": rate,
        "outcome": str(engine.result.outcome),
    }


def wide_rows(steps: int, parallel: int, measured: dict[str, Any]) -> list[Row]:
    label = f"{steps:,} x 2 s steps, max_parallel {parallel}, virtual"
    requests, peak, makespan = measured["requests"], measured["peak"], measured["makespan"]
    allowed = requests / BUDGET
    budget = "none" if measured["budget"] is None else f"{measured['budget']}/s"
    failed = "" if measured["outcome"] == "succeeded" else f" (plan {measured['outcome']})"
    return [
        Row(f"{label}: requests sent (budget: {budget})", str(requests), "", "", "", ""),
        Row(
            f"{label}: peak requests in any 1 s",
            str(peak),
            f"{BUDGET} (the default budget)",
            f"{peak / BUDGET:.1f}",
            f"<= {BUDGET}",
            "yes" if peak <= BUDGET else "no",
        ),
        Row(
            f"{label}: makespan",
            f"{makespan:.1f} s",
            f"{allowed:.1f} s (requests / {BUDGET}: what the budget allows)",
            f"{makespan / allowed:.2f}",
            f"<= {1.2 * allowed:.1f} s (1.2x)",
            ("yes" if makespan <= 1.2 * allowed else "no") + failed,
        ),
    ]


def virtual(quick: bool) -> Iterator[dict[str, Any]]:
    """The virtual measures of the code imported, each as soon as it is taken."""
    for duration in DURATIONS[:-1] if quick else DURATIONS:
        for setting in SETTINGS:
            reads, _ = reads_after_start(duration, setting)
            yield {
                "reads": [duration, setting, reads],
                "row": asdict(reads_row(duration, setting, reads)),
            }
    steps, parallel = (200, 100) if quick else (1000, 500)
    for row in wide_rows(steps, parallel, wide(steps, parallel)):
        yield {"row": asdict(row)}


# --- the driver -----------------------------------------------------------------------------------


def describe(code: Path) -> str:
    head = subprocess.run(
        ["git", "-C", str(code), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{code} ({head[:90]})" if head else str(code)


def shown(code: Path, row: Row) -> None:
    """A row as soon as it is measured."""
    print(
        f"[{code.name}] {row.measure}: {row.fusion_run}  {row.target} {row.met}".rstrip(),
        flush=True,
    )


def matrix(reads: dict[tuple[int, str], int]) -> None:
    """The status reads per run as a Markdown table: one line a duration."""
    durations = sorted({duration for duration, _ in reads})
    header = ["run", *SETTINGS, "fixed every 10 s", "fixed every 30 s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("-" * (len(cell) + 2) for cell in header) + "|")
    for duration in durations:
        cells = [spoken(duration), *(str(reads[duration, s]) for s in SETTINGS)]
        cells += [str(duration // 10 + 1), str(duration // 30 + 1)]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short DAG, smaller plans")
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        help="a checkout whose code to measure (default: this one); twice to compare, in turn",
    )
    parser.add_argument("--virtual", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.virtual:  # the child: the virtual measures of BENCH_CODE, a JSON line each
        for measure in virtual(options.quick):
            print(json.dumps(measure), flush=True)
        return
    codes = [code.resolve() for code in options.code or [ROOT]]
    rows: dict[Path, list[Row]] = {code: [] for code in codes}
    reads: dict[Path, dict[tuple[int, str], int]] = {code: {} for code in codes}
    for code in codes:
        log(f"measuring {describe(code)}")
    with tempfile.TemporaryDirectory() as folder:
        for name, scale, *_ in SIZES[:1] if options.quick else SIZES:
            for ran_before in (True, False):
                for code in codes:  # each case with each code in turn: the same machine
                    scratch = Path(folder) / f"{len(list(Path(folder).iterdir()))}"
                    scratch.mkdir()
                    measured = real_dag(code, dag_folder(scratch, name, scale, ran_before))
                    for row in dag_rows(name, scale, ran_before, measured):
                        shown(code, row)
                        rows[code].append(row)
    for code in codes:
        child = subprocess.Popen(
            [sys.executable, __file__, "--virtual", *(["--quick"] if options.quick else [])],
            env={**os.environ, "BENCH_CODE": str(code)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for line in child.stdout:
            measure = json.loads(line)
            row = Row(**measure["row"])
            shown(code, row)
            rows[code].append(row)
            if "reads" in measure:
                duration, setting, count = measure["reads"]
                reads[code][duration, setting] = count
        if child.wait() != 0:
            log(f"the virtual measures of {code} ended with exit {child.returncode}")
    for code in codes:
        print(f"\ncode: {describe(code)}")
        print_table(rows[code])
        print(f"\nStatus reads after the start of one run, virtual, code: {code} ({DEFAULT})")
        matrix(reads[code])


if __name__ == "__main__":
    main()
