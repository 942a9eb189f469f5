"""The result model's one round trip: what a report says is what a resume reads back."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from runner.criteria import Criterion, CriterionName
from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from runner.outcomes import Outcome, PlanOutcome
from runner.reasons import Carried, FailFast, Interrupted, NotStarted, PlanTimeout, StepTimeout
from runner.result import Attempt, CancelRecord, PlanResult, StepResult
from tests.helpers.engine import run
from tests.helpers.fakes import EPOCH, step
from tests.helpers.reports import valid


@pytest.mark.parametrize("seed", range(20))
def test_every_report_of_a_random_plan_reads_back_as_itself(seed: int) -> None:
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(rng.randint(1, 8))]
    steps, scripts = [], {}
    for index, name in enumerate(names):
        upstream = rng.sample(names[:index], k=min(index, rng.randint(0, 2)))
        steps.append(step(name, *upstream, retries=rng.choice([0, 1]), retry_delay=5))
        states = [rng.choice(["finished", "error", "skipped"]) for _ in range(2)]
        faults = (Fault(on=FaultTarget.STATUS, answer=503, times=2, after=1),) * (seed % 2)
        scripts[name] = JobScript(
            runs=tuple(RunScript(duration=rng.uniform(0.5, 30), state=s) for s in states),
            faults=faults,
        )
    result = run(steps, Scenario(jobs=scripts), interrupts=lambda now: int(now > 40 + seed))
    assert len(result.reports) > 2
    for report in result.reports:  # while running and at the end
        assert PlanResult.from_dict(report).to_dict() == report


def test_reasons_read_back_as_the_facts_they_were_written_from() -> None:
    started = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    result = PlanResult(
        plan_path="p.yaml",
        plan_name="p",
        plan_sha256="0" * 64,
        url="http://f",
        api="/api",
        started_at=started,
        ended_at=started.replace(second=30, microsecond=999999),
        outcome=PlanOutcome.FAILED,
        error=Carried(text="boom"),
        steps=[
            StepResult(
                name="a",
                job="a",
                allow_failure=False,
                depends_on=(),
                line=3,
                outcome=Outcome.NOT_RUN,
                reason=NotStarted(cause=StepTimeout(limit=60)),
                attempts=[
                    Attempt(
                        number=1,
                        run_id="r1",
                        state="error",
                        started_at=started,
                        duration=1.5,
                        criteria=[
                            Criterion(
                                name=CriterionName.STATE,
                                expected=["finished"],
                                actual="error",
                                passed=False,
                            )
                        ],
                    )
                ],
            )
        ],
    )
    report = valid(result.to_dict())
    assert report["duration"] == 30.876  # between the times as written, to the millisecond
    assert report["steps"][0]["reason"] == "not started: the step's timeout of 1m passed"
    assert report["steps"][0]["reason_fact"] == {
        "kind": "not_started",
        "cause": {"kind": "step_timeout", "limit": 60},
    }
    back = PlanResult.from_dict(report)
    assert back.steps[0].reason == NotStarted(cause=StepTimeout(limit=60))
    assert back.error == Carried(text="boom")
    assert back.to_dict() == report


def test_each_attempt_keeps_what_fusion_reported_for_trends_and_expect() -> None:
    """A Spark run's `result` and a Jobs API run's `extra` counters, as Fusion gave them when the
    run ended: what `expect` reads, kept per attempt."""
    scenario = Scenario(
        jobs={
            "datasource:web": JobScript(
                runs=(RunScript(duration=5, result={"counter.input": 12, "counter.output": 11}),)
            ),
            "train": JobScript(
                runs=(
                    RunScript(duration=5, state="error", error="OOM"),
                    RunScript(duration=5, result={"docsWritten": 42}),
                )
            ),
        }
    )
    steps = [
        step("crawl", job="datasource:web", states=("success",)),
        step("train", retries=1, retry_delay=1, expect=("result.docsWritten > `0`",)),
    ]
    result = run(steps, scenario)
    crawl, train = result.step("crawl"), result.step("train")
    # a datasource run's counters carry the run's own times, as Fusion's do (epoch ms)
    start = int(EPOCH * 1000)
    assert [a["result"] for a in crawl["attempts"]] == [
        {"counter.input": 12, "counter.output": 11, "startTime": start, "endTime": start + 5000}
    ]
    first, second = train["attempts"]
    assert first["result"] == {
        "jobConfigId": "train",
        "jobRunId": first["run_id"],
        "exception": {
            "jobRunId": first["run_id"],
            "httpStatusCode": 500,
            "httpStatusMessage": "Internal Server Error",
            "error": "Internal Server Error",
            "message": "OOM",
            "details": "OOM",
        },
    }
    assert second["result"] == {
        "jobConfigId": "train",
        "jobRunId": second["run_id"],
        "docsWritten": 42,
    }
    [expected] = [c for c in second["criteria"] if c["name"] == "expect"]
    assert expected["actual"] is True


@pytest.mark.parametrize(
    "cause",
    [
        StepTimeout(limit=30),
        PlanTimeout(limit=3600),
        Interrupted(),
        FailFast(step="train"),
        FailFast(step="publish", skipped=True),
        Carried(text="an earlier fusion-run's words"),
    ],
)
def test_a_cancel_record_reads_back_as_the_cause_it_was_written_for(cause: object) -> None:
    """A resume retries a timeout it picked up, and words a stop as the run that ordered it did."""
    record = CancelRecord(outcome=Outcome.CANCELLED, cause=cause)  # type: ignore[arg-type]
    assert CancelRecord.from_dict(record.to_dict()) == record
