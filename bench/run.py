"""fusion-run's benchmarks, against the built-in emulator, printed as one table.

    python bench/run.py            # everything, a few minutes
    python bench/run.py --quick    # smaller plans, for a first look

Each figure is measured side by side in the same run: machines are shared and noisy, so read
the ratios, not the absolute times. "virtual" figures run the engine and the emulator's model on
one simulated clock: exact and repeatable, they show what the algorithm does. "real" figures run
fusion-run over HTTP against the emulator on the wall clock.

Plans run with fusion-run's defaults, the request budget (`fusion.max_requests_per_second`, 10)
included, and, unless a row says "first run", on jobs that ran before (each job's last good run
took as long as this one will: the nightly case, where `poll_interval: auto` reads at the end).
A makespan's target is the larger of 1.1 x the critical path + 1 s and 1.2 x what the budget
allows (the requests sent, 10 a second), after the preflight's reads of every job's configuration
and schedule, which go before any start at the budget's rate. The status reads of one run by its
length and `poll_interval` are `bench/polling.py`'s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# fusion-run started as a process runs this checkout's code too, whatever is installed
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

from runner.emulator.adapter import ModelFusion  # noqa: E402
from runner.emulator.model import EmulatedFusion  # noqa: E402
from runner.emulator.scenario import JobScript, PastRun, RunScript, Scenario  # noqa: E402
from runner.engine import Engine  # noqa: E402
from runner.plan.loader import load_plan  # noqa: E402

Dag = list[tuple[str, list[str]]]  # each step's name and the steps it waits for
POLL = 10  # seconds: the step poll_interval, and what the plain script sleeps between reads


@dataclass
class Row:
    measure: str
    fusion_run: str
    baseline: str
    ratio: str
    target: str
    met: str


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime.fromtimestamp(1_767_225_600 + self.now, tz=UTC)

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


# --- plans ----------------------------------------------------------------------------------------


def random_dag(steps: int, seed: int) -> tuple[Dag, dict[str, float]]:
    """A random DAG: each step waits for up to two earlier ones; durations 0.5 to 5 s."""
    rng = random.Random(seed)
    dag: Dag = []
    durations: dict[str, float] = {}
    for index in range(steps):
        name = f"job{index:05d}"
        earlier = [n for n, _ in dag[max(0, index - 50) : index]]
        upstream = rng.sample(earlier, k=min(len(earlier), rng.choice([0, 1, 1, 2])))
        dag.append((name, upstream))
        durations[name] = round(rng.uniform(0.5, 5.0), 2)
    return dag, durations


def chain(steps: int, duration: float) -> tuple[Dag, dict[str, float]]:
    """Each step waits for the one before: the plan is its critical path."""
    names = [f"job{index:05d}" for index in range(steps)]
    dag: Dag = [(name, names[index - 1 : index]) for index, name in enumerate(names)]
    return dag, dict.fromkeys(names, duration)


def critical_path(dag: Dag, durations: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for name, upstream in dag:
        finish[name] = max((finish[u] for u in upstream), default=0.0) + durations[name]
    return max(finish.values())


RAN_BEFORE = 86_400.0  # seconds before the plan a job's last good run ended: last night


def write_plan(
    folder: Path, dag: Dag, durations: dict[str, float], *, ran_before: bool = False
) -> Path:
    """The plan, and the emulator's scenario.yaml beside it; with `ran_before`, each job's last
    good run took as long as this one will."""
    lines = ["version: 1", f"max_parallel: {len(dag)}", "fusion: {auth: none}", "steps:"]
    for name, upstream in dag:
        lines.append(f"  - job: {name}\n    depends_on: [{', '.join(upstream)}]")
    (folder / "plan.yaml").write_text("\n".join(lines) + "\n")
    runs = []
    for name, duration in durations.items():
        past = f", history: [{{ended_ago: {RAN_BEFORE}, duration: {duration}}}]"
        runs.append(f"  {name}: {{runs: [{{duration: {duration}}}]{past if ran_before else ''}}}")
    (folder / "scenario.yaml").write_text("version: 1\njobs:\n" + "\n".join(runs) + "\n")
    return folder / "plan.yaml"


def scenario_of(durations: dict[str, float], *, ran_before: bool = False) -> Scenario:
    def script(duration: float) -> JobScript:
        past = PastRun(ended_ago=RAN_BEFORE, run=RunScript(duration=duration))
        return JobScript(runs=(RunScript(duration=duration),), history=(past,) * ran_before)

    return Scenario(jobs={n: script(d) for n, d in durations.items()})


def budgeted(model: EmulatedFusion, clock: VirtualClock) -> ModelFusion:
    """The model as fusion-run's client reaches Fusion: every request within the default budget.
    (Imported here: bench/polling.py imports this module to measure code that has no budget.)"""
    from runner.fusion.budget import Budget  # noqa: PLC0415
    from runner.plan import DEFAULT_MAX_REQUESTS_PER_SECOND  # noqa: PLC0415

    budget = Budget(DEFAULT_MAX_REQUESTS_PER_SECOND, monotonic=clock.monotonic, sleep=clock.sleep)
    return ModelFusion(model, budget=budget)


def target(
    cp: float, requests: int, *, preflight: int = 0, share: float = 1.1, plus: float = 1.0
) -> float:
    """A makespan's target: `share` x the critical path + `plus` s, or 1.2 x what the budget
    allows, whichever is longer; after the preflight's reads, which go before any start (every
    job's configuration and schedule), at the budget's rate."""
    from runner.plan import DEFAULT_MAX_REQUESTS_PER_SECOND as rate  # noqa: PLC0415

    return preflight / rate + max(cp * share + plus, 1.2 * (requests - preflight) / rate)


# --- makespan -------------------------------------------------------------------------------------


def virtual_fusion_run(
    plan_path: Path, durations: dict[str, float], *, ran_before: bool = True
) -> tuple[float, int, int]:
    """Makespan, status reads and requests of the engine on the virtual clock."""
    clock = VirtualClock()
    model = EmulatedFusion(scenario_of(durations, ran_before=ran_before), clock=clock, epoch=0)
    plan = load_plan(str(plan_path))
    Engine(plan, budgeted(model, clock), clock, url="virtual", rng=random.Random(1)).execute()
    reads = sum(1 for kind, _ in model.requests if kind == "status")
    return clock.now, reads, len(model.requests)


def virtual_plain_script(dag: Dag, durations: dict[str, float]) -> float:
    """What people run today: start each job in order, `sleep N`, read, until it ends."""
    clock = VirtualClock()
    model = EmulatedFusion(scenario_of(durations), clock=clock, epoch=0)
    fusion = ModelFusion(model)
    for name, _ in dag:
        fusion.start(name)
        while True:
            clock.sleep(POLL)
            if fusion.status(name).terminal:
                break
    return clock.now


def real_fusion_run(plan_path: Path) -> tuple[float, int, int]:
    """fusion-run over HTTP on the wall clock, against the emulator in a process of its own, as
    Fusion is (on a machine of two cores, sharing one process would measure Python's lock): its
    makespan, the requests it sent, and how many of them the preflight's."""
    folder = plan_path.parent
    log_path = folder / "emulator.log"
    emulator = emulator_process(folder, log_path)
    try:
        url = _served_at(log_path)
        subprocess.run(
            [sys.executable, "-m", "runner", plan_path.name, "--url", url, "-q"],
            cwd=folder,
            env=CHILD_ENV,
            check=True,
            capture_output=True,
        )
    finally:
        emulator.terminate()
        emulator.wait()
    report: dict[str, Any] = json.loads((folder / "fusion-run-report.json").read_text())
    assert report["outcome"] == "succeeded", report["outcome"]
    served = [line for line in log_path.read_text().splitlines() if " -> " in line]
    preflight = sum("/configurations/" in line or "/schedule " in line for line in served)
    return float(report["duration"]), len(served), preflight


def emulator_process(folder: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """The emulator of this checkout serving `folder`'s scenario.yaml in a process of its own,
    its stderr (the URL it serves at, then a line per request) in `log_path`."""
    with log_path.open("w") as log_file:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner.cli.emulator",
                "--port",
                "0",
                "--scenario",
                "scenario.yaml",
            ],
            cwd=folder,
            env=CHILD_ENV,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )


def _served_at(log_path: Path) -> str:
    """The emulator's URL, from the line it writes once it serves."""
    for _ in range(200):
        first = log_path.read_text().partition("\n")[0]
        if first.endswith("/api"):
            return first.rsplit(" ", 1)[-1].removesuffix("/api")
        time.sleep(0.05)
    raise RuntimeError(f"the emulator did not start: {log_path.read_text()[:500]}")


def real_plain_script(dag: Dag, durations: dict[str, float], poll: float) -> float:
    import requests  # noqa: PLC0415

    from runner.emulator.server import Emulator  # noqa: PLC0415

    with (
        Emulator(EmulatedFusion(scenario_of(durations))) as emulator,
        requests.Session() as session,
    ):
        began = time.monotonic()
        for name, _ in dag:
            session.post(f"{emulator.url}/api/spark/jobs/{name}", timeout=10).raise_for_status()
            while True:
                time.sleep(poll)
                if (
                    session.get(f"{emulator.url}/api/spark/jobs/{name}", timeout=10).json()["state"]
                    == "finished"
                ):
                    break
        return time.monotonic() - began


# --- start-up and scale ------------------------------------------------------------------------


def median_time(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, env=CHILD_ENV, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def startup(runs: int) -> tuple[float, float]:
    bare, tool = [], []
    plan = str(ROOT / "examples" / "quickstart.yaml")
    for _ in range(runs):  # interleaved, so both see the same machine
        bare.append(median_time([sys.executable, "-c", "pass"], 1))
        tool.append(median_time([sys.executable, "-m", "runner", plan, "--validate"], 1))
    return statistics.median(tool), statistics.median(bare)


def validate_big(folder: Path, steps: int) -> float:
    dag, durations = random_dag(steps, seed=7)
    path = write_plan(folder, dag, durations)
    return median_time([sys.executable, "-m", "runner", str(path), "--validate"], 3)


def peak_memory(folder: Path, jobs: int) -> tuple[float, float]:
    """Peak RSS (MB) of fusion-run running `jobs` jobs at once on the emulator, and of a
    bare `--version` for scale. The budget is raised, or the runs would go a few at a time."""
    dag: Dag = [(f"job{i:05d}", []) for i in range(jobs)]
    path = write_plan(folder, dag, dict.fromkeys((n for n, _ in dag), 3.0))
    path.write_text(
        path.read_text().replace("{auth: none}", "{auth: none, max_requests_per_second: 1000}")
    )

    def rss(command: list[str]) -> float:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=CHILD_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        assert status == 0, status
        return usage.ru_maxrss / 1024

    run = rss(
        [
            sys.executable,
            "-m",
            "runner",
            path.name,
            "--emulate",
            "--scenario",
            "scenario.yaml",
            "-q",
        ]
    )
    idle = rss([sys.executable, "-m", "runner", "--version"])
    return run, idle


def tick_work(steps: int, active: int) -> float:
    """Engine CPU seconds per tick with `active` runs at once, for a plan of `steps` steps."""
    with tempfile.TemporaryDirectory() as folder:
        dag: Dag = [(f"job{i:05d}", []) for i in range(steps)]
        path = write_plan(Path(folder), dag, dict.fromkeys((n for n, _ in dag), 30.0))
        text = path.read_text().replace(f"max_parallel: {steps}", f"max_parallel: {active}")
        path.write_text(text)
        clock = VirtualClock()
        model = EmulatedFusion(
            scenario_of(dict.fromkeys((n for n, _ in dag), 30.0)), clock=clock, epoch=0
        )
        engine = Engine(
            load_plan(str(path)), ModelFusion(model), clock, url="virtual", rng=random.Random(1)
        )
        ticks = 0
        original = engine._tick

        def counted() -> None:
            nonlocal ticks
            ticks += 1
            original()

        engine._tick = counted  # type: ignore[method-assign]
        began = time.process_time()
        engine.execute()
        return (time.process_time() - began) / ticks


# --- the table ------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def met(value: float, target: float) -> str:
    return "yes" if value <= target else f"no, +{value - target:.1f} s"


def makespan_rows(steps: int, scratch: Path) -> list[Row]:
    folder = scratch / f"plan{steps}"
    folder.mkdir()
    dag, durations = random_dag(steps, seed=steps)
    path = write_plan(folder, dag, durations, ran_before=True)
    cp = critical_path(dag, durations)
    log(f"makespan: {steps} steps, critical path {cp:.1f} s")
    virtual, reads, sent = virtual_fusion_run(path, durations)
    first, _, first_sent = virtual_fusion_run(path, durations, ran_before=False)
    plain = virtual_plain_script(dag, durations)
    real, real_sent, preflight = real_fusion_run(path)
    real_target = target(cp, real_sent, preflight=preflight)
    baseline, ratio = "", f"{real / cp:.2f}x CP"
    if steps == 10:  # the plain script for real takes minutes beyond this
        plain_real = real_plain_script(dag, durations, poll=5)
        baseline, ratio = f"{plain_real:.1f} s (sleep 5)", f"{real / plain_real:.2f}"
    return [
        Row(
            f"makespan, {steps} steps, virtual (critical path {cp:.1f} s)",
            f"{virtual:.1f} s",
            f"{plain:.0f} s (sleep {POLL})",
            f"{virtual / cp:.2f}x CP",
            f"<= {target(cp, sent):.1f} s ({sent} requests)",
            met(virtual, target(cp, sent)),
        ),
        Row(
            f"makespan, {steps} steps, virtual, first run (no last durations)",
            f"{first:.1f} s",
            "",
            f"{first / cp:.2f}x CP",
            f"none ({first_sent} requests)",
            "",
        ),
        Row(
            f"makespan, {steps} steps, real over HTTP",
            f"{real:.1f} s",
            baseline,
            ratio,
            f"<= {real_target:.1f} s ({real_sent} requests, {preflight} preflight)",
            met(real, real_target),
        ),
        Row(
            f"status reads per run (incl. pre-start check), {steps} steps, virtual",
            f"{reads / steps:.1f}",
            "",
            "",
            "",
            "",
        ),
    ]


def chain_rows(steps: int, scratch: Path) -> list[Row]:
    folder = scratch / f"chain{steps}"
    folder.mkdir()
    dag, durations = chain(steps, 0.5)
    path = write_plan(folder, dag, durations, ran_before=True)
    cp = critical_path(dag, durations)
    log(f"makespan: a chain of {steps} jobs of 0.5 s, critical path {cp:.1f} s")
    real, sent, preflight = real_fusion_run(path)
    most = target(cp, sent, preflight=preflight, share=1.15, plus=0)
    return [
        Row(
            f"makespan, chain of {steps} x 0.5 s jobs, real over HTTP",
            f"{real:.1f} s",
            f"{cp:.1f} s (critical path)",
            f"{real / cp:.2f}x CP",
            f"<= {most:.1f} s (1.15x, {sent} requests, {preflight} preflight)",
            met(real, most),
        )
    ]


def startup_and_scale_rows(scratch: Path, quick: bool) -> list[Row]:
    log("start-up")
    tool, bare = startup(7 if quick else 21)
    rows = [
        Row(
            "start-up: fusion-run --validate quickstart (median)",
            f"{tool * 1000:.0f} ms",
            f"{bare * 1000:.0f} ms (python -c pass)",
            f"{tool / bare:.1f}x",
            "<= 8x",
            "yes" if tool / bare <= 8 else "no",
        ),
    ]
    log("scale")
    big = scratch / "big"
    big.mkdir()
    seconds = validate_big(big, 10_000)
    rows.append(
        Row(
            "validate a 10,000-step plan (median of 3)",
            f"{seconds:.2f} s",
            "",
            "",
            "< 2 s",
            "yes" if seconds < 2 else "no",
        )
    )
    wide = scratch / "wide"
    wide.mkdir()
    jobs = 200 if quick else 1000
    run_mb, idle_mb = peak_memory(wide, jobs)
    rows.append(
        Row(
            f"peak memory, {jobs} jobs at once on the emulator",
            f"{run_mb:.0f} MB",
            f"{idle_mb:.0f} MB (fusion-run --version)",
            f"{run_mb / idle_mb:.1f}x",
            "< 150 MB",
            "yes" if run_mb < 150 else "no",
        )
    )
    small, large = tick_work(1000, 50), tick_work(2000 if quick else 10_000, 50)
    rows.append(
        Row(
            "engine CPU per tick, 50 active runs: 1,000 vs 10,000 steps",
            f"{small * 1e6:.0f} µs",
            f"{large * 1e6:.0f} µs",
            f"{large / small:.2f}",
            "~1 (work follows active runs)",
            "yes" if large / small < 2 else "no",
        )
    )
    return rows


def print_table(rows: list[Row]) -> None:
    header = Row("measure", "fusion-run", "baseline", "ratio", "target", "met")
    fields = list(Row.__dataclass_fields__)
    widths = [max(len(getattr(r, f)) for r in [header, *rows]) for f in fields]
    for row in [header, None, *rows]:
        if row is None:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
            continue
        cells = [getattr(row, f).ljust(w) for f, w in zip(fields, widths, strict=True)]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller plans, fewer repetitions")
    quick = parser.parse_args().quick
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for steps in [10, 100] if quick else [10, 100, 1000]:
            rows += makespan_rows(steps, scratch)
        rows += chain_rows(50 if quick else 200, scratch)
        rows += startup_and_scale_rows(scratch, quick)
    print_table(rows)


if __name__ == "__main__":
    main()
