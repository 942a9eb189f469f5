"""The exit code and what CI reads agree: JUnit has a `failure` or an `error` exactly when
fusion-run exits other than 0, on random plans and on every way a plan fails around its steps."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from runner.engine import Engine, JobsNotFound
from runner.errors import ExitCode
from runner.plan import AllowedFailures, Step
from runner.reasons import InterruptedBeforeStart, JobsMissing
from runner.report.junit import junit_xml
from tests.helpers.engine import jobs, plan_of, random_plan, revoke_after, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.outputs import checked

MODES = [
    "none", "none", "plan_timeout", "fail_fast", "interrupt", "interrupt_twice",
    "credentials", "lost_contact", "report_lost",
]  # fmt: skip


def failure_of(plan_case: ET.Element) -> str | None:
    failure = plan_case.find("failure")
    return None if failure is None else failure.get("message")


@pytest.mark.parametrize("seed", range(200))
def test_junit_agrees_with_the_exit_code_on_random_plans(seed: int) -> None:
    rng = random.Random(seed)
    steps, scenario = random_plan(rng, size=10)
    mode = rng.choice(MODES)
    settings: dict[str, Any] = {"max_parallel": rng.randint(1, 4)}
    if mode == "plan_timeout":
        settings["timeout"] = rng.randint(5, 120)
    elif mode == "fail_fast":
        settings["fail_fast"] = True
    elif mode in ("interrupt", "interrupt_twice"):
        at, times = rng.uniform(0, 90), 1 if mode == "interrupt" else 2
        settings["interrupts"] = lambda now: times if now >= at else 0
    elif mode == "credentials":
        settings["before"] = revoke_after(rng.uniform(0, 90))
    elif mode == "lost_contact":
        victim = rng.choice(steps).job
        forever = (Fault(on=FaultTarget.STATUS, answer=503, times=10_000, after=1),)
        scripts = dict(scenario.jobs)
        scripts[victim] = JobScript(runs=(RunScript(duration=3600),), faults=forever)
        scenario = Scenario(jobs=scripts)
    result = run(steps, scenario, **settings).engine.result
    if mode == "report_lost":
        result.unrecorded = "No space left on device"
    code, plan_case = checked(result)
    message = failure_of(plan_case)
    assert (message is None) == (code == 0)
    if message is not None:
        assert message.startswith(f"exit {int(code)}: ")
    if result.outcome.value == "interrupted":
        assert code == ExitCode.INTERRUPTED
    if mode == "report_lost":
        assert code == ExitCode.FUSION
        assert message is not None
        assert message.startswith("exit 3: the report could not be written (No space left")
    if result.error is not None:
        assert code in (ExitCode.FUSION, ExitCode.INTERRUPTED)


# --- each way a plan fails around its steps, in words ---------------------------------------------


def test_a_failed_allowed_step_is_skipped_and_the_plan_passes() -> None:
    scenario = jobs(a=runs(RunScript(duration=5, state="error", error="\x1b[31mOOM\x1b[0m")))
    result = run([step("a", allow_failure=True), step("b", "a", run_if="all_done")], scenario)
    code, plan_case = checked(result.engine.result)
    assert (code, failure_of(plan_case)) == (ExitCode.SUCCEEDED, None)
    skipped = ET.fromstring(junit_xml(result.engine.result)).find(".//testcase[@name='a']/skipped")
    assert skipped is not None
    assert skipped.get("message") == (
        f"allowed to fail; failed: run {result.step('a')['run_id']} ended error: OOM"
    )


def strict(step: Step) -> Step:
    """`step` with `allowed_failures: fail`: an allowed failure upstream counts as failed."""
    return replace(step, allowed_failures=AllowedFailures.FAIL)


def test_an_allowed_failure_passes_downstream_and_the_plan_passes() -> None:
    """As GitLab's allow_failure and GitHub's continue-on-error: what follows runs, a failure
    handler does not, and a cleanup step runs."""
    scenario = jobs(a=runs(RunScript(duration=5, state="error", error="OOM")))
    steps = [
        step("a", allow_failure=True),
        step("w"),
        step("b", "a", "w"),
        step("c", "b"),
        step("d", "a", run_if="at_least_one_failed"),
        step("e", "c", run_if="all_done"),
    ]
    result = run(steps, scenario)
    code, plan_case = checked(result.engine.result)
    assert (code, failure_of(plan_case)) == (ExitCode.SUCCEEDED, None)
    assert result.outcomes() == {
        "a": "failed",
        "w": "succeeded",
        "b": "succeeded",
        "c": "succeeded",
        "d": "skipped",
        "e": "succeeded",
    }
    assert result.step("d")["reason"] == "no upstream failed (run_if: at_least_one_failed)"


def test_a_required_step_skipped_for_an_allowed_failure_fails_the_plan() -> None:
    """With allowed_failures: fail, it did not run, and nothing else fails the plan: exit 0
    would pass a pipeline whose required step never ran."""
    scenario = jobs(a=runs(RunScript(duration=5, state="error", error="OOM")))
    steps = [
        step("a", allow_failure=True),
        strict(step("b", "a")),
        step("c", "b"),
        strict(step("d", "a", run_if="at_least_one_failed")),
    ]
    result = run(steps, scenario)
    code, plan_case = checked(result.engine.result)
    assert (code, failure_of(plan_case)) == (
        ExitCode.PLAN_FAILED,
        "exit 1: step 'b' was skipped",  # not c: b's skip skipped it, and the verdict names b
    )
    assert [s["outcome"] for s in result.report["steps"]] == [
        "failed",
        "skipped",
        "skipped",
        "succeeded",
    ]


def test_fail_fast_stops_the_plan_at_a_required_step_skipped_for_an_allowed_failure() -> None:
    scenario = jobs(a=runs(RunScript(duration=5, state="error")), slow=runs(RunScript(duration=60)))
    steps = [step("a", allow_failure=True), strict(step("b", "a")), step("slow")]
    result = run(steps, scenario, fail_fast=True)
    code, plan_case = checked(result.engine.result)
    assert (code, failure_of(plan_case)) == (
        ExitCode.PLAN_FAILED,
        "exit 1: step 'b' was skipped and fail_fast is on; "
        "step 'b' was skipped, step 'slow' was cancelled",
    )


def test_a_step_skipped_for_a_required_failure_is_not_named_again() -> None:
    scenario = jobs(a=runs(RunScript(duration=5, state="error", error="OOM")))
    steps = [
        step("a"),
        step("b", "a"),
        step("c", "b"),
        step("d", "a", run_if="at_least_one_failed"),
    ]
    code, plan_case = checked(run(steps, scenario).engine.result)
    assert (code, failure_of(plan_case)) == (ExitCode.PLAN_FAILED, "exit 1: step 'a' failed")


def test_a_step_excluded_by_its_run_if_fails_nothing() -> None:
    steps = [
        step("a"),
        step("cleanup", "a", run_if="at_least_one_failed"),
        step("after", "cleanup"),
    ]
    result = run(steps, jobs())
    code, plan_case = checked(result.engine.result)
    assert (code, failure_of(plan_case)) == (ExitCode.SUCCEEDED, None)
    assert [s["reason"] for s in result.report["steps"]] == [
        None,
        "no upstream failed (run_if: at_least_one_failed)",
        "every upstream was excluded",
    ]


def test_jobs_missing() -> None:
    clock = FakeClock()
    model = EmulatedFusion(
        Scenario(missing=frozenset({"b"})), clock=clock, epoch=EPOCH, extra_jobs=["a"]
    )
    engine = Engine(plan_of([step("a"), step("b", "a")]), ModelFusion(model), clock, url="u")
    with pytest.raises(JobsNotFound) as missing:
        engine.preflight()
    engine.abort(JobsMissing(count=len(missing.value.steps)))  # as `runner.commands.run` does
    code, plan_case = checked(engine.result)
    assert code == ExitCode.INVALID
    assert failure_of(plan_case) == (
        "exit 2: 1 job(s) have no configuration in Fusion; steps 'a', 'b' did not run"
    )


def test_plan_timeout_while_no_run_of_ours_is_going() -> None:
    """The only step waits for someone else's run when the plan's timeout passes: it is
    skipped, no step has a failure, and the plan's own testcase says why fusion-run exits 1."""

    def someone_started_it(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("a")

    scenario = jobs(a=runs(RunScript(duration=600)))
    result = run([step("a")], scenario, before=someone_started_it, timeout=60)
    code, plan_case = checked(result.engine.result)
    assert result.outcomes() == {"a": "skipped"}
    assert code == ExitCode.PLAN_FAILED
    assert failure_of(plan_case) == (
        "exit 1: the plan's timeout of 1m passed; step 'a' was skipped"
    )


def test_plan_timeout_with_a_run_cancelled() -> None:
    scenario = jobs(a=runs(RunScript(duration=3600)), b=runs(RunScript(duration=10)))
    result = run([step("a"), step("b", "a")], scenario, timeout=300)
    code, plan_case = checked(result.engine.result)
    assert code == ExitCode.PLAN_FAILED
    assert failure_of(plan_case) == (
        "exit 1: the plan's timeout of 5m passed; step 'a' timed out, step 'b' was skipped"
    )


def test_a_run_left_going_fails_the_plan_even_when_its_step_may_fail() -> None:
    forever = (Fault(on=FaultTarget.STATUS, answer=503, times=10_000, after=1),)
    scenario = jobs(a=runs(RunScript(duration=3600), faults=forever))
    result = run([step("a", allow_failure=True)], scenario)
    code, plan_case = checked(result.engine.result)
    assert result.outcomes() == {"a": "running"}
    assert code == ExitCode.PLAN_FAILED
    assert failure_of(plan_case) == "exit 1: step 'a' may still be running in Fusion"


def test_credentials_refused() -> None:
    scenario = jobs(a=runs(RunScript(duration=600)), b=runs(RunScript(duration=10)))
    result = run([step("a"), step("b", "a")], scenario, before=revoke_after(30))
    code, plan_case = checked(result.engine.result)
    assert code == ExitCode.FUSION
    assert failure_of(plan_case) == (
        "exit 3: Fusion refused the credentials: GET http://emulated/api/spark/jobs/a: "
        "401 Unauthorized: unauthorized; this Fusion asks for credentials: set fusion.auth (it "
        "is none) and FUSION_USER and FUSION_PASSWORD, FUSION_API_KEY or FUSION_TOKEN; "
        "step 'a' may still be running in Fusion, "
        "step 'b' did not run"
    )


def test_interrupted() -> None:
    scenario = jobs(a=runs(RunScript(duration=3600)), b=runs(RunScript(duration=10)))
    result = run(
        [step("a"), step("b", "a")], scenario, interrupts=lambda now: 1 if now >= 30 else 0
    )
    code, plan_case = checked(result.engine.result)
    assert code == ExitCode.INTERRUPTED
    assert failure_of(plan_case) == (
        "exit 130: fusion-run was interrupted; step 'a' was cancelled, step 'b' did not run"
    )


def test_interrupted_before_anything_started() -> None:
    clock = FakeClock()
    model = EmulatedFusion(clock=clock, epoch=EPOCH, extra_jobs=["a"])
    engine = Engine(plan_of([step("a", allow_failure=True)]), ModelFusion(model), clock, url="u")
    engine.abort(InterruptedBeforeStart())  # as `runner.commands.run` does
    code, plan_case = checked(engine.result)
    assert code == ExitCode.INTERRUPTED
    assert failure_of(plan_case) == "exit 130: interrupted before anything started"


def test_the_report_could_not_be_written() -> None:
    result = run([step("a")], jobs(a=runs(RunScript(duration=5)))).engine.result
    result.unrecorded = "No space left on device"
    code, plan_case = checked(result)
    assert code == ExitCode.FUSION
    assert (
        failure_of(plan_case) == "exit 3: the report could not be written (No space left on device)"
    )


def test_many_failed_steps_are_counted_after_three() -> None:
    scenario = jobs(**{n: runs(RunScript(duration=1, state="error")) for n in "abcde"})
    result = run(
        [step(n, *(() if n == "a" else ("a",)), run_if="all_done") for n in "abcde"], scenario
    )
    _, plan_case = checked(result.engine.result)
    assert failure_of(plan_case) == ("exit 1: steps 'a', 'b', 'c' failed (and 2 more)")
