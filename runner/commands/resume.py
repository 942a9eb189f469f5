"""`--resume REPORT`: what an earlier run hands on to this one.

The earlier report's record of each step that still runs the same job is handed to the engine,
which reads what the step carries on from (`runner.engine.carry`): kept, picked up, verified or
run again, with every earlier attempt. The plan is compared with the settings the report says it
resolved to (`runner.plan.resolved`): an edit that changes none resumes without a word; new values
of settings that only say how fusion-run waits, retries and reaches Fusion are taken, and named;
any other change is refused unless forced, naming each setting. A report of an older format, which
has no settings, is compared by the plan file's sha256. Even forced, a plan that no longer has a
step whose run may still be going is refused: the new report would not name that run.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.engine import Resume
from runner.errors import UsageError
from runner.outcomes import AttemptOutcome, Outcome
from runner.plan import Plan
from runner.plan.resolved import Change, changes, settings
from runner.reasons import (
    CancelUnconfirmed,
    MayBeRunning,
    PlanRefused,
    StartUnconfirmed,
    StillRunning,
)
from runner.report.journal import read_report
from runner.result import Noted, PlanResult, StepResult


def load_resume(
    path: str, plan: Plan, *, force: bool, note: Callable[[str], None] | None = None
) -> Resume:
    """What the report at `path` hands on to a run of `plan`; `note` is told, in one line, the
    settings the plan changed that the resume takes."""
    earlier = PlanResult.from_dict(read_report(path, "--resume"))
    if earlier.target != plan.target:
        raise UsageError(f"--resume {path}: {_target_change(earlier.target, plan.target)}")
    edits = plan_edits(earlier, plan)
    refused = [edit.text for edit in edits if not edit.adjustable]
    if refused and not force:
        raise UsageError(
            f"--resume {path}: the plan changed since that report was written "
            f"({'; '.join(refused)}); resume with --force to use the plan as it is now"
        )
    if edits and note is not None:
        note(
            f"--resume {path}: the plan changed since that report was written; resuming with "
            f"it as it is now ({'; '.join(edit.text for edit in edits)})"
        )
    for entry in earlier.steps:
        odd = _inconsistency(entry)
        if odd is not None:
            raise UsageError(
                f"--resume {path}: step {entry.name!r} is not as fusion-run writes it ({odd}); "
                "restore the report as it was written, or run the plan afresh"
            )
    jobs = {step.name: (step.job, step.gate is None) for step in plan.steps}
    steps = {
        entry.name: entry
        for entry in earlier.steps
        if jobs.get(entry.name) == (entry.job, entry.gate is None)  # a gate stays one
    }
    for entry in earlier.steps:
        going = _run_going(entry)
        if entry.name not in steps and going is not None:
            raise UsageError(
                f"--resume {path}: step {entry.name!r} (job {entry.job!r}) left {going}, and "
                "the plan no longer has that step with that job: put it back to follow the "
                "run, or stop the run in Fusion and run the plan afresh"
            )
    warnings = tuple(
        warning
        for warning in earlier.warnings
        if isinstance(warning, Noted) and warning.step in steps
    )
    return Resume(
        path=path,
        outcome=str(earlier.outcome),
        steps=steps,
        warnings=warnings,
        trace=earlier.trace,
    )


def _target_change(before: str | None, now: str | None) -> str:
    """Why a resume with another target than the report's is refused, and the fix: the runs it
    would carry on from were made in another place."""
    if before is None:
        return (
            f"that report's run had no target, and this one has target {now}: run the plan afresh"
        )
    if now is None:
        return f"that report's run had target {before}: resume with --target {before}"
    return (
        f"that report's run had target {before}, not {now}: resume with --target {before}, "
        "or run the plan afresh"
    )


def _run_going(entry: StepResult) -> str | None:
    """The run an earlier fusion-run left going (or may have), in words; None if none."""
    last = entry.attempts[-1] if entry.attempts else None
    if last is None or last.outcome not in (None, AttemptOutcome.LEFT_RUNNING):
        return None
    if last.run_keys:
        return f"run {last.run_id or last.run_keys[0]} going"
    if last.requested_at is not None and not last.adopted:
        return "a start with no answer on record (its run may be going)"
    return None


def _inconsistency(entry: StepResult) -> str | None:
    """What in a step's record no fusion-run writes: a resume trusts what a report says of a
    step's runs, and must not start again a run it names as going, nor keep as succeeded a step
    whose run may still be going."""
    last = entry.attempts[-1] if entry.attempts else None
    checked = entry.gate is not None and entry.gate.checked_at is not None  # a gate's pass
    if entry.outcome is Outcome.SUCCEEDED and (
        (last is None and not checked)
        or (last is not None and last.outcome is not AttemptOutcome.SUCCEEDED)
    ):
        ended = "no attempt" if last is None else f"its last attempt {last.outcome or 'open'}"
        return f"succeeded, with {ended}"
    reason = entry.reason
    if not isinstance(reason, StillRunning | CancelUnconfirmed | MayBeRunning | StartUnconfirmed):
        return None
    if entry.outcome is not None:
        return f"{entry.outcome}, and its reason says its run may be going"
    if last is None or last.outcome not in (None, AttemptOutcome.LEFT_RUNNING):
        ended = "no attempt" if last is None else f"its last attempt {last.outcome}"
        return f"its run may be going, with {ended}"
    return None


def plan_edits(earlier: PlanResult, plan: Plan) -> list[Change]:
    """What differs between the plan a report ran and `plan`: setting by setting, or, for a
    report of an older format, by what its steps recorded when the file's sha256 differs; nothing
    for the report of a plan that was refused (it did not run)."""
    if isinstance(earlier.error, PlanRefused):  # nothing ran: nothing to compare
        return []
    if earlier.plan_settings is not None:
        return changes(earlier.plan_settings, settings(plan))
    if earlier.plan_sha256 == plan.sha256:
        return []
    return [Change(text=text, adjustable=False) for text in _file_changes(earlier, plan)]


def _file_changes(earlier: PlanResult, plan: Plan) -> list[str]:
    """What differs between the steps a report recorded and the plan's steps now."""
    before = {step.name: step for step in earlier.steps}
    now = {step.name: step for step in plan.steps}
    changes = [f"step {name!r} added" for name in now if name not in before]
    changes += [f"step {name!r} removed" for name in before if name not in now]
    for name, step in now.items():
        old = before.get(name)
        if old is None:
            continue
        if old.job != step.job:
            changes.append(f"step {name!r} runs job {step.job!r}, not {old.job!r}")
        if old.depends_on != step.depends_on:
            changes.append(
                f"step {name!r} waits for {list(step.depends_on)}, not {list(old.depends_on)}"
            )
    return changes or ["the steps are the same; other settings differ"]
