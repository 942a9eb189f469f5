"""Where each step begins: what it carries on from (--resume), and whether it runs at all.

--resume: what each step carries on from, read from the earlier report's record of it.

- A step that succeeded is kept as it is.
- A step whose last attempt has a run that was left going (or is still open) is picked up: that
  attempt follows its run again.
- A step whose last attempt asked for a start that has no answer on record is verified: the run
  is looked for, and the job started again only if Fusion shows none.
- Any other step runs again. Its retries count the failed attempts of its last round; a round
  whose retries are spent (the step failed for good) is followed by a new round, as a repair.

Attempts are kept in every case: their numbers go on across resumes.

--select and --exclude: a step left out does not run (`not_run`, `NotSelected`), and the steps
downstream count it as succeeded. Selection applies to what a resume would run: a step kept from
the earlier report stays as it was, and one left out keeps its attempts, so that a later resume
still finds the run an earlier fusion-run left going. Leaving a step out never makes it good:
one whose run may still be going (left going, or a start with no answer on record) stays
without an outcome, and one the earlier report has as failed (failed, timed out, cancelled, or
skipped for a failure) keeps that outcome and reason. Either fails the plan and counts as
failed downstream (`failed_out`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from runner.engine.calling import call_record
from runner.engine.phases import LONG_AGO, Before, PickingUp, StepState, Verifying
from runner.outcomes import FAILURES, AttemptOutcome, Outcome
from runner.plan import Plan, RunIf, Step
from runner.plan.resolved import settings
from runner.reasons import (
    EXCLUSIONS,
    EveryUpstreamExcluded,
    NotSelected,
    NoUpstreamFailed,
    Reason,
    UpstreamDidNotFail,
)
from runner.result import (
    Attempt,
    GateRecord,
    Noted,
    PlanResult,
    ResumedFrom,
    StepResult,
    TraceIds,
)


@dataclass(frozen=True, kw_only=True)
class Resume:
    """What an earlier report hands on: its record of each step that still runs the same job,
    and its warnings about those steps (they happened; the plan's own are found again)."""

    path: str
    outcome: str
    steps: dict[str, StepResult]
    warnings: tuple[Noted, ...] = ()
    trace: TraceIds | None = None  # the plan's trace, which the resumed run's spans join


@dataclass(kw_only=True)
class Beginning:
    """Where the steps begin: the steps that will not start, which the steps downstream count as
    succeeded (`kept` from the earlier report, `left_out` by the selection), the run each resumed
    step looks for first, and the earlier report's record of each resumed step."""

    kept: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    failed_out: list[str] = field(default_factory=list)  # left out, and failed in the earlier run
    resumed: dict[str, PickingUp | Verifying] = field(default_factory=dict)
    earlier: dict[str, StepResult] = field(default_factory=dict)


def begin(
    states: Mapping[str, StepState], resume: Resume | None, selected: frozenset[str] | None
) -> Beginning:
    """Hand each step what the earlier report says of it, then leave out the steps not selected
    (recording their outcome and reason; the caller moves them to DONE)."""
    begun = Beginning()
    for name, earlier in resume.steps.items() if resume else ():
        state = states[name]
        carried = carry(state.step, earlier)
        state.result.attempts, state.round = list(earlier.attempts), carried.round
        begun.earlier[name] = earlier
        if carried.how is Carry.KEEP:
            state.result.outcome = Outcome.SUCCEEDED
            if state.step.gate is not None:  # what it found then, which passed it
                state.result.gate = earlier.gate or state.result.gate
            begun.kept.append(name)
        elif carried.how is Carry.PICK_UP:
            assert carried.attempt is not None
            begun.resumed[name] = PickingUp(attempt=carried.attempt)
        elif carried.how is Carry.VERIFY:
            assert carried.attempt is not None
            listed = frozenset(carried.attempt.listed_before or ())
            # every run listed before a start was taken for ended then (fusion-run starts only
            # when none shows going): one that shows going after it is a new run under an old id
            before = Before(
                known=listed, ended=listed, wall=carried.attempt.requested_at or LONG_AGO
            )
            begun.resumed[name] = Verifying(before=before, error=None, asked=None)
    if selected is None:
        return begun
    out = [name for name in states if name not in selected and name not in begun.kept]
    failed = _still_failed(states, [name for name in out if name not in begun.resumed], begun)
    for name in out:
        state = states[name]
        resumed = begun.resumed.pop(name, None)
        if name in failed:
            record = begun.earlier[name]
            state.result.outcome, state.result.reason = record.outcome, record.reason
            continue
        left = resumed.attempt if isinstance(resumed, PickingUp) else None
        state.result.reason = NotSelected(
            run_id=None if left is None else left.run_id or next(iter(left.run_keys), None),
            unverified=isinstance(resumed, Verifying),
        )
        if resumed is not None:  # its run may be going: not followed, and not made good either
            failed.insert(0, name)  # no outcome: as a run left going, it fails the plan
            continue
        state.result.outcome = Outcome.NOT_RUN
        begun.left_out.append(name)
    begun.failed_out = failed
    return begun


def _still_failed(states: Mapping[str, StepState], out: list[str], begun: Beginning) -> list[str]:
    """Of the steps left out with no run to pick up, those that still count as failed: the
    ones the earlier report has as failed, timed out or cancelled, and downstream of them the
    ones it has as skipped for that failure. A skip whose failed upstream runs again now is
    stale: that step is left out as any other. Each skip comes after the failure it follows."""
    ended = {name: begun.earlier[name] for name in out if name in begun.earlier}
    failed = [name for name, record in ended.items() if record.outcome in FAILURES]
    skipped = [
        name
        for name, record in ended.items()
        if record.outcome is Outcome.SKIPPED
        and record.reason is not None
        and not _excluded(states[name].step, record.reason, ended)
    ]
    grown = True
    while grown:  # until no skip follows from the failures found so far
        grown = False
        for name in skipped:
            if name not in failed and set(failed).intersection(states[name].step.depends_on):
                failed.append(name)
                grown = True
    return failed


class Carry(enum.Enum):
    KEEP = "keep"
    PICK_UP = "pick up"
    VERIFY = "verify"
    RUN = "run"


def _excluded(step: Step, reason: Reason | None, ended: Mapping[str, StepResult]) -> bool:
    """An earlier skip by the step's own run_if, as its plan has it now: it fails nothing. An
    exclusion the plan could not have made (under another run_if, naming an upstream the step
    does not have, or every upstream excluded when one of them is not) is not believed: the
    skip counts as a failure's."""
    if isinstance(reason, NoUpstreamFailed):
        return step.run_if is RunIf.AT_LEAST_ONE_FAILED
    if isinstance(reason, UpstreamDidNotFail):
        return step.run_if is RunIf.ALL_FAILED and reason.upstream in step.depends_on
    if isinstance(reason, EveryUpstreamExcluded):
        upstreams = [ended.get(name) for name in step.depends_on]
        return bool(upstreams) and all(
            up is not None and up.outcome is Outcome.SKIPPED and isinstance(up.reason, EXCLUSIONS)
            for up in upstreams
        )
    return False


@dataclass(frozen=True, kw_only=True, slots=True)
class Carried:
    how: Carry
    round: int  # the round the step's next attempts belong to
    attempt: Attempt | None = None  # the attempt to pick up or verify


def carry(step: Step, earlier: StepResult) -> Carried:
    attempts = earlier.attempts
    last = attempts[-1] if attempts else None
    if earlier.outcome is Outcome.SUCCEEDED:
        return Carried(how=Carry.KEEP, round=last.round if last else 1)
    if last is None:
        return Carried(how=Carry.RUN, round=1)
    if step.call is not None:  # a request: no run to find; its handler judges an open attempt
        if last.outcome is AttemptOutcome.SUCCEEDED:  # answered, and the step's end unwritten
            return Carried(how=Carry.KEEP, round=last.round)
        if last.open or last.outcome is AttemptOutcome.LEFT_RUNNING:
            last.outcome = None  # its answer unknown: `runner.engine.calling` decides
            return Carried(how=Carry.RUN, round=last.round)
    if last.run_keys and last.outcome in (None, AttemptOutcome.LEFT_RUNNING):
        return Carried(how=Carry.PICK_UP, round=last.round, attempt=last)
    unnamed = last.open or last.outcome is AttemptOutcome.LEFT_RUNNING  # its run may be going
    if unnamed and last.requested_at is not None and not last.adopted:
        return Carried(how=Carry.VERIFY, round=last.round, attempt=last)
    counted = (AttemptOutcome.FAILED, AttemptOutcome.TIMED_OUT)
    failed = sum(1 for a in attempts if a.round == last.round and a.outcome in counted)
    spent = failed > step.retries
    return Carried(how=Carry.RUN, round=last.round + 1 if spent else last.round)


def plan_result(plan: Plan, url: str, started_at: datetime, resume: Resume | None) -> PlanResult:
    """The result of a plan that begins now: every step pending, and the report it resumes."""
    resumed = None if resume is None else ResumedFrom(path=resume.path, outcome=resume.outcome)
    return PlanResult(
        plan_path=plan.file,
        plan_name=plan.name,
        plan_sha256=plan.sha256,
        target=plan.target,
        plan_settings=settings(plan),
        url=url,
        api=plan.fusion.api,
        started_at=started_at,
        resumed_from=resumed,
        warnings=[] if resume is None else list(resume.warnings),
        steps=[
            StepResult(
                name=step.name,
                job=step.job,
                allow_failure=step.allow_failure,
                depends_on=step.depends_on,
                line=step.line,
                gate=None
                if step.gate is None
                else GateRecord(succeeded_within=step.gate.succeeded_within),
                for_each=step.for_each,
                call=None if step.call is None else call_record(step.call),
            )
            for step in plan.steps
        ],
    )
