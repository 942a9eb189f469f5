"""The handlers before a run is ours: CHECK whether the job is already running, WAIT_OTHER for
someone else's run to end, PICK_UP a run an earlier fusion-run left going, START the job, and
VERIFY a start whose answer was lost, so that no job is ever started twice.

Every start is written ahead: before the request goes out, the attempt records when it was asked
and what Fusion listed before it (`StartRequested`, which the journal puts on disk at once); the
run id follows as soon as the answer arrives (`Started`). A crash between the two leaves an open
attempt with no run id, which a resume verifies exactly as a start whose answer was lost.
"""

from __future__ import annotations

from dataclasses import replace

from runner.engine.context import (
    MIN_WAIT,
    START_TRIES,
    VERIFY_EVERY,
    VERIFY_LOOKUPS,
    Context,
    backoff,
    interval,
    is_new,
    phase_data,
)
from runner.engine.following import ended, order_cancel, whole_record
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
    RunPickedUp,
    StartAnswerLost,
    Started,
    StartRequested,
    StartRetrying,
    WaitingForOther,
)
from runner.fusion import ErrorKind, FusionError
from runner.outcomes import AttemptOutcome, Outcome
from runner.plan import OnRunning
from runner.reasons import (
    AlreadyRunning,
    NotStarted,
    OtherRunOutlasted,
    ReportUnwritable,
    StartFailed,
)
from runner.reporting import NotDurable
from runner.result import Attempt
from runner.status import RunStatus


def check(ctx: Context, s: StepState, now: float) -> Phase:
    """Read the job's latest run: start, or do as on_running says if a run is active."""
    step, failures = s.step, phase_data(s, Checking).failures
    latest = ctx.fusion.status(step.job)
    s.contact = None
    expected = None
    if latest.terminal and latest.state in step.success.states and latest.duration:
        expected = latest.duration  # the last good run: this one likely takes as long
    if not (latest.active and latest.visible):
        before = Before(known=latest.keys, expected=expected)
        return _prepare_start(ctx, s, now, before, failures)
    return _run_active(ctx, s, now, latest, failures)


def _run_active(
    ctx: Context, s: StepState, now: float, active: RunStatus | None, failures: int
) -> Phase:
    """A run of the job is active (seen, or named by Fusion refusing our start): on_running."""
    step = s.step
    label = active.label if active else None
    if step.on_running is OnRunning.FAIL:
        ctx.end(s, Outcome.FAILED, AlreadyRunning(job=step.job, run_id=label))
        return Phase.DONE
    if step.on_running is OnRunning.ADOPT and active is not None and active.keys:
        return take(ctx, s, now, active, attempt=None, before=Before())
    if not isinstance(s.data, WaitingOther):
        s.data = WaitingOther(failures=failures)
        ctx.emit(WaitingForOther(step=step.name, run_id=label))
    s.due = now + interval(step, now - s.became_due)
    return Phase.WAIT_OTHER


def wait_other(ctx: Context, s: StepState, now: float) -> Phase:
    """on_running: wait (or adopt a run not seen yet): start once the other run has ended,
    unless the step's timeout passes first."""
    data = phase_data(s, WaitingOther)
    status = ctx.fusion.status(s.step.job)
    s.contact = None
    if not (status.active and status.visible):
        return _prepare_start(ctx, s, now, Before(known=status.keys), data.failures)
    if now - s.became_due >= s.step.timeout:
        reason = OtherRunOutlasted(run_id=status.label, limit=s.step.timeout)
        ctx.end(s, Outcome.TIMED_OUT, reason)
        return Phase.DONE
    if s.step.on_running is OnRunning.ADOPT and status.keys:
        return take(ctx, s, now, status, attempt=None, before=Before())
    s.due = now + interval(s.step, now - s.became_due)
    return Phase.WAIT_OTHER


def pick_up(ctx: Context, s: StepState, now: float) -> Phase:
    """--resume: follow the run an earlier fusion-run left going; start only if it is gone."""
    data = phase_data(s, PickingUp)
    wanted, job = frozenset(data.attempt.run_keys), s.step.job
    latest = ctx.fusion.status(job)
    s.contact = None
    found = latest if latest.keys & wanted else None
    found = found or next((r for r in ctx.fusion.runs(job) if r.keys & wanted), None)
    before = Before(known=frozenset(data.attempt.listed_before or ()))
    if found is None:
        data.attempt.outcome = AttemptOutcome.LEFT_RUNNING  # gone: what became of it is unknown
        ctx.emit(RunGone(step=s.step.name, run_id=data.attempt.run_id or min(wanted)))
        if not ctx.rejoin(s):  # its upstream has not settled in this run: wait for it
            return s.phase
        return _prepare_start(ctx, s, now, Before(known=latest.keys), 0)
    return take(ctx, s, now, found, attempt=data.attempt, before=before)


def _prepare_start(ctx: Context, s: StepState, now: float, before: Before, failures: int) -> Phase:
    """List the job's runs, so that none of them is ever taken for the one we start."""
    listed = frozenset(key for run in ctx.fusion.runs(s.step.job) for key in run.keys)
    s.data = Starting(before=replace(before, known=before.known | listed), failures=failures)
    s.due = now
    return Phase.START


# --- starting -------------------------------------------------------------------------------------


def start(ctx: Context, s: StepState, now: float) -> Phase:
    data = phase_data(s, Starting)
    before = replace(data.before, wall=ctx.clock.wall())
    attempt = _intent(s)
    attempt.requested_at, attempt.listed_before = before.wall, tuple(sorted(before.known))
    try:
        ctx.emit(StartRequested(step=s.step.name, attempt=attempt.number))  # on disk first
    except NotDurable as unwritten:  # a start the report cannot name is never sent
        ctx.end(s, Outcome.NOT_RUN, NotStarted(cause=ReportUnwritable(error=unwritten.why)))
        return Phase.DONE
    try:
        status = ctx.fusion.start(s.step.job)
    except FusionError as error:
        return _start_failed(ctx, s, now, error, before=before, failures=data.failures)
    if status.keys & before.known:  # Fusion answered with a run it listed before: an active one
        attempt.outcome = AttemptOutcome.NOT_STARTED
        return _run_active(ctx, s, now, status, data.failures)
    return take(ctx, s, now, status, attempt=attempt, before=before)


def _intent(s: StepState) -> Attempt:
    """The attempt this start is for: the open one whose start has no answer yet, or a new one."""
    attempts = s.result.attempts
    intent = open_intent(s)
    if intent is None:
        intent = Attempt(number=len(attempts) + 1, round=s.round)
        attempts.append(intent)
    return intent


def open_intent(s: StepState) -> Attempt | None:
    """The last attempt if its start was asked for but Fusion named no run for it yet."""
    last = s.result.attempts[-1] if s.result.attempts else None
    if last is None or not last.open or last.run_keys or last.adopted or not last.requested_at:
        return None
    return last


def _start_failed(
    ctx: Context, s: StepState, now: float, error: FusionError, *, before: Before, failures: int
) -> Phase:
    if error.kind is ErrorKind.CREDENTIALS:
        raise error
    if error.refused:  # a run is active (409, or accepted: false): as on_running says
        intent = open_intent(s)
        if intent is not None:
            intent.outcome = AttemptOutcome.NOT_STARTED
        return _run_active(ctx, s, now, None, failures)
    if error.maybe_applied:
        # The start may have happened: find its run before anything else, never start twice.
        ctx.emit(StartAnswerLost(step=s.step.name, error=str(error)))
        s.data = Verifying(before=before, error=error, failures=failures)
        s.due = now
        return Phase.VERIFY
    return _start_again(ctx, s, now, error, failures)


def verify(ctx: Context, s: StepState, now: float) -> Phase:
    """A start's answer was lost: follow the run it began, if Fusion shows one it did not list
    before the start (in the job's status, or in its list of runs); else start again."""
    data = phase_data(s, Verifying)
    latest = ctx.fusion.status(s.step.job)
    s.contact = None
    found = latest if is_new(data.before, latest) else None
    if found is None:
        new = [r for r in ctx.fusion.runs(s.step.job) if is_new(data.before, r)]
        found = new[-1] if new else None  # the earliest new run: the one our start began
    if found is not None:
        ctx.emit(LostStartFound(step=s.step.name, run_id=found.label))
        phase = take(ctx, s, now, found, attempt=open_intent(s), before=data.before)
        if data.stop is not None and phase is Phase.FOLLOW:  # the plan stopped meanwhile
            order_cancel(ctx, s, now, data.stop.active, data.stop.cause)
            return Phase.CANCEL
        return phase
    data.lookups += 1
    if data.lookups < VERIFY_LOOKUPS:  # Fusion may list a new run a moment late
        s.due = now + VERIFY_EVERY
        return Phase.VERIFY
    if data.stop is not None:  # no run began, and the plan stops: nothing to cancel
        ctx.end(s, data.stop.pending, data.stop.reason)
        return Phase.DONE
    if not ctx.rejoin(s):  # an earlier fusion-run's start, found never to have run
        return s.phase
    return _start_again(ctx, s, now, data.error, data.failures)


def _start_again(
    ctx: Context, s: StepState, now: float, error: FusionError | None, failures: int
) -> Phase:
    failures += 1
    if error is None or (error.kind is ErrorKind.TRANSIENT and failures < START_TRIES):
        if error is not None:
            ctx.emit(StartRetrying(step=s.step.name, error=str(error)))
        s.data = Checking(failures=failures)
        s.due = now if error is None else now + backoff(ctx.rng, failures, error)
        return Phase.CHECK
    ctx.end(s, Outcome.FAILED, StartFailed(job=s.step.job, error=str(error)))
    return Phase.DONE


def take(
    ctx: Context,
    s: StepState,
    now: float,
    status: RunStatus,
    *,
    attempt: Attempt | None,
    before: Before,
) -> Phase:
    """A run is ours now: the attempt that started it (or, for a run we adopt, a new attempt)
    follows it. A Jobs API start names no run: the attempt follows it once Fusion shows it."""
    attempts = s.result.attempts
    picked_up = attempt is not None and bool(attempt.run_keys)
    if attempt is None:  # adopting someone else's run: a start we asked for did not happen
        intent = open_intent(s)
        if intent is not None:
            intent.outcome = AttemptOutcome.NOT_STARTED
        attempt = Attempt(number=len(attempts) + 1, round=s.round, adopted=True)
        attempts.append(attempt)
    attempt.run_id, attempt.state, attempt.outcome = status.run_id, status.state, None
    s.failure = None  # an attempt runs: a retry no longer pending
    attempt.run_keys = tuple(sorted(status.keys)) or attempt.run_keys
    age = 0.0  # a run picked up has run since an earlier fusion-run asked for it: its timeout
    if picked_up and attempt.requested_at is not None:  # counts from then, not from now
        age = max(0.0, (ctx.clock.wall() - attempt.requested_at).total_seconds())
    s.data = Following(
        ours=status.keys | frozenset(attempt.run_keys),
        label=status.label or attempt.run_id,
        started=now - age,
        before=before,
        expected=before.expected,
        last_state=status.state,
        counters=status.counters,
    )
    record = attempt.cancel if picked_up else None
    if picked_up:
        label = status.label or attempt.run_keys[0]
        ctx.emit(RunPickedUp(step=s.step.name, run_id=label, attempt=attempt.number))
        if record is not None:  # an earlier fusion-run was cancelling it: the cancel goes on
            order_cancel(ctx, s, now, record.outcome, record.cause)
    else:
        ctx.emit(
            Started(
                step=s.step.name,
                run_id=status.label,
                attempt=attempt.number,
                adopted=attempt.adopted,
            )
        )
    if status.terminal and status.keys:
        if not status.run_id:  # a job view: its record in the list of runs says more
            status = whole_record(ctx, s, phase_data(s, Following), status)
        return ended(ctx, s, now, status)
    s.due = now + MIN_WAIT
    return Phase.FOLLOW if record is None else Phase.CANCEL
