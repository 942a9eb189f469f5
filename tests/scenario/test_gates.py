"""`require:` steps against the emulator: they read a job's runs, judge their freshness, gate
their downstream, and never start or cancel anything."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner import wording
from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobScript,
    PastRun,
    RunScript,
    Scenario,
    Variant,
)
from runner.engine import Engine
from runner.events import Checked, ContactLost, EndInFuture, Started, StartRequested
from runner.fusion.routes import key as key_of
from runner.plan import AllowedFailures, Gate, Step
from runner.report.journal import Journal, write_atomically
from tests.helpers.engine import Result, plan_of, run
from tests.helpers.fakes import EPOCH, FakeClock, step

H = 3600.0
EPOCH_ISO = "2026-01-01T00:00:00.000Z"


def gate(
    name: str, *depends_on: str, job: str = "signals", within: float = 26 * H, **kw: Any
) -> Step:
    states = kw.pop("states", None)
    built = step(name, *depends_on, job=job, **kw)
    if states is None:
        states = (
            ("success",) if ":" in job and not job.startswith("spark:") else built.success.states
        )
    return replace(
        built,
        gate=Gate(succeeded_within=int(within)),
        success=replace(built.success, states=states),
    )


def history(*runs: tuple[str, float], job: str = "signals", **script: Any) -> Scenario:
    """`job` with past runs, each (state, hours ago it ended), and `extra` jobs the plan runs."""
    past = tuple(
        PastRun(ended_ago=ago * H, run=RunScript(state=state, duration=600)) for state, ago in runs
    )
    return Scenario(jobs={job: JobScript(history=past, **script)})


def touched(result: Result | EmulatedFusion, job: str = "signals") -> set[FaultTarget]:
    """What was asked of Fusion about `job`, by kind of request."""
    model = result.model if isinstance(result, Result) else result
    return {kind for kind, asked in model.requests if asked == key_of(job)}


def never_started(result: Result) -> None:
    starts = [
        kind for kind, _ in result.model.requests if kind in (FaultTarget.START, FaultTarget.CANCEL)
    ]
    assert starts == []
    assert not result.of(Started)
    assert not result.of(StartRequested)


def test_a_run_that_succeeded_within_the_window_passes_and_nothing_starts() -> None:
    result = run([gate("fresh")], history(("finished", 3), ("error", 1)))
    assert result.outcomes() == {"fresh": "succeeded"}
    assert result.outcome == "succeeded"
    never_started(result)
    assert touched(result) == {FaultTarget.CONFIGURATION, FaultTarget.ALL}
    record = result.step("fresh")
    assert record["attempts"] == []
    assert record["run_id"] is None
    [past_success] = [r for r in result.model.runs_of("signals") if r.script.state == "finished"]
    assert record["gate"] == {
        "succeeded_within": 93600,
        "checked_at": EPOCH_ISO,
        "run_id": past_success.run_id,
        "state": "finished",
        "ended_at": "2025-12-31T21:00:00.000Z",
        "listed": 2,
    }
    assert result.lines(Checked) == [
        f"fresh: checked job signals, started nothing: run {past_success.run_id} ended finished "
        "3h ago, within 1d2h"
    ]


def test_a_success_older_than_the_window_fails_naming_it_and_its_downstream_is_skipped() -> None:
    scenario = history(("finished", 27), ("error", 1))
    result = run([gate("fresh"), step("publish", "fresh")], scenario)
    assert result.outcomes() == {"fresh": "failed", "publish": "skipped"}
    assert result.model.starts("publish") == 0
    never_started(result)
    [old] = [r for r in result.model.runs_of("signals") if r.script.state == "finished"]
    assert result.step("fresh")["reason"] == (
        "no run of job signals ended finished or skipped in the last 1d2h: the newest that did, "
        f"run {old.run_id} (finished), ended 2025-12-30T21:00:00.000Z, 1d3h ago"
    )
    assert result.step("fresh")["reason_fact"] == {
        "kind": "gate_failed",
        "job": "signals",
        "states": ["finished", "skipped"],
        "within": 93600,
        "run_id": old.run_id,
        "state": "finished",
        "ended": "2025-12-30T21:00:00.000Z",
        "ago": 97200.0,
        "cut": False,
        "future": 0,
    }
    assert result.lines(Checked) == ["fresh: checked job signals, started nothing"]


def test_only_failed_runs_fail_the_gate_as_none_listed() -> None:
    result = run([gate("fresh")], history(("error", 2), ("cancelled", 1)))
    assert result.step("fresh")["reason"] == (
        "no run of job signals ended finished or skipped in the last 1d2h: "
        "Fusion lists none that did"
    )
    assert result.step("fresh")["gate"]["run_id"] is None


def test_a_job_fusion_has_no_history_for_lists_no_runs() -> None:
    result = run([gate("fresh")], history(faults=(Fault(on=FaultTarget.ALL, answer=404),)))
    assert result.outcomes() == {"fresh": "failed"}
    assert result.step("fresh")["reason"].endswith(": Fusion lists none that did")
    assert result.step("fresh")["gate"]["listed"] == 0


def test_states_are_the_job_kinds_own_and_the_steps() -> None:
    ok = run(
        [gate("fresh", job="datasource:crawl")], history(("success", 5), job="datasource:crawl")
    )
    assert ok.outcomes() == {"fresh": "succeeded"}
    assert ok.step("fresh")["gate"]["state"] == "success"  # in the Jobs API's words
    failed = run(
        [gate("fresh", job="datasource:crawl")], history(("failed", 5), job="datasource:crawl")
    )
    assert failed.step("fresh")["reason"] == (
        "no run of job datasource:crawl ended success in the last 1d2h: Fusion lists none that did"
    )
    accepting = run(
        [gate("fresh", job="datasource:crawl", states=("success", "failed"))],
        history(("failed", 5), job="datasource:crawl"),
    )
    assert accepting.outcomes() == {"fresh": "succeeded"}
    never_started(accepting)


def test_a_history_cut_at_100_runs_says_so() -> None:
    runs = [("failed", 1 + i / 100) for i in range(120)]
    result = run([gate("fresh", job="task:t")], history(*runs, job="task:t"))
    assert result.step("fresh")["gate"]["listed"] == 100
    assert result.step("fresh")["reason"] == (
        "no run of job task:t ended success in the last 1d2h: Fusion lists none that did among "
        "the newest runs it lists (it lists 100 at most)"
    )


def test_an_end_in_the_future_by_fusions_clock_is_not_trusted_and_said() -> None:
    # Fusion's clock is 3 h ahead: a run that ended 1 h ago shows as ending 2 h from now
    scenario = replace(history(("finished", 1)), variant=Variant(clock_offset=3 * H))
    result = run([gate("fresh")], scenario)
    [run_id] = [r.run_id for r in result.model.runs_of("signals")]
    assert result.outcomes() == {"fresh": "failed"}
    assert result.lines(EndInFuture) == [
        f"fresh: run {run_id} of job signals ended 2h in the future by Fusion's clock: its time is "
        "not trusted and the run does not count; check the clocks of Fusion and of this machine"
    ]
    assert result.report["warnings"] == [
        {"step": "fresh", "text": wording.line(result.of(EndInFuture)[0])}
    ]
    assert result.step("fresh")["reason"] == (
        "no run of job signals ended finished or skipped in the last 1d2h: Fusion lists none that "
        "did; 1 run(s) that ended in the future by Fusion's clock, more than 1m ahead of this "
        "machine's, were not trusted"
    )
    # a minute ahead is a clock's ordinary drift: trusted
    drift = replace(history(("finished", 0.01)), variant=Variant(clock_offset=96))
    assert run([gate("fresh")], drift).outcomes() == {"fresh": "succeeded"}


def test_a_fault_is_ridden_out_as_for_any_read() -> None:
    faults = (Fault(on=FaultTarget.ALL, answer=503, times=2),)
    result = run([gate("fresh")], history(("finished", 3), faults=faults))
    assert result.outcomes() == {"fresh": "succeeded"}
    assert len(result.of(ContactLost, step="fresh")) == 1
    never_started(result)


def test_fusion_out_of_reach_past_the_budget_fails_the_gate_starting_nothing() -> None:
    faults = (Fault(on=FaultTarget.ALL, answer=503, times=10_000),)
    result = run([gate("fresh")], history(("finished", 3), faults=faults))
    assert result.outcomes() == {"fresh": "failed"}
    assert result.step("fresh")["reason"].startswith("lost contact with Fusion for 5m")
    never_started(result)


def test_an_interrupt_or_the_plans_timeout_ends_a_gate_starting_and_cancelling_nothing() -> None:
    faults = (Fault(on=FaultTarget.ALL, answer=503, times=10_000),)
    scenario = history(("finished", 3), faults=faults)
    steps = [gate("fresh"), step("publish", "fresh")]
    interrupted = run(steps, scenario, interrupts=lambda now: int(now >= 20))
    assert interrupted.outcomes() == {"fresh": "not_run", "publish": "not_run"}
    assert interrupted.step("fresh")["reason"] == "not started: fusion-run was interrupted"
    never_started(interrupted)
    timed_out = run(steps, scenario, timeout=30)
    assert timed_out.outcomes() == {"fresh": "skipped", "publish": "skipped"}
    assert timed_out.step("fresh")["reason"] == ("not started: the plan's timeout of 30s passed")
    never_started(timed_out)


def test_a_gate_with_a_run_still_going_counts_only_the_ended() -> None:
    def going(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("signals")  # a run of Fusion's own schedule, going as the plan runs

    result = run([gate("fresh")], history(("finished", 30)), before=going)
    assert result.outcomes() == {"fresh": "failed"}
    assert "(finished), ended 2025-12-30T18:00:00.000Z, 1d6h ago" in result.step("fresh")["reason"]
    assert result.step("fresh")["gate"]["listed"] == 2


def test_run_if_and_allow_failure_work_on_a_gate() -> None:
    steps = [
        gate("fresh", allow_failure=True),
        replace(
            step("fallback", "fresh", run_if="all_failed"), allowed_failures=AllowedFailures.FAIL
        ),
        step("publish", "fresh", run_if="all_done"),
    ]
    result = run(steps, history(("error", 1)))
    assert result.outcomes() == {"fresh": "failed", "fallback": "succeeded", "publish": "succeeded"}
    assert result.outcome == "succeeded"
    assert touched(result) == {FaultTarget.CONFIGURATION, FaultTarget.ALL}


class Session:
    """Two fusion-run invocations against one emulated Fusion, the second resuming the first."""

    def __init__(self, tmp_path: Path, scenario: Scenario) -> None:
        self.clock = FakeClock()
        self.model = EmulatedFusion(scenario, clock=self.clock, epoch=EPOCH, extra_jobs=["publish"])
        self.path = str(tmp_path / "report.json")
        self.steps = [gate("fresh"), step("publish", "fresh")]

    def run(self, *, resume: bool = False) -> Engine:
        plan = plan_of(self.steps)
        engine = Engine(
            plan,
            ModelFusion(self.model),
            self.clock,
            url="http://emulated",
            rng=random.Random(3),
            reporter=Journal(lambda report: write_atomically(self.path, report)),
            resume=load_resume(self.path, plan, force=False) if resume else None,
        )
        engine.preflight()
        engine.execute()
        return engine

    def reads(self) -> int:
        return sum(1 for request in self.model.requests if request == (FaultTarget.ALL, "signals"))


def test_resume_keeps_a_gate_that_passed_and_reads_a_failed_one_again(tmp_path: Path) -> None:
    session = Session(tmp_path, history(("finished", 25)))
    first = session.run()
    assert first.result.step("fresh").outcome == "succeeded"
    found = first.result.step("fresh").gate
    session.clock.advance(2 * H)  # stale now: but a resume keeps what passed
    second = session.run(resume=True)
    assert (second.result.step("fresh").outcome, session.reads()) == ("succeeded", 1)
    assert second.result.step("fresh").gate == found
    assert second.result.outcome == "succeeded"

    stale = Session(tmp_path, history(("finished", 27)))
    assert stale.run().result.outcome == "failed"
    stale.model.start("signals")  # Fusion's own schedule runs the job meanwhile
    stale.clock.advance(H)
    again = stale.run(resume=True)
    assert (again.result.step("fresh").outcome, stale.reads()) == ("succeeded", 2)
    assert [s.outcome for s in again.result.steps] == ["succeeded", "succeeded"]
    assert stale.model.starts("signals") == 1  # the one Fusion's schedule made, not ours
