"""Every Fusion the evidence allows: the variant matrix.

Each example plan (with and without its example scenarios), a plan whose jobs' earlier runs
succeeded and whose new runs fail, and a plan whose job is running when its step comes due, run
against every switch of the emulator (`runner.emulator.scenario.Variant`), the pairs that interact,
each answer to a start while a run is active, and Spark jobs started through either API. Each run
must end as the documented Fusion's does, start exactly one run per attempt, and never judge an
attempt on a run it did not start.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import (
    JobScript,
    OnStartWhileActive,
    RunScript,
    Scenario,
    Variant,
    load_scenario,
)
from runner.engine import Engine
from runner.jobs import job_kind
from runner.plan import Plan, SparkStart, Step
from runner.plan.loader import load_plan
from runner.report import Reporters
from runner.report.journal import Journal
from tests.helpers.engine import plan_of
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.fusion_runs import run_keys
from tests.helpers.paths import EXAMPLES
from tests.helpers.reports import valid

VARIANTS = {
    "documented": Variant(),
    "history without runId": Variant(history_run_ids=False),
    "history that lags": Variant(history_lag=3),
    "history of ended runs only": Variant(history_ended_only=True),
    "/all oldest first": Variant(all_oldest_first=True),
    "two run ids": Variant(two_run_ids=True),
    "times off by 12 hours": Variant(clock_offset=12 * 3600),
    "duration in seconds": Variant(duration_in_seconds=True),
    "upper-case actions only": Variant(upper_case_actions=True),
    # the pairs (and more) that interact
    "no runId, lag and ended runs only": Variant(
        history_run_ids=False, history_lag=3, history_ended_only=True
    ),
    "no runId and times off": Variant(history_run_ids=False, clock_offset=12 * 3600),
    "oldest first and two run ids": Variant(all_oldest_first=True, two_run_ids=True),
    "lag and upper-case actions": Variant(history_lag=2, upper_case_actions=True),
}
ACTIVE_STARTS = [
    OnStartWhileActive.CONFLICT,
    OnStartWhileActive.RETURN_ACTIVE,
    OnStartWhileActive.NOT_ACCEPTED,
]

Before = list[tuple[str, float]]  # runs started by hand before the plan: (job, seconds after)


def example(plan: str, scenario: str | None) -> tuple[Plan, Scenario, Before]:
    loaded = load_plan(str(EXAMPLES / plan))
    script = load_scenario(str(EXAMPLES / "scenarios" / scenario)) if scenario else Scenario()
    return loaded, script, []


def earlier_success_then_failure() -> tuple[Plan, Scenario, Before]:
    """Each job's last run succeeded; the plan's run of it fails. A runner that took the earlier
    run for its own would report success."""
    jobs = {
        job: JobScript(
            runs=(
                RunScript(duration=3, state="finished" if job == "agg" else "success"),
                RunScript(duration=4, state="error" if job == "agg" else "failed", error="boom"),
            )
        )
        for job in ("agg", "datasource:web", "task:warm")
    }
    steps = [
        step("aggregate", job="agg"),
        step("crawl", job="datasource:web", states=("success",)),
        step("warm", job="task:warm", states=("success",)),
    ]
    return plan_of(steps), Scenario(jobs=jobs), [(job, 10.0) for job in jobs]


def running_when_due() -> tuple[Plan, Scenario, Before]:
    """The job is running (started by hand) when its step comes due, and its status shows the
    run before it for a while: the start meets the active run."""
    jobs = {
        "agg": JobScript(runs=(RunScript(duration=20), RunScript(duration=3)), stale_reads=2),
        "datasource:web": JobScript(
            runs=(RunScript(duration=20, state="success"), RunScript(duration=3, state="success")),
            stale_reads=2,
        ),
    }
    steps: list[Step] = [
        step("aggregate", job="agg"),
        step("crawl", job="datasource:web", states=("success",)),
    ]
    return plan_of(steps), Scenario(jobs=jobs), [(job, 1.0) for job in jobs]


PLANS = {
    "quickstart": lambda: example("quickstart.yaml", None),
    "quickstart, flaky gateway": lambda: example("quickstart.yaml", "flaky-gateway.yaml"),
    "catalog refresh": lambda: example("catalog-refresh.yaml", None),
    "catalog refresh, crawl errors": lambda: example(
        "catalog-refresh.yaml", "catalog-crawl-errors.yaml"
    ),
    "nightly": lambda: example("nightly-recommendations.yaml", None),
    "nightly, failures": lambda: example("nightly-recommendations.yaml", "nightly-failures.yaml"),
    "earlier success, new failure": earlier_success_then_failure,
    "running when due": running_when_due,
}


def execute(
    plan: Plan, scenario: Scenario, before: Before, spark_start: SparkStart
) -> tuple[dict[str, Any], EmulatedFusion, dict[str, int]]:
    clock = FakeClock()
    jobs = [s.job for s in plan.steps]
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=jobs)
    for job, wait in before:
        ModelFusion(model).start(job)
        clock.advance(wait)
    earlier = {key: len(state.runs) for key, state in model.jobs.items()}
    reports: list[dict[str, Any]] = []
    plan = replace(plan, fusion=replace(plan.fusion, spark_start=spark_start))
    Engine(
        plan,
        ModelFusion(model, spark_start=spark_start),
        clock,
        url="http://emulated",
        rng=random.Random(1),
        reporter=Reporters(Journal(lambda report: reports.append(valid(report)))),
    ).execute()
    return reports[-1], model, earlier


def check(report: dict[str, Any], model: EmulatedFusion, earlier: dict[str, int]) -> None:
    """One start per attempt, and no attempt judged on a run it did not start."""
    by_job: dict[str, list[dict[str, Any]]] = {}
    for entry in report["steps"]:
        by_job.setdefault(entry["job"], []).extend(entry["attempts"])
    for job, attempts in by_job.items():
        kind, ident = job_kind(job)
        runs = run_keys(model, job)
        before = earlier[ident if kind == "spark" else job]
        old, new = set().union(*runs[:before]), runs[before:]
        started = [a for a in attempts if not a["adopted"] and a["run_keys"]]
        assert len(started) == len(new), (job, attempts)  # one run per attempt, no more
        for attempt in attempts:
            if attempt["adopted"] or not attempt["run_keys"]:
                continue
            keys = set(attempt["run_keys"])
            assert not keys & old, (job, attempt)  # never another run's record
            assert any(keys & run for run in new), (job, attempt)


def outcomes(report: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    return report["outcome"], [(s["name"], s["outcome"]) for s in report["steps"]]


BASELINES: dict[str, tuple[str, list[tuple[str, str]]]] = {}


def baseline(name: str) -> tuple[str, list[tuple[str, str]]]:
    if name not in BASELINES:
        report, model, earlier = execute(*PLANS[name](), SparkStart.SPARK_API)
        check(report, model, earlier)
        BASELINES[name] = outcomes(report)
    return BASELINES[name]


def test_the_baselines_say_what_they_should() -> None:
    assert baseline("earlier success, new failure") == (
        "failed",
        [("aggregate", "failed"), ("crawl", "failed"), ("warm", "failed")],
    )
    assert baseline("running when due") == (
        "succeeded",
        [("aggregate", "succeeded"), ("crawl", "succeeded")],
    )
    assert baseline("quickstart, flaky gateway")[0] == "succeeded"
    assert baseline("catalog refresh, crawl errors")[0] == "failed"


@pytest.mark.parametrize("spark_start", list(SparkStart))
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("plan", list(PLANS))
def test_every_plan_on_every_fusion(plan: str, variant: str, spark_start: SparkStart) -> None:
    planned, scenario, before = PLANS[plan]()
    scenario = replace(scenario, variant=VARIANTS[variant])
    report, model, earlier = execute(planned, scenario, before, spark_start)
    assert outcomes(report) == baseline(plan)
    check(report, model, earlier)


@pytest.mark.parametrize("answer", ACTIVE_STARTS)
@pytest.mark.parametrize("variant", ["documented", "no runId, lag and ended runs only"])
def test_every_answer_to_a_start_while_a_run_is_active(
    answer: OnStartWhileActive, variant: str
) -> None:
    planned, scenario, before = running_when_due()
    scenario = replace(scenario, on_start_while_active=answer, variant=VARIANTS[variant])
    report, model, earlier = execute(planned, scenario, before, SparkStart.SPARK_API)
    assert outcomes(report) == baseline("running when due")
    check(report, model, earlier)
