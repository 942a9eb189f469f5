"""The report of a run that stopped before its plan could begin: an invalid plan, a variable not
set, a command line or a resume refused. It replaces any earlier report, so that an earlier run's
success never stands for this one: the plan `failed`, its `error` says why, each step (when the
plan could be read) `not_run`, and the verdict is the exit code fusion-run gives."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from runner.engine.carry import plan_result
from runner.outcomes import Outcome, PlanOutcome
from runner.plan import Plan
from runner.plan.problems import InvalidPlan
from runner.plan.source import read_text
from runner.reasons import Carried, Cause, NotStarted, PlanRefused
from runner.result import PlanResult
from runner.verdict import judged


def refused_result(
    path: str,
    plan: Plan | None,
    url: str | None,
    *,
    error: str,
    refused: bool,
    at: datetime,
) -> PlanResult:
    """The result of the plan at `path` (`plan`, if it was read) that did not run because of
    `error`: a refusal (exit 2) when `refused`, else an error before anything started (exit 3).
    Fusion's URL is empty when it was not known yet."""
    cause: Cause = PlanRefused(error=error) if refused else Carried(text=error)
    if plan is None:
        result = PlanResult(
            plan_path=path,
            plan_name=Path(path).stem,  # the name a plan without `name:` has
            plan_sha256=_sha256(path),
            url=url or "",
            api="",
            started_at=at,
        )
    else:
        result = plan_result(plan, url or "", at, None)
    for step in result.steps:
        step.outcome, step.reason = Outcome.NOT_RUN, NotStarted(cause=cause)
    result.outcome, result.error, result.ended_at = PlanOutcome.FAILED, cause, at
    result.verdict = judged(result)
    return result


def _sha256(path: str) -> str:
    """The plan file's digest as the loader takes it; of no text when the file cannot be read."""
    try:
        text = read_text(path)
    except InvalidPlan:
        text = ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
