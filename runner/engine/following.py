"""The handlers of a run that is ours: FOLLOW reads its status and judges it when it ends, CANCEL
follows a run we asked Fusion to cancel, RETRY_DELAY waits out the delay before the next attempt.

A status is ours only if it is the run the start began (`runner.fusion.status.RunStatus.keys`);
Fusion's "latest run" can still be the previous one right after a start, and after `STALE_READS`
such reads we look ours up in the list of runs. When to read next is `runner.engine.polling`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from runner import wording
from runner.criteria import CriterionName, Level
from runner.engine import polling
from runner.engine.context import (
    CANCEL_GRACE,
    HISTORY_EVERY,
    IDENTIFY_WITHIN,
    JITTER,
    MIN_WAIT,
    STALE_READS,
    Context,
    interval,
    is_new,
    is_ours,
    phase_data,
)
from runner.engine.evidence import keep_evidence, said
from runner.engine.judge import judge
from runner.engine.phases import CancelOrder, Checking, Following, Phase, StepState
from runner.engine.watch import counted, due, watch
from runner.events import (
    ActiveRun,
    CancelFailed,
    Cancelling,
    CriterionNoted,
    CriterionWarned,
    FinalStatus,
    RetriesUnused,
    Retrying,
    RunIdentified,
    StateChanged,
)
from runner.fusion import ErrorKind, FusionError
from runner.fusion.status import RunStatus, with_counters_of
from runner.jobs import CANCELLED
from runner.outcomes import AttemptOutcome, Outcome
from runner.plan import RetryOn
from runner.reasons import (
    Cancelled,
    CancelUnconfirmed,
    Cause,
    CriteriaFailed,
    HistorySilent,
    NoNewRun,
    PlanTimeout,
    Reason,
    Stalled,
    StepTimeout,
    Unconfirmed,
)
from runner.result import Attempt, CancelRecord


def follow(ctx: Context, s: StepState, now: float) -> Phase:
    """Read our run's status; judge it when it ends; cancel it when the step's timeout passes,
    or when it stalled and on_stall is cancel (it is late or stalled: `runner.engine.watch`).
    Fusion took the start but shows no new run: after IDENTIFY_WITHIN, the step stops following
    (the run may be going; the report keeps the start open for --resume). A job view says our
    run ended but the history never lists it: after IDENTIFY_WITHIN, the same (a view's status
    may be another run's, so the run is never judged on it)."""
    data = phase_data(s, Following)
    status = _read_our_run(ctx, s, data, now)
    if status is not None and status.terminal:
        return ended(ctx, s, now, status)
    if not data.ours and now >= data.started + IDENTIFY_WITHIN:
        return ctx.leave(s, NoNewRun(job=s.step.job, waited=IDENTIFY_WITHIN))
    if data.view_ended is not None and now >= data.view_ended + IDENTIFY_WITHIN:
        return ctx.leave(s, HistorySilent(run_id=data.label, waited=IDENTIFY_WITHIN))
    phase = Phase.FOLLOW
    if now >= data.started + s.step.timeout:
        order_cancel(ctx, s, now, Outcome.TIMED_OUT, StepTimeout(limit=s.step.timeout))
        phase = Phase.CANCEL
    elif (stall := watch(ctx, s, data, now)) is not None:
        order_cancel(ctx, s, now, Outcome.FAILED, stall)
        phase = Phase.CANCEL
    next_read(s, data, max(now, ctx.clock.monotonic()), phase)  # counted from the answer
    return phase


def cancel(ctx: Context, s: StepState, now: float) -> Phase:
    """Follow a run we asked Fusion to cancel, until Fusion shows it ended. A cancel that did not
    get through is sent again (faults are ridden out as for any request). If Fusion has not shown
    the run ended when the grace passes, the step is left with its run, which may still be going:
    the report keeps it for --resume, and never calls it cancelled."""
    data = phase_data(s, Following)
    order = data.cancel
    assert order is not None
    if not order.sent:
        try:
            _send_cancel(ctx, s, data, order)
        except FusionError as error:
            if error.kind is ErrorKind.INTERRUPTED or now < order.deadline:
                raise  # tried again after a backoff, within the grace
            # the grace passed and the cancel never got through: read once more, then leave
    status = _read_our_run(ctx, s, data, now)
    if status is not None and status.terminal:
        return ended(ctx, s, now, status)
    if now >= order.deadline:  # only after a read: a run that did end is never left
        why = Unconfirmed.GRACE_PASSED
        reason = CancelUnconfirmed(
            cause=order.cause, run_id=data.label, why=why, grace=CANCEL_GRACE
        )
        return ctx.leave(s, reason)
    next_read(s, data, max(now, ctx.clock.monotonic()), Phase.CANCEL)
    return Phase.CANCEL


def _send_cancel(ctx: Context, s: StepState, data: Following, order: CancelOrder) -> None:
    """Send the cancel. Its grace counts from its answer, not from when it was ordered: other
    requests before it (another step's cancel that hangs, say) take none of it."""
    try:
        ctx.fusion.cancel(s.step.job)
    except FusionError as error:
        if not order.warned and error.kind is not ErrorKind.INTERRUPTED:
            order.warned = True
            ctx.warn(CancelFailed(step=s.step.name, run_id=data.label, error=str(error)))
        raise
    order.sent = True
    order.deadline = ctx.clock.monotonic() + CANCEL_GRACE


def order_cancel(ctx: Context, s: StepState, now: float, outcome: Outcome, cause: Cause) -> None:
    """Decide to cancel our run; the step's outcome will be `outcome` once Fusion confirms. The
    order goes into the attempt, and so into the report, before the CANCEL handler sends it
    (at the next pass, after the journal has written the report): a fusion-run killed in
    between leaves a resume what the cancel meant. A send that fails is a warning, and is sent
    again."""
    data = phase_data(s, Following)
    s.result.attempts[-1].cancel = CancelRecord(outcome=outcome, cause=cause)
    data.cancel = CancelOrder(
        outcome=outcome, cause=cause, ordered=now, deadline=now + CANCEL_GRACE
    )
    ctx.emit(Cancelling(step=s.step.name, run_id=data.label, cause=cause))
    s.due = now + MIN_WAIT


def _read_our_run(ctx: Context, s: StepState, data: Following, now: float) -> RunStatus | None:
    """Our run's status, or None while Fusion shows another run (looked up in the list of runs
    after a few such reads). Until Fusion shows which run is ours, the first run it did not list
    before our start is taken for it. A Jobs API view is never taken for our run's state (its
    status may be another run's): our run's record in the history is, read when the view says
    the run ended and every few reads while it says it goes (a view can stay stuck)."""
    status = ctx.fusion.status(s.step.job)
    s.contact = None
    attempt = s.result.attempts[-1]
    attempt.status_reads += 1
    data.reads += 1
    if not data.ours and is_new(data.before, status):
        _identify(ctx, s, data, status)
    if not is_ours(data.ours, status) or not status.visible:
        data.stale += 1
        found = look_up(ctx, s, data) if data.stale >= STALE_READS else None
        if found is None:
            return None
        status = found
    elif status.view:
        if status.terminal and data.view_ended is None:
            data.view_ended = now
        record = None
        if status.terminal or data.reads % HISTORY_EVERY == 0:
            record = look_up(ctx, s, data)
        if record is None or not record.terminal:  # the view is shown (the console's); never
            _shown(ctx, s, data, status, now)  # judged
            return None
        status = with_counters_of(record, status)
    data.stale = 0
    _shown(ctx, s, data, status, now)
    return status


def _shown(ctx: Context, s: StepState, data: Following, status: RunStatus, now: float) -> None:
    """What a read showed of our run: its state and counters, and when it was seen going (what
    fusion-run saw of its duration)."""
    s.result.attempts[-1].state, data.counters = status.state, status.counters
    counted(data, status, now)
    polling.shown(data, status, now)
    if status.active and status.visible:
        data.first_active = now if data.first_active is None else data.first_active
        data.last_active, data.going_read = now, data.reads
    if status.state != data.last_state:
        data.last_state = status.state
        if not status.terminal:
            ctx.emit(StateChanged(step=s.step.name, state=status.state))


def _identify(ctx: Context, s: StepState, data: Following, status: RunStatus) -> None:
    """Our run, at last: the job's latest run, as its status (or view) shows it, when Fusion
    did not list it before our start. Only the latest: a list of runs cut short (a `limit`, its
    order, a retention) may show an old run that was not listed before it. A job view names no
    run: its record in the list of runs may (if Fusion lists it yet)."""
    attempt = s.result.attempts[-1]
    data.ours, data.label, data.last_state = status.keys, status.label, status.state
    attempt.run_id, attempt.run_keys = status.run_id, tuple(sorted(status.keys))
    if not status.run_id:
        look_up(ctx, s, data)
    ctx.emit(RunIdentified(step=s.step.name, run_id=data.label or "?", state=status.state))


def look_up(ctx: Context, s: StepState, data: Following) -> RunStatus | None:
    """Our run in the list of runs (None before Fusion's status has shown which run is ours).
    What its record adds to what identifies ours is kept."""
    if not data.ours:
        return None
    runs = ctx.fusion.runs(s.step.job)
    run = next((r for r in runs if is_ours(data.ours, r)), None)
    if run is not None and not run.keys - data.before.known <= data.ours:
        attempt = s.result.attempts[-1]
        data.ours |= run.keys - data.before.known  # an id an earlier run had is no run's mark
        data.label = run.label if run.run_id else data.label
        attempt.run_id = attempt.run_id or run.run_id
        attempt.run_keys = tuple(sorted(data.ours))
    return run


def next_read(s: StepState, data: Following, now: float, phase: Phase) -> None:
    """When to read again: as poll_interval says (`runner.engine.polling`; while cancelling, a
    tenth of the cancel's age), but never past a deadline, so that a timeout, the end of a
    cancellation's grace, warn_after or stall_after (`runner.engine.watch.due`) is acted on
    when it falls due."""
    if phase is Phase.CANCEL:
        assert data.cancel is not None
        wait = interval(s.step, now - data.cancel.ordered)
        deadline = data.cancel.deadline
    else:
        wait = polling.next_wait(s.step, data, now)
        wait = min([wait, *(at - now for at in due(s.step, data) if at > now)])
        deadline = data.started + s.step.timeout
    s.due = now + (wait if deadline <= now else min(wait, deadline - now))


# How an attempt whose run we cancelled ends, by the step's outcome the cancel was for: a run
# cancelled because it stalled failed, as a criterion it did not meet (retry_on: criteria).
_CANCELLED_AS = {Outcome.TIMED_OUT: AttemptOutcome.TIMED_OUT, Outcome.FAILED: AttemptOutcome.FAILED}


def ended(ctx: Context, s: StepState, now: float, status: RunStatus) -> Phase:
    """Our run ended: record it, then judge it (or close the cancellation), retry or end."""
    data = phase_data(s, Following)
    attempt = s.result.attempts[-1]
    observed = ctx.clock.monotonic() - data.started  # to the answer that showed it ended:
    wall = ctx.clock.wall()  # `now` came before the pass's other requests, which may hang
    attempt.state = status.state
    attempt.duration = _duration(data, status, None if attempt.adopted else observed)
    attempt.started_at = status.started or wall - timedelta(seconds=observed)
    attempt.ended_at = status.ended or wall
    attempt.error = status.message
    attempt.result = status.reported
    ctx.emit(FinalStatus(step=s.step.name, run_id=data.label, status=status.raw))
    order = data.cancel
    ended_on_its_own = (
        order is not None
        and status.state not in CANCELLED
        and (order.outcome is Outcome.CANCELLED or _ended_before(data, order, attempt.duration))
    )
    if order is not None and not ended_on_its_own:
        attempt.criteria = []
        attempt.outcome = _CANCELLED_AS.get(order.outcome, AttemptOutcome.CANCELLED)
        cancelled = Cancelled(cause=order.cause, run_id=data.label)
        if isinstance(order.cause, StepTimeout) and _retry(ctx, s, now, RetryOn.TIMEOUT, cancelled):
            return Phase.RETRY_DELAY
        if isinstance(order.cause, Stalled) and _retry(ctx, s, now, RetryOn.CRITERIA, cancelled):
            return Phase.RETRY_DELAY
        return ctx.end(s, order.outcome, cancelled)
    attempt.criteria = judge(
        status,
        s.step.success,
        duration=attempt.duration,
        previous=attempt.previous,
        remainder_of=attempt.remainder_of,
    )
    for criterion in attempt.criteria:
        if criterion.level is Level.WARN and not criterion.passed:
            ctx.warn(CriterionWarned(step=s.step.name, run_id=data.label, criterion=criterion))
        elif wording.note(criterion):
            ctx.emit(CriterionNoted(step=s.step.name, run_id=data.label, criterion=criterion))
    failed = tuple(c for c in attempt.criteria if not c.passed and c.level is Level.FAIL)
    if not failed:
        attempt.outcome = AttemptOutcome.SUCCEEDED
        return ctx.end(s, Outcome.SUCCEEDED, None)
    attempt.outcome = AttemptOutcome.FAILED
    reason = CriteriaFailed(criteria=failed)
    state_failed = failed[0].name is CriterionName.STATE
    if state_failed:  # before the step ends: the report that says it failed holds why
        keep_evidence(ctx, s, attempt)
    if _retry(ctx, s, now, RetryOn.STATE if state_failed else RetryOn.CRITERIA, reason):
        return said(ctx, s, attempt, Phase.RETRY_DELAY)
    return said(ctx, s, attempt, ctx.end(s, Outcome.FAILED, reason))


def _ended_before(data: Following, order: CancelOrder, duration: float | None) -> bool:
    """A run cancelled for a timeout ended on its own before the cancel was ordered, by its
    duration (the longer of Fusion's and what fusion-run saw): the timeout never had to act;
    a Retry-After, or a request that hung, only kept fusion-run from seeing the end in time.
    Judged as it ended, it is not retried for a timeout it did not overstay."""
    timeout = isinstance(order.cause, StepTimeout | PlanTimeout)
    return timeout and duration is not None and data.started + duration <= order.ordered


def _duration(data: Following, status: RunStatus, observed: float | None) -> float | None:
    """The run's duration: Fusion's, or what fusion-run saw of it going if that is longer
    (Fusion 4.2.1 may give a run identical start and end times). With no duration from Fusion:
    `observed`, from our start to the read that saw it ended, which the run cannot have
    outlasted; for a run adopted, which began before we saw it, none is known. Fusion's
    `duration` field has no documented unit: read as seconds where that fits `observed` (the
    longer reading is the one `max_duration` cannot wrongly pass; whole seconds, rounded or cut,
    up to a second longer, as far as `observed` allows), as milliseconds otherwise; for a run
    adopted, nothing bounds it, and none is known."""
    if status.duration is None:
        return observed
    duration = status.duration
    if status.unit_assumed:  # Fusion's `duration` field, its unit unknown: ms, or seconds?
        if observed is None:
            return None  # a run adopted: either could be, and nothing bounds it
        if duration * 1000 <= observed + 1:  # in seconds (whole, perhaps) it fits what we saw
            duration *= 1000
            if duration.is_integer():  # whole seconds hide up to one: as long as we saw it
                duration = max(duration, min(duration + 1, observed))
    seen = 0.0
    if data.first_active is not None and data.last_active is not None:
        seen = data.last_active - data.first_active
    return max(duration, seen)


def _retry(ctx: Context, s: StepState, now: float, kind: RetryOn, reason: Reason) -> bool:
    """Wait out the retry delay before the next attempt, if the step retries this `kind` and
    has retries left in this round (attempts cancelled by fusion-run stopping do not count)."""
    step, failed = s.step, failures_in_round(s.result.attempts, s.round)
    if failed > step.retries or not ctx.may_start():
        return False
    if kind not in step.retry_on:  # retries left, unused: a word, as it is easy to miss
        retry_on = tuple(sorted(named.value for named in step.retry_on))
        left = step.retries - failed + 1
        ctx.warn(
            RetriesUnused(
                step=step.name,
                failure=kind.value,
                retries=left,
                retry_on=retry_on,
                call=step.call is not None,
            )
        )
        return False
    delay = step.retry_delay * step.retry_backoff ** (failed - 1)
    delay *= 1 + ctx.rng.uniform(-JITTER, JITTER)
    attempt = s.result.attempts[-1].number
    ctx.emit(Retrying(step=step.name, attempt=attempt, reason=reason, delay=delay))
    s.data, s.failure = None, reason
    s.due = s.became_due = now + delay
    return True


def failures_in_round(attempts: list[Attempt], round_: int) -> int:
    """The attempts of `round_` that failed or timed out: what `retries` counts."""
    counted = (AttemptOutcome.FAILED, AttemptOutcome.TIMED_OUT)
    return sum(1 for a in attempts if a.round == round_ and a.outcome in counted)


def retry_delay(ctx: Context, s: StepState, now: float) -> Phase:
    """The retry delay is over: the next attempt begins with a check (or, for a step --resume
    began before its upstream settled, once its upstream has)."""
    if (waits := ctx.rejoin(s)) is not None:
        return waits
    s.data = Checking()
    s.due = now
    return Phase.CHECK


def active_runs(states: Iterable[StepState], now: float) -> tuple[ActiveRun, ...]:
    """The runs being followed, for the console's live line and heartbeats."""
    return tuple(
        ActiveRun(
            step=state.step.name,
            phase=state.phase.value,
            age=now - state.data.started,
            run_id=state.data.label,
            state=state.data.last_state,
            counters=state.data.counters,
        )
        for state in states
        if state.active and isinstance(state.data, Following) and state.data.label
    )
