"""Every move of `runner.engine.phases.TRANSITIONS` is one the engine takes somewhere: in the
simulation's first seeds, or in a scenario of its own below, named for the move and holding what
a user sees when the step takes it. A move no test takes is one no test has ever seen work.

Each move is recorded where every move goes (`Engine.move`), self-moves included: a handler that
returns its step's own phase (FOLLOW -> FOLLOW) is moved there too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.render import Run
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobScript,
    RunScript,
    Scenario,
    Variant,
)
from runner.engine import Engine
from runner.engine.context import IDENTIFY_WITHIN
from runner.engine.phases import TRANSITIONS, Phase, StepState
from runner.events import (
    Retrying,
    RunGone,
    RunPickedUp,
    StartAnswerLost,
    Started,
    WaitingForOther,
)
from runner.fusion.routes import key as key_of
from runner.plan import AllowedFailures, Step
from runner.report import Reporters
from runner.report.journal import Journal, report_file
from tests.helpers.engine import Recorder, jobs, plan_of, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, call_step, step

SEEDS = 300  # the simulation's first seeds: about 7 s
Edge = tuple[Phase, Phase]
EDGES: frozenset[Edge] = frozenset(
    (source, target) for source, targets in TRANSITIONS.items() for target in targets
)


def words(edge: Edge) -> str:
    return f"{edge[0].name} -> {edge[1].name}"


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> set[Edge]:
    """Every move the engine makes while the test runs, as (from, to)."""
    taken: set[Edge] = set()
    real = Engine.move

    def move(self: Engine, state: StepState, phase: Phase) -> None:
        taken.add((state.phase, phase))
        real(self, state, phase)

    monkeypatch.setattr(Engine, "move", move)
    return taken


# --- two fusion-runs on one Fusion: the first detached, the second resuming its report ----------


@dataclass
class Invocation:
    engine: Engine
    events: list[Any]
    report: dict[str, Any]
    began: float  # clock time it began

    def step(self, name: str) -> dict[str, Any]:
        return dict(next(s for s in self.report["steps"] if s["name"] == name))

    def of(self, kind: type[Any], **facts: Any) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in facts.items())
        ]


@dataclass
class Fusion:
    """One emulated Fusion whose runs go on between two fusion-runs, on one fake clock."""

    scenario: Scenario
    folder: Path
    clock: FakeClock = field(default_factory=FakeClock)
    model: EmulatedFusion = field(init=False)

    def __post_init__(self) -> None:
        self.model = EmulatedFusion(
            self.scenario, clock=self.clock, epoch=EPOCH, extra_jobs=list(self.scenario.jobs)
        )

    @property
    def path(self) -> str:
        return str(self.folder / "report.json")

    def run(
        self, steps: list[Step], *, detach_at: float | None = None, resume: bool = False
    ) -> Invocation:
        plan, began, recorder = plan_of(steps), self.clock.now, Recorder()
        engine = Engine(
            plan,
            ModelFusion(self.model),
            self.clock,
            url="http://emulated",
            rng=random.Random(5),
            reporter=Reporters(recorder, Journal(report_file(self.path))),
            detach=detach_at is not None,
            interrupts=lambda: int(detach_at is not None and self.clock.now - began >= detach_at),
            resume=load_resume(self.path, plan, force=False) if resume else None,
        )
        engine.preflight()
        engine.execute()
        report = json.loads(Path(self.path).read_text(encoding="utf-8"))
        return Invocation(engine, recorder.events, report, began)

    def runs(self, job: str) -> list[Run]:
        return self.model.runs_of(job)

    def lose_runs(self, job: str) -> None:
        """Fusion forgets every run of `job` (restarted, its history gone)."""
        self.model.jobs[key_of(job)].runs.clear()


def outcomes(attempts: list[dict[str, Any]]) -> list[str | None]:
    return [attempt["outcome"] for attempt in attempts]


# A failure handler: `prep` fails (allowed), so `cleanup` runs; the first fusion-run is detached
# while cleanup's run goes on. The resume runs prep again, for 300 s, and it fails again: cleanup
# has to wait for it whenever it has no run going, and runs again once prep has ended.
PREP = JobScript(
    runs=(RunScript(duration=1, state="error"), RunScript(duration=300, state="error"))
)


def handler(folder: Path, cleanup: JobScript, **settings: Any) -> tuple[Fusion, list[Step]]:
    """The failure handler's Fusion and steps, `cleanup` running as scripted, with `settings`."""
    steps = [
        step("prep", allow_failure=True),
        replace(
            step("cleanup", "prep", run_if="at_least_one_failed", **settings),
            allowed_failures=AllowedFailures.FAIL,  # prep's allowed failure is what it handles
        ),
    ]
    return Fusion(Scenario(jobs={"prep": PREP, "cleanup": cleanup}), folder), steps


def prep_ended(fusion: Fusion) -> float:
    """When prep's run in the resume ended."""
    return fusion.runs("prep")[-1].end()


# --- one scenario per move the simulation's seeds do not take ------------------------------------


def pick_up_a_run_gone_from_fusion_starts_the_job_again(folder: Path) -> None:
    """PICK_UP -> START: the run left going is not in Fusion any more (its history lost); no run
    shows for as long as one may take to show, then the job is started again, once."""
    fusion = Fusion(
        Scenario(jobs={"a": runs(RunScript(duration=10)), "b": runs(RunScript(duration=120))}),
        folder,
    )
    steps = [step("a"), step("b", "a")]
    first = fusion.run(steps, detach_at=30)
    left = first.step("b")["run_id"]
    assert first.step("b")["outcome"] == "running"
    fusion.lose_runs("b")
    second = fusion.run(steps, resume=True)
    b = second.step("b")
    assert (second.engine.result.outcome, b["outcome"]) == ("succeeded", "succeeded")
    assert second.of(RunGone, step="b", run_id=left)
    assert outcomes(b["attempts"]) == ["left_running", "succeeded"]
    assert fusion.model.starts("b") == 2
    [again] = fusion.runs("b")
    # not before the run could have shown, and not much after
    assert again.started - second.began == pytest.approx(IDENTIFY_WITHIN, abs=1)


def pick_up_a_run_gone_waits_for_an_upstream_running_again(folder: Path) -> None:
    """PICK_UP -> UPSTREAM: cleanup's run left going is gone, and prep, its upstream, runs again
    in the resume: cleanup starts again only once prep has ended, and as run_if says then."""
    fusion, steps = handler(folder, runs(RunScript(duration=120)))
    first = fusion.run(steps, detach_at=5)
    assert first.step("cleanup")["outcome"] == "running"
    fusion.lose_runs("cleanup")
    second = fusion.run(steps, resume=True)
    cleanup = second.step("cleanup")
    assert (second.engine.result.outcome, cleanup["outcome"]) == ("succeeded", "succeeded")
    assert second.of(RunGone, step="cleanup")
    assert outcomes(cleanup["attempts"]) == ["left_running", "succeeded"]
    assert fusion.model.starts("cleanup") == 2
    [again] = fusion.runs("cleanup")
    assert again.started >= prep_ended(fusion)


def pick_up_a_run_gone_waits_for_another_run_of_the_job(folder: Path) -> None:
    """PICK_UP -> WAIT_OTHER: the run left going is gone, and someone else's run of the job is
    going (on_running: wait): the job starts again once that run has ended, never beside it."""
    fusion = Fusion(Scenario(jobs={"b": runs(RunScript(duration=200))}), folder)
    steps = [step("b")]
    first = fusion.run(steps, detach_at=30)
    left = first.step("b")["run_id"]
    fusion.lose_runs("b")
    fusion.model.start("b")  # someone else's run, 200 s long
    [other] = fusion.runs("b")
    second = fusion.run(steps, resume=True)
    b = second.step("b")
    assert (second.engine.result.outcome, b["outcome"]) == ("succeeded", "succeeded")
    assert second.of(RunGone, step="b", run_id=left)
    assert second.of(WaitingForOther, step="b", run_id=other.run_id)
    assert outcomes(b["attempts"]) == ["left_running", "succeeded"]
    assert not any(attempt["adopted"] for attempt in b["attempts"])
    assert [run.run_id for run in fusion.runs("b")] == [other.run_id, b["run_id"]]
    assert fusion.runs("b")[-1].started >= other.end()


def wait_other_adopts_the_run_that_refused_its_start(folder: Path) -> None:
    """WAIT_OTHER -> FOLLOW: someone's run is going, but Fusion's view and history do not show
    it yet; the start is refused (409), and once the run shows, on_running: adopt takes it: no
    run of the step's own, and the step succeeds on the run it adopted."""
    job = "datasource:crawl"
    scenario = Scenario(
        jobs={job: runs(RunScript(duration=60, result={"counter.failed": 0}), stale_reads=2)},
        variant=Variant(history_lag=1),
    )
    fusion = Fusion(scenario, folder)
    fusion.model.start(job)  # someone else's run
    [other] = fusion.runs(job)
    second = fusion.run([step("crawl", job=job, on_running="adopt", states=("success",))])
    crawl = second.step("crawl")
    assert (second.engine.result.outcome, crawl["outcome"]) == ("succeeded", "succeeded")
    assert fusion.model.starts(job) == 2  # someone's, and the step's, refused
    assert fusion.runs(job) == [other]
    assert second.of(WaitingForOther, step="crawl")
    assert second.of(Started, step="crawl", adopted=True)
    assert [(a["outcome"], a["adopted"]) for a in crawl["attempts"]] == [
        ("not_started", False),
        ("succeeded", True),
    ]


def start_answered_with_a_run_ended_already_retries(folder: Path) -> None:
    """START -> RETRY_DELAY: the start's answer shows its run ended already (a run that fails at
    once), not as the plan accepts: with a retry left, the step waits out retry_delay, then
    starts again, and succeeds."""
    scenario = jobs(a=runs(RunScript(duration=0, state="error"), RunScript(duration=2)))
    result = run([step("a", retries=1, retry_delay=1)], scenario)
    a = result.step("a")
    assert (result.outcome, a["outcome"]) == ("succeeded", "succeeded")
    assert outcomes(a["attempts"]) == ["failed", "succeeded"]
    assert a["attempts"][0]["state"] == "error"
    assert result.of(Retrying, step="a", attempt=1)
    assert result.model.starts("a") == 2


def check_sends_a_request_not_accepted_and_retries(folder: Path) -> None:
    """CHECK -> RETRY_DELAY: a `request:` step has no run to start, so it sends its request from
    CHECK; an answer whose status it does not accept, with a retry left, waits out retry_delay
    and is sent again."""
    swap = call_step(
        "swap",
        method="POST",
        path="/api/solr/admin/collections",
        params=(("action", "CREATEALIAS"),),  # no name: Solr answers 400
        retries=1,
        retry_delay=5,
    )
    result = run([swap])
    assert result.outcomes() == {"swap": "failed"}
    assert [a["state"] for a in result.step("swap")["attempts"]] == ["400", "400"]
    assert result.of(Retrying, step="swap", attempt=1)


def retry_delay_over_waits_for_an_upstream_running_again(folder: Path) -> None:
    """RETRY_DELAY -> UPSTREAM: cleanup's run left going is picked up and fails; its retry delay
    is over while prep, its upstream, still runs again in the resume: the retry waits for prep,
    and starts once prep has ended."""
    cleanup = runs(RunScript(duration=120, state="error"), RunScript(duration=5))
    fusion, steps = handler(folder, cleanup, retries=1, retry_delay=5)
    first = fusion.run(steps, detach_at=5)
    assert first.step("cleanup")["outcome"] == "running"
    second = fusion.run(steps, resume=True)
    cleanup_ = second.step("cleanup")
    assert (second.engine.result.outcome, cleanup_["outcome"]) == ("succeeded", "succeeded")
    assert second.of(RunPickedUp, step="cleanup")
    assert second.of(Retrying, step="cleanup", attempt=1)
    assert outcomes(cleanup_["attempts"]) == ["failed", "succeeded"]
    assert fusion.model.starts("cleanup") == 2
    picked, retried = fusion.runs("cleanup")
    assert picked.end() < prep_ended(fusion) <= retried.started


def verify_finds_no_run_and_waits_for_an_upstream_running_again(folder: Path) -> None:
    """VERIFY -> UPSTREAM: cleanup's start lost its answer (the connection dropped before it
    reached Fusion), and the first fusion-run was detached while it looked for the run. The
    resume looks on; no run shows, so the start never began one; prep runs again meanwhile, so
    cleanup waits for it, and starts, in the same attempt, once prep has ended."""
    cleanup = runs(RunScript(duration=5), faults=(Fault(on=FaultTarget.START, answer="reset"),))
    fusion, steps = handler(folder, cleanup)
    first = fusion.run(steps, detach_at=5)
    assert first.of(StartAnswerLost, step="cleanup")
    assert (first.step("cleanup")["outcome"], fusion.runs("cleanup")) == ("running", [])
    second = fusion.run(steps, resume=True)
    cleanup_ = second.step("cleanup")
    assert (second.engine.result.outcome, cleanup_["outcome"]) == ("succeeded", "succeeded")
    assert outcomes(cleanup_["attempts"]) == ["succeeded"]  # the same attempt, sent again
    [only] = fusion.runs("cleanup")
    assert only.started >= prep_ended(fusion)


def verify_finds_its_run_ended_failed_and_retries(folder: Path) -> None:
    """VERIFY -> RETRY_DELAY: the start's answer is lost (the run began); by the time the step
    finds the run, it has ended, failed (a run that fails at once): with a retry left, the step
    waits out retry_delay, then starts again, and succeeds."""
    lost = (Fault(on=FaultTarget.START, answer="lost"),)
    scenario = jobs(
        a=runs(RunScript(duration=0, state="error"), RunScript(duration=2), faults=lost)
    )
    result = run([step("a", retries=1, retry_delay=1)], scenario)
    a = result.step("a")
    assert (result.outcome, a["outcome"]) == ("succeeded", "succeeded")
    assert result.of(StartAnswerLost, step="a")
    assert outcomes(a["attempts"]) == ["failed", "succeeded"]
    assert result.model.starts("a") == 2


# Each move the seeds leave untaken, and the scenario that takes it, in the diagram's order.
SCENARIOS: list[tuple[Edge, Callable[[Path], None]]] = [
    ((Phase.PICK_UP, Phase.UPSTREAM), pick_up_a_run_gone_waits_for_an_upstream_running_again),
    ((Phase.PICK_UP, Phase.START), pick_up_a_run_gone_from_fusion_starts_the_job_again),
    ((Phase.PICK_UP, Phase.WAIT_OTHER), pick_up_a_run_gone_waits_for_another_run_of_the_job),
    ((Phase.WAIT_OTHER, Phase.FOLLOW), wait_other_adopts_the_run_that_refused_its_start),
    ((Phase.START, Phase.RETRY_DELAY), start_answered_with_a_run_ended_already_retries),
    ((Phase.VERIFY, Phase.UPSTREAM), verify_finds_no_run_and_waits_for_an_upstream_running_again),
    ((Phase.VERIFY, Phase.RETRY_DELAY), verify_finds_its_run_ended_failed_and_retries),
    ((Phase.RETRY_DELAY, Phase.UPSTREAM), retry_delay_over_waits_for_an_upstream_running_again),
    ((Phase.CHECK, Phase.RETRY_DELAY), check_sends_a_request_not_accepted_and_retries),
]


@pytest.mark.parametrize(
    ("edge", "scenario"), SCENARIOS, ids=[scenario.__name__ for _, scenario in SCENARIOS]
)
def test_the_scenario_takes_its_move(
    edge: Edge, scenario: Callable[[Path], None], moves: set[Edge], tmp_path: Path
) -> None:
    scenario(tmp_path)
    assert edge in moves, f"{scenario.__name__} did not take {words(edge)}"
