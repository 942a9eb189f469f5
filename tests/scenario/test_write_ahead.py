"""Never twice, never lost, at the engine: starts written ahead, resumes that keep what they
resumed from, cancels that are confirmed, 500s ridden out, history kept across resumes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from runner import wording
from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from runner.engine import Engine
from runner.fusion import CallAnswer, DriverLog
from runner.fusion.schedule import Schedule
from runner.fusion.status import RunStatus
from runner.outcomes import PlanOutcome
from runner.plan import Call
from runner.reasons import CredentialsRefused, InterruptedBeforeStart, JobsMissing
from runner.report.journal import Journal, report_file, write_atomically
from tests.helpers.engine import jobs, plan_of, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.reports import read_report, valid


class Watching:
    """Fusion, checking at each request that the report on disk already says what it must:
    a start's intent before the start, the run's id before the next request."""

    def __init__(self, model: EmulatedFusion, written: list[dict[str, Any]]) -> None:
        self.inner = ModelFusion(model)
        self.written = written
        self.answered: tuple[str, str | None] | None = None
        self.starts = 0

    def _last_attempt(self, job: str) -> dict[str, Any]:
        entry = next(s for s in self.written[-1]["steps"] if s["job"] == job)
        attempt: dict[str, Any] = entry["attempts"][-1]
        return attempt

    def _before(self) -> None:
        if self.answered is not None:
            job, run_id = self.answered
            assert self._last_attempt(job)["run_id"] == run_id, "the run id is not on disk"
            self.answered = None

    def start(self, job: str) -> RunStatus:
        self._before()
        intent = self._last_attempt(job)
        assert intent["outcome"] is None, intent
        assert intent["run_id"] is None, intent
        assert intent["requested_at"], intent
        assert intent["listed_before"] is not None, intent
        status = self.inner.start(job)
        self.starts += 1
        if status.run_id:
            self.answered = (job, status.run_id)
        return status

    def status(self, job: str) -> RunStatus:
        self._before()
        return self.inner.status(job)

    def runs(self, job: str) -> list[RunStatus]:
        self._before()
        return self.inner.runs(job)

    def cancel(self, job: str) -> None:
        self._before()
        self.inner.cancel(job)

    def configuration(self, job: str) -> dict[str, Any] | None:
        self._before()
        return self.inner.configuration(job)

    def driver_log(self, job: str, run_id: str | None, rows: int) -> DriverLog:
        self._before()
        return self.inner.driver_log(job, run_id, rows)

    def call(self, call: Call) -> CallAnswer:
        self._before()
        return self.inner.call(call)

    def schedule(self, job: str) -> Schedule | None:
        self._before()
        return self.inner.schedule(job)


def test_each_start_is_on_disk_before_its_request_and_its_run_id_before_the_next() -> None:
    scenario = jobs(
        a=runs(RunScript(duration=3)),
        b=runs(RunScript(duration=2, state="error"), RunScript(duration=2)),
        c=runs(RunScript(duration=5)),
        **{"datasource:d": runs(RunScript(duration=4))},
    )
    steps = [
        step("a"),
        step("b", "a", retries=1, retry_delay=1),
        step("c", "a"),
        step("d", "c", job="datasource:d", states=("success",)),
    ]
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=[s.job for s in steps])
    written: list[dict[str, Any]] = []
    fusion = Watching(model, written)
    Engine(
        plan_of(steps),
        fusion,
        clock,
        url="http://emulated",
        rng=random.Random(1),
        reporter=Journal(lambda report: written.append(valid(report))),
    ).execute()
    assert written[-1]["outcome"] == "succeeded"
    assert fusion.starts == 5  # a, b twice, c, d: each checked


# --- a resume that stops early keeps what it resumed from -----------------------------------------

SCENARIO = Scenario(
    jobs={
        "a": JobScript(runs=(RunScript(duration=10),)),
        "b": JobScript(runs=(RunScript(duration=120),)),
        "c": JobScript(runs=(RunScript(duration=5, state="error"), RunScript(duration=5))),
    }
)
STEPS = [step("a"), step("b", "a"), step("c", "a")]


def detached_report(tmp_path: Path) -> tuple[EmulatedFusion, FakeClock, str]:
    """A plan detached at 30 s: a succeeded, b's run left going, c failed."""
    clock = FakeClock()
    model = EmulatedFusion(SCENARIO, clock=clock, epoch=EPOCH)
    path = str(tmp_path / "report.json")
    Engine(
        plan_of(STEPS),
        ModelFusion(model),
        clock,
        url="http://emulated",
        reporter=Journal(lambda report: write_atomically(path, report)),
        detach=True,
        interrupts=lambda: int(clock.now >= 30),
    ).execute()
    return model, clock, path


def test_a_resume_that_stops_before_it_starts_keeps_every_step_as_it_was(tmp_path: Path) -> None:
    for cause in (
        JobsMissing(count=1),
        CredentialsRefused(error="GET .../a: 401 Unauthorized"),
        InterruptedBeforeStart(),
    ):
        model, clock, path = detached_report(tmp_path)
        before = read_report(path)
        engine = Engine(
            plan_of(STEPS),
            ModelFusion(model),
            clock,
            url="http://emulated",
            reporter=Journal(report_file(path)),
            resume=load_resume(path, plan_of(STEPS), force=False),
        )
        engine.abort(cause)
        after = read_report(path)
        assert after["error"] == wording.text(cause)
        assert [s["outcome"] for s in after["steps"]] == ["succeeded", "running", "failed"]
        for earlier, now in zip(before["steps"], after["steps"], strict=True):
            assert (now["reason"], now["attempts"]) == (earlier["reason"], earlier["attempts"])
        assert after["steps"][1]["run_id"] == before["steps"][1]["run_id"] is not None


def test_a_resume_picks_up_the_run_its_failed_resume_left_named(tmp_path: Path) -> None:
    model, clock, path = detached_report(tmp_path)
    plan = plan_of(STEPS)
    Engine(
        plan, ModelFusion(model), clock, url="u", resume=load_resume(path, plan, force=False)
    ).abort(JobsMissing(count=1))  # the first resume stopped at once, and wrote nothing
    clock.advance(200)
    engine = Engine(
        plan,
        ModelFusion(model),
        clock,
        url="u",
        reporter=Journal(lambda report: write_atomically(path, report)),
        resume=load_resume(path, plan, force=False),
    )
    assert engine.execute() is PlanOutcome.SUCCEEDED
    assert {job: model.starts(job) for job in "abc"} == {"a": 1, "b": 1, "c": 2}


# --- cancels are confirmed ------------------------------------------------------------------------


def test_a_cancel_that_meets_a_503_is_sent_again_and_confirmed() -> None:
    scenario = jobs(
        a=runs(RunScript(duration=3600), faults=(Fault(on=FaultTarget.CANCEL, answer=503),))
    )
    result = run([step("a")], scenario, interrupts=lambda now: int(now >= 30))
    a = result.step("a")
    assert result.model.requests.count((FaultTarget.CANCEL, "a")) == 2
    assert (a["outcome"], a["attempts"][0]["state"]) == ("cancelled", "cancelled")
    assert result.clock.now < 40


def test_a_cancel_that_never_gets_through_leaves_the_run_named() -> None:
    faults = (Fault(on=FaultTarget.CANCEL, answer=503, times=10_000),)
    result = run(
        [step("a")],
        jobs(a=runs(RunScript(duration=3600), faults=faults)),
        interrupts=lambda now: int(now >= 30),
    )
    a = result.step("a")
    assert a["outcome"] == "running"
    assert a["reason"] == (
        "fusion-run was interrupted; Fusion did not confirm the cancel within 1m: "
        f"run {a['run_id']} may still be going"
    )
    assert result.report["summary"]["running"] == 1
    # the interrupt is seen at the next read (auto: at most 10 s apart); the grace bounds the rest
    assert 90 <= result.clock.now <= 30 + 10 + 60 + 2


# --- 500 is not the end ---------------------------------------------------------------------------


def test_a_500_on_a_status_read_is_ridden_out() -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=500, times=3, after=1),)
    result = run([step("a")], jobs(a=runs(RunScript(duration=20), faults=faults)))
    assert result.step("a")["outcome"] == "succeeded"
    assert result.model.starts("a") == 1


def test_500s_that_go_on_leave_the_run_named() -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=500, times=10_000, after=1),)
    result = run([step("a")], jobs(a=runs(RunScript(duration=600), faults=faults)))
    a = result.step("a")
    assert a["outcome"] == "running"
    assert a["reason"].startswith("Fusion answered with an error: GET http://emulated/api/spark/")
    assert a["reason"].endswith(f"500 on status; run {a['run_id']} may still be going")


def test_a_500_on_a_start_that_began_no_run_is_verified_then_sent_again() -> None:
    faults = (Fault(on=FaultTarget.START, answer=500),)
    result = run([step("a")], jobs(a=runs(RunScript(duration=5), faults=faults)))
    assert result.step("a")["outcome"] == "succeeded"
    assert result.model.starts("a") == 2  # the first reached Fusion, which refused it
    assert len(result.model.all_runs("a")) == 1
    [attempt] = result.step("a")["attempts"]  # one attempt: the start was sent again in it
    assert attempt["outcome"] == "succeeded"


# --- history across resumes -----------------------------------------------------------------------


def test_a_step_stopped_in_its_retry_delay_keeps_its_attempt_and_its_count(tmp_path: Path) -> None:
    scenario = Scenario(
        jobs={"j": JobScript(runs=(RunScript(duration=5, state="error", error="boom"),))}
    )
    steps = [step("j", retries=1, retry_delay=60)]
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    path = str(tmp_path / "r.json")
    plan = plan_of(steps)

    def fusion_run(**kwargs: Any) -> None:
        Engine(
            plan,
            ModelFusion(model),
            clock,
            url="u",
            reporter=Journal(lambda report: write_atomically(path, report)),
            **kwargs,
        ).execute()

    fusion_run(interrupts=lambda: int(clock.now >= 20))  # during the retry delay
    j = read_report(path)["steps"][0]
    assert j["outcome"] == "cancelled"
    assert j["reason"] == (
        f"run {j['run_id']} ended error: boom; not retried: fusion-run was interrupted"
    )
    assert [a["outcome"] for a in j["attempts"]] == ["failed"]
    fusion_run(resume=load_resume(path, plan, force=False))
    j = read_report(path)["steps"][0]
    assert [(a["number"], a["round"], a["outcome"]) for a in j["attempts"]] == [
        (1, 1, "failed"),
        (2, 1, "failed"),  # the retry it had left, and no more: retries: 1
    ]
    assert model.starts("j") == 2
    fusion_run(resume=load_resume(path, plan, force=False))  # a resume after it failed for good
    j = read_report(path)["steps"][0]
    assert [(a["number"], a["round"]) for a in j["attempts"]] == [(1, 1), (2, 1), (3, 2), (4, 2)]
