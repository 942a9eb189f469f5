"""The handlers before a run is ours: CHECK whether the job is already running, WAIT_OTHER for
someone else's run to end, PICK_UP a run an earlier fusion-run left going, START the job, and
VERIFY a start whose answer was lost, so that no job is ever started twice."""

from __future__ import annotations

from dataclasses import replace

from runner.engine.context import (
    FIRST_POLL,
    START_TRIES,
    VERIFY_LOOKUPS,
    Context,
    backoff,
    could_be_ours,
    interval,
    phase_data,
)
from runner.engine.following import ended
from runner.engine.phases import (
    Before,
    Checking,
    Following,
    Phase,
    PickingUp,
    Starting,
    StepState,
    Verifying,
    WaitingOther,
)
from runner.events import (
    LostStartFound,
    RunGone,
    StartAnswerLost,
    Started,
    StartRetrying,
    WaitingForOther,
)
from runner.fusion import ErrorKind, FusionError
from runner.outcomes import Outcome
from runner.plan import OnRunning
from runner.reasons import AlreadyRunning, OtherRunOutlasted, StartFailed
from runner.result import Attempt
from runner.status import RunStatus, job_kind


def check(ctx: Context, s: StepState, now: float) -> Phase:
    """Read the job's latest run: start, or do as on_running says if a run is active."""
    step, failures = s.step, phase_data(s, Checking).failures
    latest = ctx.fusion.status(step.job)
    s.contact = None
    expected = None
    if latest.terminal and latest.state in step.success.states and latest.duration:
        expected = latest.duration  # the last good run: this one likely takes as long
    if not (latest.active and latest.visible):
        before = Before(latest=latest.run_id, expected=expected)
        return _prepare_start(ctx, s, now, before, failures)
    if step.on_running is OnRunning.FAIL:
        ctx.end(s, Outcome.FAILED, AlreadyRunning(job=step.job, run_id=latest.run_id))
        return Phase.DONE
    if step.on_running is OnRunning.ADOPT:
        return _follow(ctx, s, now, latest, adopted=True, before=Before(latest=latest.run_id))
    s.data = WaitingOther(failures=failures)
    ctx.emit(WaitingForOther(step=step.name, run_id=latest.run_id))
    s.due = now + interval(step, 0)
    return Phase.WAIT_OTHER


def wait_other(ctx: Context, s: StepState, now: float) -> Phase:
    """on_running: wait: start once the other run has ended, unless the step's timeout passes."""
    data = phase_data(s, WaitingOther)
    status = ctx.fusion.status(s.step.job)
    s.contact = None
    if not (status.active and status.visible):
        return _prepare_start(ctx, s, now, Before(latest=status.run_id), data.failures)
    if now - s.became_due >= s.step.timeout:
        reason = OtherRunOutlasted(run_id=status.run_id, limit=s.step.timeout)
        ctx.end(s, Outcome.TIMED_OUT, reason)
        return Phase.DONE
    data.reads += 1
    s.due = now + interval(s.step, data.reads)
    return Phase.WAIT_OTHER


def pick_up(ctx: Context, s: StepState, now: float) -> Phase:
    """--resume: follow the run an earlier fusion-run left going; start only if it is gone."""
    wanted, job = phase_data(s, PickingUp).run_id, s.step.job
    latest = ctx.fusion.status(job)
    s.contact = None
    found = latest if latest.run_id == wanted else None
    found = found or next((r for r in ctx.fusion.runs(job) if r.run_id == wanted), None)
    if found is None:
        ctx.emit(RunGone(step=s.step.name, run_id=wanted))
        return _prepare_start(ctx, s, now, Before(latest=latest.run_id), 0)
    return _follow(ctx, s, now, found, adopted=True, before=Before())


def _prepare_start(ctx: Context, s: StepState, now: float, before: Before, failures: int) -> Phase:
    if job_kind(s.step.job)[0] != "spark":
        # The Jobs API names no run at a start, and its history may lag: remember every run it
        # lists now, so that none of them is ever taken for ours.
        known = frozenset(r.run_id for r in ctx.fusion.runs(s.step.job) if r.run_id)
        before = replace(before, known=known)
    s.data = Starting(before=before, failures=failures)
    s.due = now
    return Phase.START


def start(ctx: Context, s: StepState, now: float) -> Phase:
    data = phase_data(s, Starting)
    before = replace(data.before, wall=ctx.clock.wall())
    try:
        status = ctx.fusion.start(s.step.job)
    except FusionError as error:
        return _start_failed(ctx, s, now, error, before=before, failures=data.failures)
    return _follow(ctx, s, now, status, adopted=False, before=before)


def _start_failed(
    ctx: Context, s: StepState, now: float, error: FusionError, *, before: Before, failures: int
) -> Phase:
    if error.kind is ErrorKind.CREDENTIALS:
        raise error
    if error.status == 409:  # a run began since we looked: deal with it as on_running says
        s.data = Checking(failures=failures)
        s.due = now + FIRST_POLL
        return Phase.CHECK
    if error.maybe_applied:
        # The start may have happened: find its run before anything else, never start twice.
        ctx.emit(StartAnswerLost(step=s.step.name, error=str(error)))
        s.data = Verifying(before=before, error=error, failures=failures)
        s.due = now
        return Phase.VERIFY
    return _start_again(ctx, s, now, error, failures)


def verify(ctx: Context, s: StepState, now: float) -> Phase:
    """A start's answer was lost: follow the run it began, if Fusion lists one; else start again."""
    data = phase_data(s, Verifying)
    runs = ctx.fusion.runs(s.step.job)
    s.contact = None
    newest = runs[0] if runs else None
    if newest is not None and could_be_ours(data.before, newest):
        ctx.emit(LostStartFound(step=s.step.name, run_id=newest.run_id))
        return _follow(ctx, s, now, newest, adopted=False, before=data.before)
    data.lookups += 1
    if data.lookups < VERIFY_LOOKUPS:  # Fusion may list a new run a moment late
        s.due = now + 2 * FIRST_POLL
        return Phase.VERIFY
    return _start_again(ctx, s, now, data.error, data.failures)


def _start_again(
    ctx: Context, s: StepState, now: float, error: FusionError, failures: int
) -> Phase:
    failures += 1
    if error.kind is ErrorKind.TRANSIENT and failures < START_TRIES:
        ctx.emit(StartRetrying(step=s.step.name, error=str(error)))
        s.data = Checking(failures=failures)
        s.due = now + backoff(ctx.rng, failures, error)
        return Phase.CHECK
    ctx.end(s, Outcome.FAILED, StartFailed(job=s.step.job, error=str(error)))
    return Phase.DONE


def _follow(
    ctx: Context, s: StepState, now: float, status: RunStatus, *, adopted: bool, before: Before
) -> Phase:
    """A run is ours now, started or adopted: a new attempt follows it."""
    attempts = s.result.attempts
    attempt = Attempt(
        number=len(attempts) + 1, run_id=status.run_id, adopted=adopted, state=status.state
    )
    attempts.append(attempt)
    s.data = Following(
        run_id=status.run_id,
        started=now,
        before=before,
        expected=before.expected,
        last_state=status.state,
    )
    ctx.emit(
        Started(step=s.step.name, run_id=status.run_id, attempt=attempt.number, adopted=adopted)
    )
    if status.terminal and status.run_id:
        return ended(ctx, s, now, status)
    s.due = now + FIRST_POLL
    return Phase.FOLLOW
