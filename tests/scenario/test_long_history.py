"""A job's age costs a start nothing: what a step keeps of the runs before its start, and what it
asks Fusion to list, are as small for a job with thousands of runs as for one with a few."""

from __future__ import annotations

import json

from runner.emulator.scenario import JobScript, PastRun, RunScript
from runner.engine.context import RECORDED_RUNS
from runner.fusion import routes
from runner.fusion.routes import HISTORY_LIMIT
from runner.outcomes import PlanOutcome
from tests.helpers.engine import jobs, run
from tests.helpers.fakes import step


def _aged(history: int) -> JobScript:
    """A Spark job with `history` runs before the plan, a minute apart, and one to come."""
    past = tuple(
        PastRun(ended_ago=60.0 * (i + 1), run=RunScript(duration=2)) for i in range(history)
    )
    return JobScript(runs=(RunScript(duration=2),), history=past)


def _listed_before(history: int) -> list[str]:
    result = run([step("a", job="j")], jobs(j=_aged(history)))
    assert result.outcome is PlanOutcome.SUCCEEDED
    [attempt] = result.reports[-1]["steps"][0]["attempts"]
    listed: list[str] = attempt["listed_before"]
    return listed


def test_an_attempt_keeps_the_newest_runs_listed_before_its_start_only() -> None:
    young, old = _listed_before(RECORDED_RUNS), _listed_before(2_000)
    assert len(old) == len(young) == 2 * RECORDED_RUNS  # an id and a start time each
    assert len(json.dumps(old)) == len(json.dumps(young))


def test_the_list_of_a_spark_jobs_runs_asks_for_the_newest_only() -> None:
    assert routes.runs("j") == ("GET", f"/spark/jobs/j/all?limit={HISTORY_LIMIT}")
    assert routes.runs("datasource:d") == (
        "GET",
        f"/jobs/datasource:d/history?limit={HISTORY_LIMIT}",
    )
