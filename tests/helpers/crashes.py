"""The crash-point explorer: fusion-run dies at every durable point of a plan, and resumes
(tests/scenario/test_crashes.py explores small plans whole, tests/process/test_crashes.py samples a
large one in a pool of processes).

A durable point is a moment after which something outside fusion-run has changed: each report
write and each request to Fusion, crashed at just before and just after. For every point k of a
plan's run, fusion-run is killed there (all its memory dropped: only the report on disk and
Fusion's own state survive), resumed and killed again at a random later point, then resumed to
the end. After every crash, and at the end:

- no step attempt has two runs in Fusion, and Fusion holds no run that no attempt names;
- no step that had succeeded on disk is ever started again;
- every run Fusion holds for the plan is, in the final report, followed to its end, adopted or
  cancelled (no attempt left open or left running);
- the report on disk validates against the report schema, at every point (each is a crash);
- each step ends as it does when nothing crashes: a crash never changes a verdict (a cancel
  ordered for a step's timeout is still a timeout, and retried, after the resume). A resume
  repairs a step whose retries were spent, so each plan's jobs are scripted to end a repair as
  they ended the round before.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import JobScript, RunScript, Scenario
from runner.engine import Engine
from runner.fusion import CallAnswer, DriverLog
from runner.fusion.schedule import Schedule
from runner.fusion.status import RunStatus
from runner.plan import Call, Step
from runner.report.journal import Journal
from tests.helpers.engine import plan_of
from tests.helpers.fakes import EPOCH, FakeClock
from tests.helpers.fusion_runs import run_keys
from tests.helpers.reports import valid


class Crash(BaseException):
    """fusion-run dies here (a BaseException, so that nothing in it can catch and go on)."""


@dataclass
class Points:
    """Counts the durable points of one fusion-run process; dies at point `at`."""

    at: int | None = None
    count: int = 0
    where: list[str] = field(default_factory=list)

    def reach(self, what: str) -> None:
        if self.count == self.at:
            raise Crash(what)
        self.count += 1
        self.where.append(what)


class Dying:
    """The emulator's model behind the Fusion protocol, with a durable point on each side of
    every request: "after" means Fusion did it, but fusion-run never saw the answer."""

    def __init__(self, model: EmulatedFusion, points: Points) -> None:
        self.inner = ModelFusion(model)
        self.points = points

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        self.points.reach(f"before {what}")
        try:
            return call()
        finally:
            self.points.reach(f"after {what}")

    def start(self, job: str) -> RunStatus:
        result: RunStatus = self._call(f"start {job}", lambda: self.inner.start(job))
        return result

    def status(self, job: str) -> RunStatus:
        result: RunStatus = self._call(f"status {job}", lambda: self.inner.status(job))
        return result

    def runs(self, job: str) -> list[RunStatus]:
        result: list[RunStatus] = self._call(f"runs {job}", lambda: self.inner.runs(job))
        return result

    def cancel(self, job: str) -> None:
        self._call(f"cancel {job}", lambda: self.inner.cancel(job))

    def configuration(self, job: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call(
            f"configuration {job}", lambda: self.inner.configuration(job)
        )
        return result

    def driver_log(self, job: str, run_id: str | None, rows: int) -> DriverLog:
        result: DriverLog = self._call(
            f"driver log {job}", lambda: self.inner.driver_log(job, run_id, rows)
        )
        return result

    def schedule(self, job: str) -> Schedule | None:
        found: Schedule | None = self._call(f"schedule {job}", lambda: self.inner.schedule(job))
        return found

    def call(self, call: Call) -> CallAnswer:
        answer: CallAnswer = self._call(f"call {call.target}", lambda: self.inner.call(call))
        return answer


@dataclass
class Disk:
    """The report file: what the last write that completed put there. Kept in memory, and put
    in a file only for a resume to read (file systems are slow, and writes are many)."""

    path: Path
    text: str | None = None

    def write(self, points: Points) -> Callable[[dict[str, Any]], None]:
        def write(report: dict[str, Any]) -> None:
            points.reach("before a report write")
            self.text = json.dumps(report)
            points.reach("after a report write")

        return write

    def report(self) -> dict[str, Any] | None:
        """The report on disk, checked against the report schema."""
        return None if self.text is None else valid(json.loads(self.text))

    def file(self) -> str:
        assert self.text is not None
        self.path.write_text(self.text)
        return str(self.path)


@dataclass
class World:
    """What outlives fusion-run: Fusion (the model, on its clock) and the report on disk."""

    steps: list[Step]
    scenario: Scenario
    tmp: Path
    dead: float  # seconds fusion-run stays dead after a crash, while Fusion's runs go on
    clock: FakeClock = field(default_factory=FakeClock)
    model: EmulatedFusion = field(init=False)
    disk: Disk = field(init=False)

    def __post_init__(self) -> None:
        jobs = [s.job for s in self.steps]
        self.model = EmulatedFusion(self.scenario, clock=self.clock, epoch=EPOCH, extra_jobs=jobs)
        self.disk = Disk(self.tmp / "report.json")

    def fusion_run(self, crash_at: int | None, seed: int) -> Points:
        """One fusion-run process: a fresh run, or a resume of the report on disk."""
        points = Points(at=crash_at)
        plan = plan_of(self.steps)
        resume = None
        if self.disk.text is not None:
            resume = load_resume(self.disk.file(), plan, force=False)
        engine = Engine(
            plan,
            Dying(self.model, points),
            self.clock,
            url="http://emulated",
            rng=random.Random(seed),
            reporter=Journal(self.disk.write(points)),
            resume=resume,
        )
        try:
            engine.preflight()
            engine.execute()
        except Crash:
            self.clock.advance(self.dead)
        return points

    def outcomes(self) -> dict[str, str]:
        report = self.disk.report()
        assert report is not None
        return {entry["name"]: entry["outcome"] for entry in report["steps"]}

    def succeeded_on_disk(self) -> set[str]:
        report = self.disk.report() or {"steps": []}
        return {s["job"] for s in report["steps"] if s["outcome"] == "succeeded"}

    def check(self, *, final: bool) -> None:
        report = self.disk.report()
        if report is None:  # died before the first write: nothing had started
            assert not any(kind == "start" for kind, _ in self.model.requests)
            return
        for entry in report["steps"]:
            in_fusion = run_keys(self.model, entry["job"])
            named = [set(a["run_keys"]) for a in entry["attempts"] if a["run_keys"]]
            for keys in named:  # each attempt's run is one run in Fusion, and no other's
                assert sum(1 for run in in_fusion if keys & run) == 1, entry
            unnamed = [run for run in in_fusion if not any(keys & run for keys in named)]
            if final:
                assert not unnamed, entry  # every run is one attempt's
                for attempt in entry["attempts"]:
                    assert attempt["outcome"] not in (None, "left_running"), entry
                assert entry["outcome"] not in ("pending", "running"), entry
            else:  # mid-way, a run whose answer was lost may not be named yet
                assert len(unnamed) <= 1, entry
                if unnamed:  # then its start is on disk, waiting for a resume to verify it
                    last = entry["attempts"][-1]
                    assert last["outcome"] is None, entry
                    assert last["requested_at"], entry


def explore(
    steps: list[Step],
    scenario: Scenario,
    tmp_path: Path,
    *,
    dead: float = 5,
    points: int | None = None,
    jobs: int = 1,
) -> tuple[int, int]:
    """Crash at every durable point (or `points` of them, sampled), stay `dead` a while, resume,
    crash again at a random later point, resume to the end; check after each. The points are
    shared among `jobs` processes (forked: nothing is imported again). Returns (points,
    resumes)."""
    baseline = World(steps, scenario, tmp_path / "baseline", dead)
    baseline.disk.path.parent.mkdir()
    total = baseline.fusion_run(None, seed=1).count
    baseline.check(final=True)
    verdicts = baseline.outcomes()
    rng = random.Random(len(steps))
    chosen = range(total) if points is None else sorted(rng.sample(range(total), points))
    crashes = [(k, rng.randrange(total * 2)) for k in chosen]  # where each process dies
    crash = functools.partial(
        _crash_twice,
        steps=steps,
        scenario=scenario,
        tmp_path=tmp_path,
        dead=dead,
        verdicts=verdicts,
    )
    if jobs == 1:
        for at in crashes:
            crash(at)
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            pool.map(crash, crashes, chunksize=1)
    return total, 2 * len(crashes)


def _crash_twice(
    at: tuple[int, int],
    *,
    steps: list[Step],
    scenario: Scenario,
    tmp_path: Path,
    dead: float,
    verdicts: dict[str, str],
) -> None:
    """fusion-run crashes at point k, its resume at the later point given, and the next resume
    runs to the end; each report on disk checked, and the verdicts those of the run that never
    crashed."""
    k, then = at
    folder = tmp_path / f"k{k}"
    folder.mkdir()
    world = World(steps, scenario, folder, dead)
    world.fusion_run(k, seed=1)
    world.check(final=False)
    kept = world.succeeded_on_disk()
    starts = {job: world.model.starts(job) for job in kept}
    world.fusion_run(then, seed=2)
    world.check(final=False)
    world.fusion_run(None, seed=3)
    world.check(final=True)
    assert world.outcomes() == verdicts, (k, world.disk.report())
    for job in kept:
        assert world.model.starts(job) == starts[job], (k, job)  # never started again


def runs(*scripts: RunScript, **kwargs: Any) -> JobScript:
    return JobScript(runs=scripts, **kwargs)
