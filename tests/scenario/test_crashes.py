"""The crash-point explorer: fusion-run dies at every durable point of a plan, and resumes.

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

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario, Variant
from runner.engine import Engine
from runner.fusion.status import RunStatus
from runner.plan import Step
from runner.report.journal import Journal
from tests.helpers.engine import plan_of
from tests.helpers.fakes import EPOCH, FakeClock, step
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
) -> tuple[int, int]:
    """Crash at every durable point (or `points` of them, sampled), stay `dead` a while, resume,
    crash again at a random later point, resume to the end; check after each. Returns (points,
    resumes)."""
    baseline = World(steps, scenario, tmp_path / "baseline", dead)
    baseline.disk.path.parent.mkdir()
    total = baseline.fusion_run(None, seed=1).count
    baseline.check(final=True)
    verdicts = baseline.outcomes()
    rng = random.Random(len(steps))
    chosen = range(total) if points is None else sorted(rng.sample(range(total), points))
    resumes = 0
    for k in chosen:
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        world = World(steps, scenario, folder, dead)
        world.fusion_run(k, seed=1)
        world.check(final=False)
        kept = world.succeeded_on_disk()
        starts = {job: world.model.starts(job) for job in kept}
        world.fusion_run(rng.randrange(total * 2), seed=2)
        world.check(final=False)
        world.fusion_run(None, seed=3)
        world.check(final=True)
        assert world.outcomes() == verdicts, (k, world.disk.report())
        resumes += 2
        for job in kept:
            assert world.model.starts(job) == starts[job], (k, job)  # never started again
    return total, resumes


def runs(*scripts: RunScript, **kwargs: Any) -> JobScript:
    return JobScript(runs=scripts, **kwargs)


FIGURES: dict[str, tuple[int, int]] = {}


# Each plan's runs are short, so that a run takes few status reads: each read is two durable
# points, and each point a run of the plan, so the explorer's work grows as the square of the
# reads. What a crash can meet is kept: which runs end while fusion-run is dead (`dead`), which
# go on past it, a resume within a step's timeout and one past it, a crash in a retry delay.


def test_a_chain_with_a_retry_and_a_timeout(tmp_path: Path) -> None:
    """a and b end while fusion-run is dead, c's first run outlives its timeout (3 s, longer
    than the 1.5 s dead: a resume may come within it), its retry takes as long as the dead."""
    scenario = Scenario(
        jobs={
            "a": runs(RunScript(duration=0.3)),
            "b": runs(
                RunScript(duration=0.4, state="error", error="boom"), RunScript(duration=0.4)
            ),
            "c": runs(RunScript(duration=120), RunScript(duration=1.5)),
        }
    )
    steps = [
        step("a"),
        step("b", "a", retries=1, retry_delay=1),
        step("c", "b", timeout=3, retries=1, retry_on=("timeout",), retry_delay=1),
    ]
    FIGURES["chain"] = explore(steps, scenario, tmp_path, dead=1.5)


def test_a_diamond_with_run_if(tmp_path: Path) -> None:
    """Every run ends while fusion-run is dead; b's takes exactly as long."""
    scenario = Scenario(
        jobs={
            "a": runs(RunScript(duration=0.2)),
            "b": runs(RunScript(duration=0.5)),
            "c": runs(RunScript(duration=0.3, state="error")),
            "d": runs(RunScript(duration=0.2)),
            "e": runs(RunScript(duration=0.1)),
        }
    )
    steps = [
        step("a"),
        step("b", "a"),
        step("c", "a", allow_failure=True),
        step("d", "b", "c", run_if="all_done"),
        step("e", "c", run_if="at_least_one_failed"),
    ]
    FIGURES["diamond"] = explore(steps, scenario, tmp_path, dead=0.5)


@pytest.mark.parametrize(
    "variant",
    [Variant(), Variant(history_run_ids=False, history_lag=2, all_oldest_first=True)],
    ids=["documented", "no run ids, lag, oldest first"],
)
def test_a_lost_start_status_faults_and_jobs_api_jobs(tmp_path: Path, variant: Variant) -> None:
    """The crawl outlives the dead (2.5 s), the others end within it; each lost start's run is
    still going when fusion-run first looks for it (a second after the start)."""
    lost = (Fault(on=FaultTarget.START, answer="lost"),)
    flaky = (Fault(on=FaultTarget.STATUS, answer=503, times=2, after=1),)
    scenario = Scenario(
        jobs={
            "datasource:web": runs(RunScript(duration=3), faults=lost),
            "spark": runs(RunScript(duration=2), faults=flaky, stale_reads=1),
            "task:warm": runs(RunScript(duration=2), faults=lost + flaky),
        },
        variant=variant,
    )
    steps = [
        step("crawl", job="datasource:web", states=("success",)),
        step("aggregate", "crawl", job="spark"),
        step("warm", "aggregate", job="task:warm", states=("success",)),
    ]
    FIGURES[f"lost start, {'documented' if variant == Variant() else 'no run ids'}"] = explore(
        steps, scenario, tmp_path, dead=2.5
    )


@pytest.mark.slow
def test_a_fifty_step_plan_sampled(tmp_path: Path) -> None:
    rng = random.Random(50)
    steps: list[Step] = []
    scripts: dict[str, JobScript] = {}
    for index in range(50):
        name = f"s{index:02d}"
        upstream = rng.sample([s.name for s in steps[-10:]], k=min(len(steps), rng.randint(0, 2)))
        # A resume repairs a step that failed with its retries spent (a new round), so a job
        # that failed once and would then succeed could end differently after a crash, by
        # design. Here a job either always fails, or fails at most once and has the retry
        # that absorbs it within its first round: every verdict is one a repair keeps.
        kind = rng.choice(["sound", "flaky", "broken"])
        first = "finished" if kind == "sound" else "error"
        later = "error" if kind == "broken" else "finished"
        retries = 1 if kind == "flaky" else rng.choice([0, 1])
        steps.append(step(name, *upstream, retries=retries, retry_delay=1))
        scripts[name] = runs(
            RunScript(duration=rng.uniform(0.5, 8), state=first),
            RunScript(duration=rng.uniform(0.5, 8), state=later),
        )
    FIGURES["fifty"] = explore(steps, Scenario(jobs=scripts), tmp_path, points=60)


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    for name, (points, resumes) in FIGURES.items():
        print(f"\ncrash explorer, {name}: {points} durable points, {resumes} resumes")
