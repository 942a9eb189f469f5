"""The handler of a `require:` step: it reads the job's runs once, and starts nothing, ever.

It passes when Fusion lists a run of the job that ended in a state the step accepts within the
step's window before now, by the engine's wall clock (`find`). A run still going does not count,
nor one with no end time; an end time more than `AHEAD_TRUSTED` ahead of now is not trusted
(Fusion's clock and ours disagree), and a warning says so. The read is the CHECK phase's: a
fault is ridden out as for any read (`runner.engine.faults`), and a 404 is a job with no runs
listed (the client's `runs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runner.clock import format_time
from runner.engine.context import Context
from runner.engine.phases import Phase, StepState
from runner.events import Checked, EndInFuture
from runner.fusion.routes import HISTORY_LIMIT
from runner.fusion.status import RunStatus
from runner.outcomes import Outcome
from runner.reasons import GateFailed
from runner.result import GateRecord

AHEAD_TRUSTED = 60.0  # seconds an end time may be ahead of now: clocks differ that much


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """What the list of runs shows at a time: the newest run that ended in an accepted state
    with a trusted end time and its age, whether it ended within the window, and the accepted
    runs whose end time is not trusted, each with how far ahead it is."""

    newest: RunStatus | None
    ago: float | None  # seconds from its end to the time of the check
    passed: bool
    ahead: tuple[tuple[RunStatus, float], ...]
    listed: int


def find(runs: list[RunStatus], states: tuple[str, ...], within: float, now: datetime) -> Finding:
    """The newest accepted run by its end time, among the runs that have ended."""
    ages = [
        (run, (now - run.ended).total_seconds())
        for run in runs
        if run.terminal and run.state in states and run.ended is not None
    ]
    ahead = tuple((run, -age) for run, age in ages if age < -AHEAD_TRUSTED)
    trusted = [(run, max(0.0, age)) for run, age in ages if age >= -AHEAD_TRUSTED]
    newest, ago = min(trusted, key=lambda pair: pair[1]) if trusted else (None, None)
    return Finding(
        newest=newest,
        ago=ago,
        passed=ago is not None and ago <= within,
        ahead=ahead,
        listed=len(runs),
    )


def check_gate(ctx: Context, s: StepState, now: float) -> Phase:
    """Read the job's runs, record what they show, and end the step: succeeded or failed."""
    step, gate = s.step, s.step.gate
    assert gate is not None
    runs = ctx.fusion.runs(step.job)
    s.contact = None
    wall = ctx.clock.wall()
    found = find(runs, step.success.states, gate.succeeded_within, wall)
    for run, ahead in found.ahead:
        ctx.warn(EndInFuture(step=step.name, job=step.job, run_id=run.label, ahead=ahead))
    newest = found.newest
    record = s.result.gate = GateRecord(
        succeeded_within=gate.succeeded_within,
        checked_at=wall,
        run_id=None if newest is None else newest.label,
        state=None if newest is None else newest.state,
        ended_at=None if newest is None else newest.ended,
        listed=found.listed,
    )
    ctx.emit(
        Checked(
            step=step.name,
            job=step.job,
            run_id=record.run_id,
            state=record.state,
            ago=found.ago,
            within=gate.succeeded_within,
            passed=found.passed,
        )
    )
    if found.passed:
        return ctx.end(s, Outcome.SUCCEEDED, None)
    reason = GateFailed(
        job=step.job,
        states=step.success.states,
        within=gate.succeeded_within,
        run_id=record.run_id,
        state=record.state,
        ended=None if record.ended_at is None else format_time(record.ended_at),
        ago=found.ago,
        cut=newest is None and found.listed >= HISTORY_LIMIT,
        future=len(found.ahead),
    )
    return ctx.end(s, Outcome.FAILED, reason)
