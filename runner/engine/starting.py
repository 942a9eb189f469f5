"""The handlers before a run is ours: CHECK whether the job is already running, WAIT_OTHER for
someone else's run to end, PICK_UP a run an earlier fusion-run left going, START the job, and
VERIFY a start that may have begun a run, so that no job is ever started twice.

Every start is written ahead: before the request goes out, the attempt records when it was asked
and what Fusion listed before it (`StartRequested`, which the journal puts on disk at once); the
run id follows as soon as the answer arrives (`Started`). A crash between the two leaves an open
attempt with no run id, which a resume verifies exactly as a start whose answer was lost.

Which run a start began is decided by one rule: a run is ours only if Fusion did not show it
before the start (`is_new` against every run the step's status reads showed before it, the newest
runs it listed, and every run its earlier attempts had). Only the job's latest run, as its status
shows it, is ever taken for ours, and every run that could be the latest after our start was
the latest or among the newest before it: so the record stays as small as a young job's, however
many runs Fusion keeps (`runner.engine.context.RECORDED_RUNS`).

So an answer that names a run listed before is not taken for ours: if that run
has ended, the start was taken and its run shows later; if it is active, the start may have been
refused (Fusion answered with the active run) or taken (a stale answer), and the step looks for
a new run as long as a run may take to show (`IDENTIFY_WITHIN`) before it believes the refusal.
No second start goes out while the first may still show its run.
"""

from __future__ import annotations

import enum
from dataclasses import replace

from runner.engine.calling import send_call
from runner.engine.context import (
    CANCEL_GRACE,
    IDENTIFY_WITHIN,
    MIN_WAIT,
    RECORDED_RUNS,
    START_TRIES,
    VERIFY_EVERY,
    Context,
    backoff,
    interval,
    is_new,
    is_ours,
    phase_data,
)
from runner.engine.following import ended, next_read, order_cancel
from runner.engine.gating import check_gate
from runner.engine.judge import baseline
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
from runner.engine.reporter import NotDurable
from runner.engine.watch import resumed
from runner.events import (
    LostStartFound,
    RunGone,
    RunPickedUp,
    StartAnswerLost,
    Started,
    StartRequested,
    StartRetrying,
    WaitingForOther,
    WaitingToKnowLatest,
)
from runner.fusion import ErrorKind, FusionError
from runner.fusion.status import RunStatus
from runner.jobs import job_kind
from runner.outcomes import AttemptOutcome, Outcome
from runner.plan import OnRunning
from runner.reasons import (
    AlreadyRunning,
    LatestRunUnknown,
    NoNewRun,
    NotStarted,
    OtherRunOutlasted,
    ReportUnwritable,
    StartFailed,
    StartUnconfirmed,
)
from runner.result import Attempt

# A datasource run that ended so left work undone: a V2 connector's next run crawls only what it
# left (its checkpoints), so that run's counts cover a remainder.
INTERRUPTED = frozenset({"aborted", "failed"})
REFUSED_BACKOFF = 60.0  # seconds: the longest wait before a refused start is sent again


def check(ctx: Context, s: StepState, now: float) -> Phase:
    """Read the job's latest run: start, or do as on_running says if a run is active. A
    `require:` step reads the job's runs instead, and ends (`runner.engine.gating`)."""
    if s.step.gate is not None:
        return check_gate(ctx, s, now)
    if s.step.call is not None:
        return send_call(ctx, s, now)
    step, failures = s.step, phase_data(s, Checking).failures
    latest = ctx.fusion.status(step.job)
    s.contact = None
    s.saw(latest)
    expected = None
    if latest.terminal and latest.state in step.success.states and latest.duration:
        expected = latest.duration  # the last good run: this one likely takes as long
    going = _going(ctx, s, latest)
    if going is not Going.NOT:
        return _run_active(ctx, s, now, latest, failures, adoptable=going is Going.SHOWN)
    if _unknowable(latest):
        return _wait_unknowable(ctx, s, now, Phase.CHECK)
    return _prepare_start(ctx, s, now, expected, failures)


def _unknowable(latest: RunStatus) -> bool:
    """Fusion shows the job's latest run with nothing to know it by: no id, no start time (a
    view missing `lastStartTime`, or with one no calendar holds). Started now, a new run could
    not be told from it: that run, showing later with its start time, would look new."""
    return latest.visible and not latest.keys


def _wait_unknowable(ctx: Context, s: StepState, now: float, phase: Phase) -> Phase:
    """Read again until the latest run can be known, within the step's timeout."""
    if now >= s.became_due + s.step.timeout:
        return ctx.end(s, Outcome.TIMED_OUT, LatestRunUnknown(job=s.step.job, limit=s.step.timeout))
    assert isinstance(s.data, Checking | WaitingOther)
    if not s.data.unknowable:
        s.data.unknowable = True
        ctx.emit(WaitingToKnowLatest(step=s.step.name, job=s.step.job))
    s.due = now + interval(s.step, now - s.became_due)
    return phase


class Going(enum.Enum):
    """Whether the job's latest run is going, and on what evidence."""

    NOT = "not"  # no run is going, or the one a view says is going has ended
    SAID = "said"  # a job view says it is; the list of runs does not show that run yet
    SHOWN = "shown"  # a status or a record of the run shows it going


def _going(ctx: Context, s: StepState, status: RunStatus) -> Going:
    """A Jobs API job view may stay at `running` after its run ended (4.2.0's known issue),
    and the list of runs may be cut short and not show that run at all. A record lags but
    never leads: a run it shows ended has ended, and is not waited for, failed on, or adopted;
    a run only the view says is going is waited for, but adopted only once its record shows
    it going (an old run, ended long ago, would otherwise pass the step)."""
    if not (status.active and status.visible):
        return Going.NOT
    if not status.keys:  # nothing to look its record up by
        return Going.SAID
    if not status.view:  # a Spark status: the run's own
        return Going.SHOWN
    record = next((r for r in ctx.fusion.runs(s.step.job) if is_ours(status.keys, r)), None)
    if record is None:
        return Going.SAID
    return Going.NOT if record.terminal else Going.SHOWN


def _run_active(
    ctx: Context,
    s: StepState,
    now: float,
    active: RunStatus | None,
    failures: int,
    *,
    adoptable: bool,
) -> Phase:
    """A run of the job is active (seen, or named by Fusion refusing our start): on_running.
    It is adopted only if `adoptable` (shown going, not only said to be)."""
    step = s.step
    label = active.label if active else None
    if step.on_running is OnRunning.FAIL:
        return ctx.end(s, Outcome.FAILED, AlreadyRunning(job=step.job, run_id=label))
    if step.on_running is OnRunning.ADOPT and active is not None and adoptable:
        return take(ctx, s, now, active, attempt=None, before=Before())
    if not isinstance(s.data, WaitingOther):
        again = isinstance(s.data, Starting) and s.data.refusals > 0  # said at the first refusal
        s.data = WaitingOther(failures=failures)
        if not again:
            ctx.emit(WaitingForOther(step=step.name, run_id=label))
    s.due = now + interval(step, now - s.became_due)
    return Phase.WAIT_OTHER


def _refused(ctx: Context, s: StepState, now: float, failures: int) -> Phase:
    """Fusion refused the start: a run is active, it says, though none may show yet. As
    on_running says; a start refused again waits longer each time (1, 2, 4 ... 60 s), and the
    step's timeout bounds it all."""
    intent = open_intent(s)
    if intent is not None:
        intent.outcome = AttemptOutcome.NOT_STARTED
    refusals = s.data.refusals if isinstance(s.data, Starting) else 0
    phase = _run_active(ctx, s, now, None, failures, adoptable=False)
    if isinstance(s.data, WaitingOther):
        s.data.refusals = refusals + 1
        wait = min(REFUSED_BACKOFF, 2.0**refusals)
        s.due = max(s.due, min(now + wait, s.became_due + s.step.timeout))
    return phase


def wait_other(ctx: Context, s: StepState, now: float) -> Phase:
    """on_running: wait (or adopt a run not seen yet): start once the other run has ended,
    unless the step's timeout passes first."""
    data = phase_data(s, WaitingOther)
    status = ctx.fusion.status(s.step.job)
    s.contact = None
    s.saw(status)
    going = _going(ctx, s, status)
    if (going is not Going.NOT or data.refusals) and now >= s.became_due + s.step.timeout:
        run = status.label if going is not Going.NOT else None
        reason = OtherRunOutlasted(
            run_id=run,
            limit=s.step.timeout,
            refused=data.refusals,
            unadopted=s.step.on_running is OnRunning.ADOPT and going is Going.SAID,
        )
        return ctx.end(s, Outcome.TIMED_OUT, reason)
    if going is Going.NOT and _unknowable(status):
        return _wait_unknowable(ctx, s, now, Phase.WAIT_OTHER)
    if going is Going.NOT:
        return _prepare_start(ctx, s, now, None, data.failures, refusals=data.refusals)
    if s.step.on_running is OnRunning.ADOPT and going is Going.SHOWN:
        return take(ctx, s, now, status, attempt=None, before=Before())
    s.due = now + interval(s.step, now - s.became_due)
    return Phase.WAIT_OTHER


def pick_up(ctx: Context, s: StepState, now: float) -> Phase:
    """--resume: follow the run an earlier fusion-run left going; start only if it is gone, that
    is, if it has not shown for as long as a run may take to show (Fusion's lists lag: a run
    started a moment before a crash may not be listed yet)."""
    data = phase_data(s, PickingUp)
    wanted, job = frozenset(data.attempt.run_keys), s.step.job
    data.since = now if data.since is None else data.since
    latest = ctx.fusion.status(job)
    s.contact = None
    found = latest if is_ours(wanted, latest) else None
    found = found or next((r for r in ctx.fusion.runs(job) if is_ours(wanted, r)), None)
    before = Before(known=frozenset(data.attempt.listed_before or ()))
    if found is None and now < data.since + IDENTIFY_WITHIN:
        s.due = min(
            now + max(VERIFY_EVERY, interval(s.step, now - data.since)),
            data.since + IDENTIFY_WITHIN,
        )
        return Phase.PICK_UP
    if found is None:
        data.attempt.outcome = AttemptOutcome.LEFT_RUNNING  # gone: what became of it is unknown
        ctx.emit(RunGone(step=s.step.name, run_id=data.attempt.run_id or min(wanted)))
        if (waits := ctx.rejoin(s)) is not None:  # its upstream has not settled in this run
            return waits
        s.saw(latest)
        return _prepare_start(ctx, s, now, None, 0)
    return take(ctx, s, now, found, attempt=data.attempt, before=before)


def _prepare_start(
    ctx: Context,
    s: StepState,
    now: float,
    expected: float | None,
    failures: int,
    *,
    refusals: int = 0,
) -> Phase:
    """List the job's runs, so that none of the newest (RECORDED_RUNS), no run the step's status
    reads showed, and no run its attempts had, is ever taken for the one we start. If the newest
    listed is going (the job's status lags), on_running says what to do, as if the status had
    shown it."""
    listed = ctx.fusion.runs(s.step.job)
    s.saw(*listed[:RECORDED_RUNS])  # a Fusion that ignores `limit` lists them all
    for attempt in s.result.attempts:  # on --resume too: what earlier fusion-runs listed
        s.seen |= {*attempt.run_keys, *(attempt.listed_before or ())}
    newest = listed[0] if listed else None
    if newest is not None and newest.active and newest.visible:
        return _run_active(ctx, s, now, newest, failures, adoptable=True)
    accepted, remainder_of = s.step.success.states, None
    if (
        newest is not None
        and newest.state in INTERRUPTED
        and job_kind(s.step.job)[0] == "datasource"
    ):
        remainder_of = newest.label
    before = Before(
        known=frozenset(s.seen),
        ended=frozenset(s.seen_ended),
        active=frozenset(s.seen_active),
        expected=expected,
        previous=next((r for r in listed if r.terminal and r.state in accepted), None),
        remainder_of=remainder_of,
    )
    s.data = Starting(before=before, failures=failures, refusals=refusals)
    s.due = now
    return Phase.START


# --- starting -------------------------------------------------------------------------------------


def start(ctx: Context, s: StepState, now: float) -> Phase:
    data = phase_data(s, Starting)
    before = replace(data.before, wall=ctx.clock.wall())
    attempt = _intent(s)
    attempt.requested_at, attempt.listed_before = before.wall, tuple(sorted(before.known))
    attempt.previous = None if before.previous is None else baseline(before.previous)
    attempt.remainder_of = before.remainder_of
    try:
        ctx.emit(StartRequested(step=s.step.name, attempt=attempt.number))  # on disk first
    except NotDurable as unwritten:  # a start the report cannot name is never sent
        return ctx.end(s, Outcome.NOT_RUN, NotStarted(cause=ReportUnwritable(error=unwritten.why)))
    try:
        status = ctx.fusion.start(s.step.job)
    except FusionError as error:
        return _start_failed(ctx, s, now, error, before=before, failures=data.failures)
    if status.keys & before.known:  # a run listed before: not ours, whatever its state
        if status.active and not before.revived(status):
            # Fusion refused, answering with the active run; or took the start, answering with
            # a stale status: look for a new run before believing the refusal
            return _verify(ctx, s, now, before, error=None, failures=data.failures)
        # taken: the answer shows an ended run, or an old id on a new run; ours shows later
        status = RunStatus(job=status.job, run_id=None, state="starting")
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
    if error.kind is ErrorKind.INTERRUPTED and not error.maybe_applied:
        raise error  # a signal came before the start went: the stop says how the step ends
    if error.held:  # not sent while Fusion asks for quiet: look at the job again after it,
        s.data = Checking(failures=failures)  # as what Fusion showed before may have changed
        s.due = ctx.clock.monotonic() + (error.retry_after or 0.0)
        return Phase.CHECK
    if error.refused:  # a run is active (409, or accepted: false): as on_running says
        return _refused(ctx, s, now, failures)
    if error.maybe_applied:
        # The start may have happened: find its run before anything else, never start twice.
        ctx.emit(StartAnswerLost(step=s.step.name, error=str(error)))
        return _verify(ctx, s, now, before, error=error, failures=failures)
    return _start_again(ctx, s, now, error, failures)


def _verify(
    ctx: Context,
    s: StepState,
    now: float,
    before: Before,
    *,
    error: FusionError | None,
    failures: int,
) -> Phase:
    s.data = Verifying(before=before, error=error, asked=now, failures=failures)
    s.due = now
    return Phase.VERIFY


def verify(ctx: Context, s: StepState, now: float) -> Phase:
    """A start may have begun a run that Fusion has not shown: follow it once the job's status
    (its latest run) shows a run that Fusion did not list before the start. Only
    when none has shown for as long as a run may take to show (IDENTIFY_WITHIN) is the start
    taken as never having begun one, and sent again, in the same attempt. A run found late has
    run since the start: the step's timeout counts from then, and may already have passed."""
    data = phase_data(s, Verifying)
    intent = open_intent(s)
    if data.asked is None:  # an earlier fusion-run's start: its time is on record
        asked = intent.requested_at if intent is not None else None
        waited = 0.0 if asked is None else (ctx.clock.wall() - asked).total_seconds()
        data.asked = now - max(0.0, waited)
    latest = ctx.fusion.status(s.step.job)
    s.contact = None
    found = latest if is_new(data.before, latest) else None  # the job's latest run: a list
    if found is None:  # cut short may show an old run that it did not show before the start
        listed = ctx.fusion.runs(s.step.job)
        data.revived = data.revived or any(map(data.before.revived, [latest, *listed]))
    if found is not None:
        ctx.emit(LostStartFound(step=s.step.name, run_id=found.label))
        phase = take(ctx, s, now, found, attempt=intent, before=data.before)
        if data.stop is not None and phase is Phase.FOLLOW:  # the plan stopped meanwhile
            order_cancel(ctx, s, now, data.stop.active, data.stop.cause)
            return Phase.CANCEL
        return phase
    if now < data.asked + IDENTIFY_WITHIN:  # Fusion may list a new run late
        if data.stop is not None and now >= data.stop.at + CANCEL_GRACE:
            return ctx.leave(s, StartUnconfirmed(cause=data.stop.cause))  # may have begun: named
        wait = max(VERIFY_EVERY, interval(s.step, now - data.asked))
        ends = [data.asked + IDENTIFY_WITHIN]
        if data.stop is not None:
            ends.append(data.stop.at + CANCEL_GRACE)
        s.due = min(now + wait, *ends)
        return Phase.VERIFY
    if data.revived or (intent is not None and intent.accepted):
        # Fusion took the start, or a new run showed under an old id: a run began, and cannot
        # be told apart from the ones before; it is never started again
        return ctx.leave(s, NoNewRun(job=s.step.job, waited=IDENTIFY_WITHIN))
    if data.stop is not None:  # no run began, and the plan stops: nothing to cancel
        return ctx.end(s, data.stop.pending, data.stop.reason)
    if (waits := ctx.rejoin(s)) is not None:  # an earlier start, found never to have run
        return waits
    return _start_again(ctx, s, now, data.error, data.failures, looked=now - data.asked)


def _start_again(
    ctx: Context,
    s: StepState,
    now: float,
    error: FusionError | None,
    failures: int,
    *,
    looked: float = 0.0,
) -> Phase:
    failures += 1
    if error is None or (error.kind is ErrorKind.TRANSIENT and failures < START_TRIES):
        s.due = now
        if error is not None:
            s.due += backoff(ctx.rng, failures, error)
            if s.due > s.became_due + s.step.timeout:  # a Retry-After (or backoff) past it
                why = f"{error}; its next try would come after the step's timeout"
                return ctx.end(s, Outcome.TIMED_OUT, StartFailed(job=s.step.job, error=why))
            ctx.emit(StartRetrying(step=s.step.name, error=str(error), looked=looked))
        s.data = Checking(failures=failures)
        return Phase.CHECK
    return ctx.end(s, Outcome.FAILED, StartFailed(job=s.step.job, error=str(error)))


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
    follows it. A start whose answer names no run is followed until Fusion shows which is ours.
    Nothing here asks Fusion anything: the step is in its new phase, with its new data, before
    the next request, whatever that request meets."""
    attempts = s.result.attempts
    picked_up = attempt is not None and bool(attempt.run_keys)
    if attempt is None:  # adopting someone else's run: a start we asked for did not happen
        intent = open_intent(s)
        if intent is not None:
            intent.outcome = AttemptOutcome.NOT_STARTED
        attempt = Attempt(number=len(attempts) + 1, round=s.round, adopted=True)
        attempts.append(attempt)
    # a job view names no run: a run picked up keeps the id the earlier report gave it
    attempt.run_id = status.run_id or attempt.run_id
    attempt.state, attempt.outcome = status.state, None
    attempt.accepted = attempt.accepted or not (status.keys or attempt.run_keys)
    s.failure = None  # an attempt runs: a retry no longer pending
    attempt.run_keys = tuple(sorted(status.keys | frozenset(attempt.run_keys)))
    age = 0.0  # our run began when we asked for it (an earlier fusion-run, perhaps): its
    if attempt.requested_at is not None and not attempt.adopted:  # timeout counts from then
        age = max(0.0, (ctx.clock.wall() - attempt.requested_at).total_seconds())
    s.data = Following(
        ours=frozenset(attempt.run_keys),
        label=status.run_id or attempt.run_id or status.label,
        started=now - age,
        before=before,
        expected=before.expected,
        last_state=status.state,
        counters=status.counters,
    )
    record = attempt.cancel if picked_up else None
    if picked_up:
        resumed(s.data, attempt.warned)
        label = attempt.run_id or status.label or attempt.run_keys[0]
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
    if status.terminal and status.keys and not status.view and record is None:
        return ended(ctx, s, now, status)  # a record of our run, ended already
    s.due = now if status.terminal else now + MIN_WAIT  # a view's end is read again, whole
    if record is None and not status.terminal:  # the first read: as poll_interval says
        next_read(s, s.data, now, Phase.FOLLOW)
    return Phase.FOLLOW if record is None else Phase.CANCEL
