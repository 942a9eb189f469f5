"""How the plan ended for CI: the exit code, and why it is not 0, decided in one place.

fusion-run exits with `verdict(result).code`; JUnit's plan testcase and the GitHub summary say
`verdict(result)` in words (`runner.wording.verdict`). So what a CI reads in a test report always
agrees with the exit code: 0 exactly when no step failed the plan and nothing around the steps went
wrong (jobs missing, the plan's timeout, credentials refused, an interrupt, a run left going, a
report that could not be written).
"""

from __future__ import annotations

from dataclasses import dataclass

from runner import wording
from runner.errors import ExitCode
from runner.outcomes import PlanOutcome
from runner.reasons import (
    Interrupted,
    JobsMissing,
    PlanRefused,
    ReportLost,
    StepsFailed,
    TriggersFound,
)
from runner.result import Judged, PlanResult


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    code: ExitCode
    causes: tuple[object, ...]  # why the code is not 0, as typed facts; empty when it is
    allowed: tuple[tuple[str, str], ...] = ()  # the allowed failures: (step, outcome) each

    @property
    def succeeded(self) -> bool:
        return self.code is ExitCode.SUCCEEDED

    def words(self) -> str:
        return wording.verdict(self.code, self.causes)

    def warning(self) -> str | None:
        """The allowed failures in words, a warning beside the verdict; None when there are
        none."""
        return wording.allowed_failures(self.allowed) if self.allowed else None


def verdict(result: PlanResult) -> Verdict:
    """The exit code of a finished run, and every reason it is not 0."""
    causes: list[object] = []
    if result.unrecorded is not None:
        causes.append(ReportLost(error=result.unrecorded))
    if result.error is not None:
        causes.append(result.error)
    if result.stopped is not None and result.stopped != result.error:
        causes.append(result.stopped)
    elif result.outcome is PlanOutcome.INTERRUPTED and result.error is None:
        causes.append(Interrupted())
    failing = tuple((step.name, step.status) for step in result.steps if step.fails_the_plan)
    if failing:
        causes.append(StepsFailed(steps=failing))
    if result.unrecorded is not None:
        code = ExitCode.FUSION
    elif result.outcome is PlanOutcome.INTERRUPTED:
        code = ExitCode.INTERRUPTED
    elif isinstance(result.error, JobsMissing | TriggersFound | PlanRefused):
        code = ExitCode.INVALID
    elif result.error is not None:
        code = ExitCode.FUSION
    elif result.outcome is not PlanOutcome.SUCCEEDED or failing:
        code = ExitCode.PLAN_FAILED
    else:
        code = ExitCode.SUCCEEDED
    return Verdict(code=code, causes=tuple(causes) if code else (), allowed=allowed(result))


def allowed(result: PlanResult) -> tuple[tuple[str, str], ...]:
    """The steps that failed as `allow_failure` let them (failed, timed out or cancelled): each
    is a warning in every output, never a failure. One skipped is skipped, as any other."""
    return tuple((step.name, step.status) for step in result.steps if step.failed_as_allowed)


def judged(result: PlanResult) -> Judged:
    """The verdict as the report keeps it (`PlanResult.verdict`)."""
    found = verdict(result)
    return Judged(exit_code=int(found.code), why=None if found.succeeded else found.words())
