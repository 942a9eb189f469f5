from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest

from runner import wording
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion, Reply
from runner.emulator.scenario import Fault, FaultTarget, RunScript, Scenario
from runner.engine import Engine, JobsNotFound, Unreachable
from runner.engine.context import CANCEL_GRACE, EXPECTED_SLACK
from runner.events import (
    ContactLost,
    RetriesUnused,
    Retrying,
    RunIdentified,
    StartAnswerLost,
    Started,
    StepEnded,
    WaitingForOther,
)
from runner.fusion import ErrorKind, FusionError
from runner.outcomes import Outcome, PlanOutcome
from runner.report.console import Console
from tests.helpers.engine import Recorder, Result, jobs, plan_of, random_plan, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step

# --- the basic shapes -----------------------------------------------------------------------------


def test_a_sequence_succeeds_close_to_its_critical_path() -> None:
    scenario = jobs(
        a=runs(RunScript(duration=5)),
        b=runs(RunScript(duration=30)),
        c=runs(RunScript(duration=120)),
    )
    result = run([step("a"), step("b", "a"), step("c", "b")], scenario)
    assert result.outcome is PlanOutcome.SUCCEEDED
    assert result.outcomes() == dict.fromkeys("abc", "succeeded")
    assert [e.step for e in result.of(Started)] == ["a", "b", "c"]
    critical_path = 5 + 30 + 120
    assert critical_path <= result.clock.now <= critical_path * 1.1 + 3
    assert result.report["summary"]["succeeded"] == 3
    assert result.report["outcome"] == "succeeded"
    assert result.reports[0]["outcome"] == "running"
    assert {s["outcome"] for s in result.reports[0]["steps"]} == {"pending"}


def test_independent_steps_run_side_by_side() -> None:
    scenario = jobs(**{name: runs(RunScript(duration=60)) for name in "abcd"})
    result = run([step(name, *()) for name in "abcd"], scenario)
    assert result.outcome is PlanOutcome.SUCCEEDED
    assert result.clock.now < 60 * 1.2 + 2


def test_max_parallel_is_respected() -> None:
    scenario = jobs(**{name: runs(RunScript(duration=10)) for name in "abcde"})
    result = run([step(name) for name in "abcde"], scenario, max_parallel=2)
    active, most = 0, 0
    for event in result.events:
        if isinstance(event, Started):
            active += 1
        elif isinstance(event, StepEnded):
            active -= 1
        most = max(most, active)
    assert most == 2
    assert result.outcome is PlanOutcome.SUCCEEDED


# --- failures, skips, retries ---------------------------------------------------------------------


def test_a_failure_skips_its_dependents_with_reasons() -> None:
    error = "Py4JJavaError: OutOfMemoryError"
    scenario = jobs(train=runs(RunScript(duration=20, state="error", error=error)))
    steps = [
        step("train"),
        step("evaluate", "train"),
        step("publish", "evaluate"),
        step("cleanup", "train", "evaluate", run_if="all_done"),
    ]
    result = run(steps, scenario)
    assert result.outcome is PlanOutcome.FAILED
    assert result.outcomes() == {
        "train": "failed", "evaluate": "skipped", "publish": "skipped", "cleanup": "succeeded",
    }  # fmt: skip
    train = result.step("train")
    assert train["reason"] == f"run {train['run_id']} ended error: {error}"
    assert train["attempts"][0]["error"] == error
    assert result.step("evaluate")["reason"] == "upstream 'train' failed"
    assert result.step("publish")["reason"] == "upstream 'evaluate' was skipped"
    assert result.lines(StepEnded, outcome=Outcome.SKIPPED) == [
        "evaluate: skipped: upstream 'train' failed",
        "publish: skipped: upstream 'evaluate' was skipped",
    ]


def test_allowed_failure_does_not_fail_the_plan() -> None:
    scenario = jobs(flaky=runs(RunScript(duration=1, state="error")))
    result = run(
        [step("flaky", allow_failure=True), step("next", "flaky", run_if="all_done")], scenario
    )
    assert result.outcomes() == {"flaky": "failed", "next": "succeeded"}
    assert result.outcome is PlanOutcome.SUCCEEDED


def test_a_retry_that_succeeds() -> None:
    scenario = jobs(
        train=runs(RunScript(duration=10, state="error", error="boom"), RunScript(duration=10))
    )
    result = run([step("train", retries=2, retry_delay=60)], scenario)
    assert result.outcome is PlanOutcome.SUCCEEDED
    attempts = result.step("train")["attempts"]
    assert [a["state"] for a in attempts] == ["error", "finished"]
    assert attempts[0]["run_id"] != attempts[1]["run_id"]
    assert result.model.starts("train") == 2
    assert result.lines(Retrying) == [
        f"train: attempt 1 failed (run {attempts[0]['run_id']} ended error: boom); retrying in 58s"
    ]  # 60s less the jitter drawn from the seeded random source


def test_retry_delay_backs_off_with_jitter() -> None:
    scenario = jobs(j=runs(RunScript(duration=1, state="error")))
    result = run([step("j", retries=3, retry_delay=10, retry_backoff=3)], scenario)
    starts = [e.at for e in result.of(Started)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    for gap, delay in zip(gaps, (10, 30, 90), strict=True):
        assert delay * 0.9 <= gap <= delay * 1.1 + 4  # the run, a read or two, the delay ±10 %
    assert result.step("j")["outcome"] == "failed"
    assert len(result.step("j")["attempts"]) == 4


def test_criteria_failures_are_not_retried_unless_asked() -> None:
    scenario = jobs(j=runs(RunScript(duration=1, result={"docsWritten": 0})))
    once = run([step("j", retries=2, expect=("result.docsWritten > `0`",))], scenario)
    assert len(once.step("j")["attempts"]) == 1
    asked = run(
        [
            step(
                "j",
                retries=2,
                retry_on=("criteria",),
                retry_delay=1,
                expect=("result.docsWritten > `0`",),
            )
        ],
        scenario,
    )
    assert len(asked.step("j")["attempts"]) == 3


def test_expect_failure_shows_the_actual_value() -> None:
    scenario = jobs(evaluate=runs(RunScript(duration=3, result={"docsWritten": 0})))
    result = run(
        [step("evaluate", expect=("result.docsWritten > `0`", "result.jobConfigId"))], scenario
    )
    evaluate = result.step("evaluate")
    assert evaluate["outcome"] == "failed"
    assert evaluate["reason"] == "expect result.docsWritten > `0` is false (result.docsWritten: 0)"
    assert evaluate["attempts"][0]["criteria"] == [
        {
            "name": "state",
            "expected": ["finished", "skipped"],
            "actual": "finished",
            "passed": True,
            "level": "fail",
            "run": None,
            "message": None,
            "operands": [],
            "error": None,
            "counted": None,
            "remainder_of": None,
            "no_previous": False,
            "hint": None,
            "reason": None,
        },
        {
            "name": "expect",
            "expected": "result.docsWritten > `0`",
            "actual": False,
            "passed": False,
            "level": "fail",
            "run": None,
            "message": None,
            "operands": [["result.docsWritten", 0]],
            "error": None,
            "counted": None,
            "remainder_of": None,
            "no_previous": False,
            "hint": None,
            "reason": "expect result.docsWritten > `0` is false (result.docsWritten: 0)",
        },
        {
            "name": "expect",
            "expected": "result.jobConfigId",
            "actual": "evaluate",
            "passed": True,
            "level": "fail",
            "run": None,
            "message": None,
            "operands": [],
            "error": None,
            "counted": None,
            "remainder_of": None,
            "no_previous": False,
            "hint": None,
            "reason": None,
        },
        {  # and it did no work: a warning of its own
            "name": "work",
            "expected": 1,
            "actual": 0,
            "passed": False,
            "level": "warn",
            "run": evaluate["run_id"],
            "message": None,
            "operands": [],
            "error": None,
            "counted": "docsWritten",
            "remainder_of": None,
            "no_previous": False,
            "hint": None,
            "reason": f"run {evaluate['run_id']} wrote 0 documents (docsWritten): it did no work",
        },
    ]


def test_max_duration() -> None:
    scenario = jobs(slow=runs(RunScript(duration=90)))
    result = run([step("slow", max_duration=60)], scenario)
    assert result.step("slow")["reason"] == "the run took 1m30s, more than max_duration 1m"


def test_state_not_accepted() -> None:
    scenario = jobs(agg=runs(RunScript(duration=2, state="skipped")))
    result = run([step("agg", states=("finished",))], scenario)
    agg = result.step("agg")
    assert agg["reason"] == f"run {agg['run_id']} ended skipped (accepted: finished)"


# --- time -----------------------------------------------------------------------------------------


def test_a_timeout_cancels_the_run() -> None:
    scenario = jobs(stuck=runs(RunScript(duration=7200)))
    result = run([step("stuck", timeout=60), step("after", "stuck")], scenario)
    stuck = result.step("stuck")
    assert stuck["outcome"] == "timed_out"
    assert stuck["reason"] == f"the step's timeout of 1m passed; run {stuck['run_id']} cancelled"
    assert stuck["attempts"][0]["state"] == "cancelled"
    assert ("cancel", "stuck") in result.model.requests
    assert result.outcomes()["after"] == "skipped"
    assert result.outcome is PlanOutcome.FAILED
    assert 60 <= result.clock.now <= 60 + 15


def test_timeout_retried_when_asked() -> None:
    scenario = jobs(j=runs(RunScript(duration=7200), RunScript(duration=5)))
    result = run([step("j", timeout=60, retries=1, retry_on=("timeout",), retry_delay=1)], scenario)
    assert result.step("j")["outcome"] == "succeeded"
    assert [a["state"] for a in result.step("j")["attempts"]] == ["cancelled", "finished"]


UNUSED = (
    "2 retries left unused: retry_on [state] does not retry a run cancelled by the step's "
    "timeout; add timeout to retry_on to retry it"
)


def test_retries_that_retry_on_leaves_unused_are_a_warning() -> None:
    """retries: 2, retry_on: [state], and the run timed out: said on the console and kept
    among the report's warnings, once; the step fails at its first attempt."""
    scenario = jobs(j=runs(RunScript(duration=7200)))
    text = io.StringIO()
    console = Console(text, live=False)
    result = run(
        [step("j", timeout=60, retries=2, retry_on=("state",))], scenario, reporter=console
    )
    assert text.getvalue().splitlines()[-2:] == [
        f"   1:01 j: warning: {UNUSED}",
        "   1:01 j: timed out in 1m1s: the step's timeout of 1m passed; run 41pjso2krv cancelled",
    ]
    assert result.step("j")["outcome"] == "timed_out"
    assert len(result.step("j")["attempts"]) == 1
    assert result.lines(RetriesUnused) == [f"j: {UNUSED}"]
    assert result.report["warnings"] == [{"step": "j", "text": UNUSED}]


def test_retries_used_up_or_none_are_no_warning() -> None:
    scenario = jobs(
        a=runs(RunScript(duration=5, state="error"), RunScript(duration=5, state="error")),
        b=runs(RunScript(duration=7200)),
    )
    steps = [step("a", retries=1, retry_delay=1), step("b", timeout=60)]
    result = run(steps, scenario)
    assert result.outcomes() == {"a": "failed", "b": "timed_out"}
    assert result.of(RetriesUnused) == []


def test_criteria_left_unretried_name_the_criteria() -> None:
    scenario = jobs(j=runs(RunScript(duration=5)))
    steps = [step("j", retries=1, expect=("result.docsWritten > `0`",))]
    result = run(steps, scenario)
    assert result.lines(RetriesUnused) == [
        "j: 1 retry left unused: retry_on [state] does not retry a failed criterion "
        "(max_duration, expect, min_documents, a stall); add criteria to retry_on to retry it"
    ]


def test_cancellation_that_fusion_never_confirms_is_bounded() -> None:
    scenario = jobs(j=runs(RunScript(duration=7200), stale_reads=0))

    def deaf(model: EmulatedFusion, _: FakeClock) -> None:
        model.cancel = lambda job_id: None  # type: ignore[method-assign]

    result = run([step("j", timeout=60)], scenario, before=deaf)
    j = result.step("j")
    assert j["outcome"] == "running"  # left with its run, which --resume picks up
    assert j["reason"] == (
        "the step's timeout of 1m passed; Fusion did not confirm the cancel within 1m: "
        f"run {j['run_id']} may still be going"
    )
    assert j["attempts"][0]["outcome"] == "left_running"
    assert result.outcome is PlanOutcome.FAILED
    assert result.clock.now <= 60 + CANCEL_GRACE + 15


def test_plan_timeout_cancels_active_runs_and_skips_the_rest() -> None:
    scenario = jobs(a=runs(RunScript(duration=3600)), b=runs(RunScript(duration=10)))
    result = run([step("a"), step("b", "a")], scenario, timeout=300)
    assert result.outcomes() == {"a": "timed_out", "b": "skipped"}
    assert result.step("a")["reason"].startswith("the plan's timeout of 5m passed; run ")
    assert result.step("b")["reason"] == "not started: the plan's timeout of 5m passed"
    assert result.outcome is PlanOutcome.FAILED


def test_a_plan_timeout_does_not_hold_back_the_steps_an_ended_step_lets_start() -> None:
    """Nothing active between a step's end and its dependents' start: the engine must not
    sleep until the plan's timeout, the one thing left due."""
    scenario = jobs(a=runs(RunScript(duration=5)), b=runs(RunScript(duration=5)))
    result = run([step("a"), step("b", "a")], scenario, timeout=3600)
    assert result.outcomes() == {"a": "succeeded", "b": "succeeded"}
    assert result.clock.now < 20


def test_interrupt_cancels_active_runs() -> None:
    scenario = jobs(a=runs(RunScript(duration=3600)), b=runs(RunScript(duration=3600)))
    result = run(
        [step("a"), step("b", "a")], scenario, interrupts=lambda now: 1 if now >= 30 else 0
    )
    assert result.outcome is PlanOutcome.INTERRUPTED
    assert result.report["outcome"] == "interrupted"
    assert result.outcomes() == {"a": "cancelled", "b": "not_run"}
    assert result.step("a")["reason"].startswith("fusion-run was interrupted; run ")
    assert result.step("b")["reason"] == "not started: fusion-run was interrupted"
    assert result.model.requests.count((FaultTarget.CANCEL, "a")) == 1


def test_second_interrupt_stops_waiting() -> None:
    scenario = jobs(a=runs(RunScript(duration=3600)))

    def deaf(model: EmulatedFusion, _: FakeClock) -> None:
        model.cancel = lambda job_id: None  # type: ignore[method-assign]

    result = run(
        [step("a")],
        scenario,
        before=deaf,
        interrupts=lambda now: 1 if now < 40 and now >= 30 else (2 if now >= 40 else 0),
    )
    assert result.outcome is PlanOutcome.INTERRUPTED
    a = result.step("a")
    assert a["outcome"] == "running"  # not claimed cancelled: Fusion never said so
    assert a["reason"] == (
        "fusion-run was interrupted; interrupted again before Fusion confirmed the cancel: "
        f"run {a['run_id']} may still be going"
    )
    assert result.clock.now < 50


def test_fail_fast_cancels_the_others() -> None:
    scenario = jobs(
        bad=runs(RunScript(duration=5, state="error")), long=runs(RunScript(duration=600))
    )
    steps = [step("bad"), step("long"), step("later", "long"), step("third")]
    result = run(steps, scenario, fail_fast=True, max_parallel=2)
    assert result.outcomes() == {
        "bad": "failed",
        "long": "cancelled",
        "later": "not_run",
        "third": "not_run",
    }
    assert result.step("long")["reason"].startswith("step 'bad' failed and fail_fast is on; run ")
    assert result.step("third")["reason"] == "not started: step 'bad' failed and fail_fast is on"


# --- whose run is it ------------------------------------------------------------------------------


def test_stale_status_after_a_start_is_not_taken_for_ours() -> None:
    scenario = jobs(
        j=runs(RunScript(duration=1, state="error"), RunScript(duration=30), stale_reads=2)
    )

    def earlier_failed_run(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("j")
        clock.advance(5)

    result = run([step("j")], scenario, before=earlier_failed_run)
    assert result.step("j")["outcome"] == "succeeded"
    assert result.model.starts("j") == 2


def test_our_run_is_looked_up_when_it_stays_invisible() -> None:
    scenario = jobs(j=runs(RunScript(duration=20), stale_reads=50))
    result = run([step("j")], scenario)
    assert result.step("j")["outcome"] == "succeeded"
    assert ("all", "j") in result.model.requests


@pytest.mark.parametrize(
    ("policy", "outcome", "starts"),
    [("wait", "succeeded", 2), ("adopt", "succeeded", 1), ("fail", "failed", 1)],
)
def test_already_running(policy: str, outcome: str, starts: int) -> None:
    scenario = jobs(j=runs(RunScript(duration=100)))

    def someone_started_it(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("j")
        clock.advance(10)

    result = run([step("j", on_running=policy)], scenario, before=someone_started_it)
    j = result.step("j")
    assert j["outcome"] == outcome
    assert result.model.starts("j") == starts
    if policy == "adopt":
        assert j["attempts"][0]["adopted"] is True
    if policy == "wait":
        assert result.clock.now >= 90  # the other run ended first
        assert result.lines(WaitingForOther)[0].startswith("j: waiting for run ")
    if policy == "fail":
        assert j["reason"].startswith("job j is already running (run ")


# --- Fusion's faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [429, 502, 503, 504, "reset"])
def test_transient_status_faults_are_not_job_failures(answer: int | str) -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=answer, times=3, after=1),)
    scenario = jobs(j=runs(RunScript(duration=20), faults=faults))
    result = run([step("j")], scenario)
    assert result.step("j")["outcome"] == "succeeded"
    assert result.model.starts("j") == 1


def test_a_lost_start_answer_is_followed_not_repeated() -> None:
    scenario = jobs(
        j=runs(RunScript(duration=10), faults=(Fault(on=FaultTarget.START, answer="lost"),))
    )
    result = run([step("j")], scenario)
    assert result.step("j")["outcome"] == "succeeded"
    assert len(result.model.all_runs("j")) == 1
    assert any("the start's answer was lost" in line for line in result.lines(StartAnswerLost))


def test_a_start_that_never_arrived_is_sent_again() -> None:
    scenario = jobs(
        j=runs(RunScript(duration=10), faults=(Fault(on=FaultTarget.START, answer=503),))
    )
    result = run([step("j")], scenario)
    assert result.step("j")["outcome"] == "succeeded"
    assert len(result.model.all_runs("j")) == 1
    assert result.model.starts("j") == 2


def test_lost_contact_beyond_the_budget_fails_the_step() -> None:
    faults = (Fault(on=FaultTarget.STATUS, answer=503, times=10_000, after=1),)
    scenario = jobs(j=runs(RunScript(duration=3600), faults=faults))
    result = run([step("j")], scenario)
    j = result.step("j")
    assert j["outcome"] == "running"  # its run may still be going: the report keeps it
    assert j["reason"].startswith("lost contact with Fusion for 5m")
    assert j["reason"].endswith(
        "(last error: GET http://emulated/api/spark/jobs/j: 503 Service Unavailable: injected "
        f"fault: 503 on status); run {j['run_id']} may still be going"
    )
    assert result.outcome is PlanOutcome.FAILED
    assert 300 <= result.clock.now <= 300 + 70  # the default budget, and one backoff past it


def test_credentials_refused_mid_run_stop_everything_and_say_so() -> None:
    scenario = jobs(a=runs(RunScript(duration=600)), b=runs(RunScript(duration=10)))

    def revoke(model: EmulatedFusion, clock: FakeClock) -> None:
        real = model.status

        def status(job_id: str) -> Any:
            if clock.now > 30:
                raise Reply(401, {"error": "unauthorized"})
            return real(job_id)

        model.status = status  # type: ignore[method-assign]

    result = run([step("a"), step("b", "a")], scenario, before=revoke)
    assert result.outcome is PlanOutcome.FAILED
    assert result.report["error"] == (
        "Fusion refused the credentials: "
        "GET http://emulated/api/spark/jobs/a: 401 Unauthorized: unauthorized; this Fusion asks "
        "for credentials: set fusion.auth (it is none) and FUSION_USER and FUSION_PASSWORD, "
        "FUSION_API_KEY or FUSION_TOKEN"
    )
    a = result.step("a")
    assert a["outcome"] == "running"
    assert a["reason"].startswith(
        f"still running in Fusion (run {a['run_id']}); Fusion refused the credentials"
    )
    assert result.step("b")["outcome"] == "not_run"


# --- preflight ------------------------------------------------------------------------------------


def test_preflight_names_every_unknown_job_at_its_step() -> None:
    steps = [step("crawl"), step("aggregate", "crawl"), step("train", "aggregate")]
    steps = [
        s if s.name != "aggregate" else step("aggregate", "crawl", job="agregate") for s in steps
    ]
    clock = FakeClock()
    model = EmulatedFusion(
        Scenario(missing=frozenset({"agregate", "train"})),
        clock=clock,
        epoch=EPOCH,
        extra_jobs=["crawl"],
    )
    engine = Engine(plan_of(steps), ModelFusion(model), clock, url="http://emulated")
    with pytest.raises(JobsNotFound) as caught:
        engine.preflight()
    assert [(index, s.job) for index, s in caught.value.steps] == [(1, "agregate"), (2, "train")]
    assert model.starts("crawl") == 0


def test_preflight_goes_on_when_configurations_may_not_be_read() -> None:
    clock = FakeClock()
    model = EmulatedFusion(clock=clock, epoch=EPOCH, extra_jobs=["a"])

    def forbidden(job_id: str) -> dict[str, Any]:
        raise Reply(403, {"message": "Forbidden"})

    model.configuration = forbidden  # type: ignore[method-assign]
    recorder = Recorder()
    engine = Engine(
        plan_of([step("a"), step("b")]), ModelFusion(model), clock, url="u", reporter=recorder
    )
    engine.preflight()
    assert [wording.line(e) for e in recorder.events] == [
        "these credentials may not read job configurations (403), so fusion-run cannot check "
        "that every job exists before starting"
    ]
    assert engine.result.to_dict()["warnings"] == [
        {"step": None, "text": wording.line(recorder.events[0])}
    ]


# --- many plans -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(150))
def test_random_plans_keep_every_promise(seed: int) -> None:
    """Random DAGs, run_ifs, outcomes and faults: every step ends once, with a reason unless it
    succeeded, no attempt starts twice, and the verdict follows the steps."""
    rng = random.Random(seed)
    steps, scenario = random_plan(rng)
    result = run(steps, scenario, max_parallel=rng.randint(1, 4))
    report = result.report
    assert report["outcome"] in ("succeeded", "failed")
    for entry in report["steps"]:
        assert entry["outcome"] in ("succeeded", "failed", "timed_out", "skipped")
        assert (entry["reason"] is None) == (entry["outcome"] == "succeeded")
        assert result.model.starts(entry["job"]) == len(entry["attempts"])
    excluded = ("every upstream was excluded", "no upstream failed (")
    failing = [
        s
        for s, e in zip(steps, report["steps"], strict=True)
        if not s.allow_failure
        and (
            e["outcome"] in ("failed", "timed_out")
            or (  # skipped for a failure, not by its own run_if: it did not run
                e["outcome"] == "skipped"
                and not e["reason"].startswith(excluded)
                and not e["reason"].endswith("did not fail (run_if: all_failed)")
            )
        )
    ]
    assert (report["outcome"] == "failed") == bool(failing)


def test_a_lost_start_is_never_repeated_even_when_the_lookup_fails() -> None:
    faults = (
        Fault(on=FaultTarget.START, answer="lost"),
        Fault(on=FaultTarget.ALL, answer=503, times=2),
    )
    scenario = jobs(j=runs(RunScript(duration=30), faults=faults))
    result = run([step("j")], scenario)
    assert result.step("j")["outcome"] == "succeeded"
    assert len(result.model.all_runs("j")) == 1  # one run in Fusion: no second start


def test_preflight_rides_out_transient_faults() -> None:
    scenario = jobs(
        j=runs(
            RunScript(duration=3),
            faults=(Fault(on=FaultTarget.CONFIGURATION, answer=502, times=3),),
        )
    )
    result = run([step("j")], scenario)
    assert result.outcome is PlanOutcome.SUCCEEDED
    assert result.lines(ContactLost)[0].startswith(
        "None: lost contact with Fusion (GET http://emulated/api/"
    )


def test_preflight_gives_up_after_the_budget() -> None:
    scenario = jobs(j=runs(faults=(Fault(on=FaultTarget.CONFIGURATION, answer=504, times=10_000),)))
    with pytest.raises(Unreachable) as caught:
        run([step("j")], scenario)
    words = wording.text(caught.value.reason)
    assert words.startswith("lost contact with Fusion for 5m")
    assert words.endswith("504 Gateway Timeout: injected fault: 504 on configuration)")


def test_starts_are_written_ahead_and_the_rest_batched_per_tick() -> None:
    scenario = jobs(**{f"j{i}": runs(RunScript(duration=30)) for i in range(50)})
    result = run([step(f"j{i}") for i in range(50)], scenario, max_parallel=50)
    # Each start: its intent before the request, its run id after. The 50 ends land in a few
    # passes, and make a few writes, not 50; then the final report.
    starts = 1 + 2 * 50
    assert starts < len(result.reports) <= starts + 5
    intent, answered = result.reports[1]["steps"][0], result.reports[2]["steps"][0]
    assert (intent["attempts"][0]["run_id"], intent["attempts"][0]["requested_at"]) == (
        None,
        "2026-01-01T00:00:00.000Z",
    )
    assert answered["attempts"][0]["run_id"] is not None
    assert result.reports[starts]["summary"]["running"] == 50


# --- datasource and task jobs, through Fusion's Jobs API ------------------------------------------


def test_a_plan_mixing_datasource_spark_and_task_jobs() -> None:
    counters = {"counter.input": 1200, "counter.output": 1180, "counter.failed": 0}
    scenario = jobs(
        **{
            "datasource:products": runs(RunScript(duration=40, result=counters)),
            "train": runs(RunScript(duration=20, result={"docsWritten": 5})),
            "task:warm-cache": runs(RunScript(duration=5)),
        }
    )
    steps = [
        step(
            "crawl",
            job="datasource:products",
            states=("success",),
            expect=('extra."counter.failed" == `0`',),
        ),
        step("train", "crawl"),
        step("warm", "train", job="task:warm-cache", states=("success",)),
    ]
    result = run(steps, scenario)
    assert result.outcome is PlanOutcome.SUCCEEDED
    crawl = result.step("crawl")
    assert (crawl["attempts"][0]["state"], crawl["attempts"][0]["duration"]) == ("success", 40.0)
    assert crawl["attempts"][0]["criteria"][1]["actual"] is True
    assert result.lines(Started)[0] == "crawl: started a run; its id comes from the history"
    assert result.lines(RunIdentified)[0] == f"crawl: run {crawl['run_id']} running"


def test_a_failed_datasource_run_gives_fusions_message() -> None:
    scenario = jobs(
        **{
            "datasource:web": runs(
                RunScript(duration=5, state="failed", error="robots.txt forbids /docs")
            )
        }
    )
    result = run([step("web", job="datasource:web", states=("success",))], scenario)
    web = result.step("web")
    assert web["reason"] == f"run {web['run_id']} ended failed: robots.txt forbids /docs"


def test_a_datasource_timeout_aborts_the_run() -> None:
    scenario = jobs(**{"datasource:web": runs(RunScript(duration=3600))})
    result = run([step("web", job="datasource:web", states=("success",), timeout=60)], scenario)
    web = result.step("web")
    assert (web["outcome"], web["attempts"][0]["state"]) == ("timed_out", "aborted")
    assert ("cancel", "datasource:web") in result.model.requests


def test_a_lost_datasource_start_is_found_in_the_history() -> None:
    scenario = jobs(
        **{
            "task:t": runs(
                RunScript(duration=10), faults=(Fault(on=FaultTarget.START, answer="lost"),)
            )
        }
    )
    result = run([step("t", job="task:t", states=("success",))], scenario)
    assert result.step("t")["outcome"] == "succeeded"
    assert len(result.model.all_runs("task:t")) == 1


def test_a_run_that_shows_in_the_history_late_is_waited_for() -> None:
    scenario = jobs(
        **{"datasource:web": runs(RunScript(duration=5), RunScript(duration=8), stale_reads=2)}
    )

    def an_earlier_run(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("datasource:web")
        clock.advance(10)

    result = run(
        [step("web", job="datasource:web", states=("success",))], scenario, before=an_earlier_run
    )
    web = result.step("web")
    assert web["outcome"] == "succeeded"
    assert web["attempts"][0]["duration"] == 8.0  # ours, not the earlier 5 s run


# --- reads informed by the job's last good run ----------------------------------------------------


def ended_at(result: Result, name: str) -> float:
    ended = next(e for e in result.of(StepEnded) if e.step == name)
    return float(ended.at)


def earlier_run(duration: float) -> Callable[[EmulatedFusion, FakeClock], None]:
    """Start job j once before the plan, and let that run end."""

    def before(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("j")
        clock.advance(duration + 10)

    return before


def test_a_run_as_long_as_the_last_good_one_is_seen_ending_at_once() -> None:
    scenario = jobs(j=runs(RunScript(duration=100), RunScript(duration=100)))
    cold = run([step("j")], jobs(j=runs(RunScript(duration=100))))
    warm = run([step("j")], scenario, before=earlier_run(100))
    assert ended_at(cold, "j") - 100 > 2  # the plain schedule: seen ending seconds late
    assert (
        0 < ended_at(warm, "j") - 100 <= EXPECTED_SLACK + 1e-9
    )  # a read just after the expected end
    assert (
        warm.step("j")["attempts"][0]["status_reads"]
        <= cold.step("j")["attempts"][0]["status_reads"]
    )


def test_a_failed_last_run_predicts_nothing() -> None:
    scenario = jobs(j=runs(RunScript(duration=100, state="error"), RunScript(duration=100)))
    result = run([step("j")], scenario, before=earlier_run(100))
    assert ended_at(result, "j") - 100 > 2


def test_a_run_longer_than_last_time_is_read_often_again_after_the_expected_end() -> None:
    scenario = jobs(j=runs(RunScript(duration=60), RunScript(duration=90)))
    result = run([step("j", poll_interval=30)], scenario, before=earlier_run(60))
    assert result.step("j")["outcome"] == "succeeded"
    assert ended_at(result, "j") - 90 <= 90 * 0.1  # as after a start, from the 60 s mark


def test_steps_stopped_together_are_worded_alike() -> None:
    """One interrupt stops a step waiting for another run of its job and a step never started:
    both lines read "not started: ...". (The waiting one used to read "not run: not started".)"""
    scenario = jobs(a=runs(RunScript(duration=600)))

    def someone_started_a(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("a")
        clock.advance(10)

    result = run(
        [step("a"), step("b", "a")],
        scenario,
        before=someone_started_a,
        interrupts=lambda now: int(now >= 30),
    )
    assert result.lines(StepEnded) == [
        "b: not started: fusion-run was interrupted",
        "a: not started: fusion-run was interrupted",
    ]
    assert result.outcomes() == {"a": "not_run", "b": "not_run"}


def test_an_interrupt_after_the_plan_timeout_was_due_does_not_spin() -> None:
    """Interrupted while a cancel waits for Fusion, with a plan timeout that can no longer fire:
    the engine sleeps until its next read, not zero seconds over and over."""
    scenario = jobs(a=runs(RunScript(duration=600)))

    def deaf(model: EmulatedFusion, _: FakeClock) -> None:
        model.cancel = lambda job_id: None  # type: ignore[method-assign]

    result = run(
        [step("a")], scenario, before=deaf, timeout=45, interrupts=lambda now: int(now >= 10)
    )
    assert result.outcome is PlanOutcome.INTERRUPTED
    assert len(result.clock.sleeps) < 200  # it spun forever on a zero-second sleep before
    assert result.step("a")["outcome"] == "running"  # the cancel never confirmed: named


# --- scheduling that never waits for nothing ------------------------------------------------------


def test_a_step_starts_in_the_pass_its_upstream_ends_even_under_a_plan_timeout() -> None:
    """Two 2-second jobs in sequence under a 1-minute plan timeout, with no live display: the
    second starts the moment the first ends (it used to wait for the plan's timeout, then be
    skipped)."""
    scenario = jobs(a=runs(RunScript(duration=2)), b=runs(RunScript(duration=2)))
    result = run([step("a"), step("b", "a")], scenario, timeout=60)
    assert result.outcome is PlanOutcome.SUCCEEDED
    [a_ended] = result.of(StepEnded, step="a")
    [b_started] = result.of(Started, step="b")
    assert b_started.at == a_ended.at
    assert result.clock.now < 6


def test_a_chain_never_waits_between_its_links() -> None:
    """Each step of a 30-step chain starts in the pass its upstream ends, whatever else runs."""
    names = [f"c{i:02d}" for i in range(30)]
    scripts = {name: runs(RunScript(duration=0.5)) for name in names}
    scripts["other"] = runs(RunScript(duration=600))  # a long run beside the chain
    steps = [step(names[0]), *(step(b, a) for a, b in itertools.pairwise(names))]
    result = run([*steps, step("other")], jobs(**scripts), max_parallel=2)
    for upstream, downstream in itertools.pairwise(names):
        [ended] = result.of(StepEnded, step=upstream)
        [started] = result.of(Started, step=downstream)
        assert started.at == ended.at, (upstream, downstream)


# --- a signal is acted on before anything else ----------------------------------------------------


class SignalDuringStatus(ModelFusion):
    """A Fusion whose first status read is where SIGTERM lands: the read is cut (`cut`), or it
    completes, with the signal already counted."""

    def __init__(self, model: EmulatedFusion, *, cut: bool) -> None:
        super().__init__(model)
        self.cut, self.signals = cut, 0

    def status(self, job: str) -> Any:
        if not self.signals:
            self.signals = 1
            if self.cut:
                raise FusionError(
                    method="GET",
                    url=f"http://emulated/api/spark/jobs/{job}",
                    kind=ErrorKind.INTERRUPTED,
                    what="given up: fusion-run was interrupted",
                )
        return super().status(job)


@pytest.mark.parametrize("cut", [True, False], ids=["read-cut", "read-completes"])
@pytest.mark.parametrize("retry", [False, True], ids=["first-attempt", "retry"])
def test_a_signal_during_a_read_starts_nothing_after_it(cut: bool, retry: bool) -> None:
    """The check before a start (or before a retry's start) is where the signal lands: the
    start it would have led to never goes out, and the step is not started."""
    clock = FakeClock()
    scripts = (RunScript(duration=5, state="error"), RunScript(duration=60))
    model = EmulatedFusion(jobs(a=runs(*scripts)), clock=clock, epoch=EPOCH, extra_jobs=["a"])
    fusion = SignalDuringStatus(model, cut=cut)
    if retry:  # the signal lands on the check of the second attempt, after the retry delay
        fusion.signals = -1
        real = fusion.status

        def status(job: str) -> Any:
            if fusion.signals < 0 and clock.now >= 14:  # the first run ended at 5, delay 10±1
                fusion.signals = 0
            return real(job)

        fusion.status = status  # type: ignore[method-assign]
    engine = Engine(
        plan_of([step("a", retries=1, retry_delay=10)]),
        fusion,
        clock,
        url="http://emulated",
        rng=random.Random(1),
        interrupts=lambda: max(fusion.signals, 0),
    )
    engine.preflight()
    assert engine.execute() is PlanOutcome.INTERRUPTED
    assert model.starts("a") == (1 if retry else 0)
    result = engine.result.steps[0]
    assert (result.outcome, wording.text(result.reason)) == (
        (
            Outcome.CANCELLED,
            f"run {result.attempts[0].run_id} ended error: The job run failed; not retried: "
            "fusion-run was interrupted",
        )
        if retry
        else (Outcome.NOT_RUN, "not started: fusion-run was interrupted")
    )


def test_a_cancel_that_hangs_takes_no_grace_from_the_others() -> None:
    """a's DELETE hangs for a minute each time; b's goes out after it. b's grace counts from
    its own answer, and b is read before any verdict: cancelled, as Fusion shows."""
    clock = FakeClock()
    scenario = jobs(a=runs(RunScript(duration=600)), b=runs(RunScript(duration=600)))
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=["a", "b"])

    class Hanging(ModelFusion):
        def cancel(self, job: str) -> None:
            if job == "a":
                clock.advance(60)
                raise FusionError(
                    method="DELETE",
                    url="http://emulated/api/spark/jobs/a",
                    kind=ErrorKind.TRANSIENT,
                    what="no answer within 60s",
                    maybe_applied=True,
                )
            super().cancel(job)

    engine = Engine(
        plan_of([step("a"), step("b")]),
        Hanging(model),
        clock,
        url="http://emulated",
        rng=random.Random(1),
        interrupts=lambda: int(clock.now >= 3),
    )
    engine.preflight()
    engine.execute()
    a, b = engine.result.steps
    assert (b.outcome, wording.text(b.reason)) == (
        Outcome.CANCELLED,
        f"fusion-run was interrupted; run {b.run_id} cancelled",
    )
    assert a.outcome is None
    assert wording.text(a.reason) == (
        "fusion-run was interrupted; Fusion did not confirm the cancel within 1m: "
        f"run {a.run_id} may still be going"
    )


def test_a_long_retry_after_does_not_hold_up_a_steps_timeout() -> None:
    """Fusion asks to come back in 90 s; the step's timeout is 5 s: it is read again when its
    timeout falls due, and cancelled then, not a minute and a half later."""
    faults = (Fault(on=FaultTarget.STATUS, answer=503, times=1, after=2, retry_after=90),)
    result = run([step("a", timeout=5)], jobs(a=runs(RunScript(duration=600), faults=faults)))
    (ended,) = result.of(StepEnded, step="a")
    assert ended.outcome is Outcome.TIMED_OUT
    assert ended.at < 7


def test_a_step_downstream_of_a_run_left_going_says_so() -> None:
    """Fusion stops answering about a's run: a is left with it (it may still be running), and
    b, which waits for a, is skipped saying that, not that a failed."""
    faults = (Fault(on=FaultTarget.STATUS, answer=503, times=10_000, after=3),)
    result = run(
        [step("a"), step("b", "a")],
        jobs(a=runs(RunScript(duration=600), faults=faults)),
        fusion={"retry_budget": 30},
    )
    assert result.outcomes() == {"a": "running", "b": "skipped"}
    assert result.step("b")["reason"] == "upstream 'a' may still be running in Fusion"
