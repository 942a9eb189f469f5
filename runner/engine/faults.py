"""A request about a step failed: what the engine does, by the kind of failure (`ErrorKind`).

Refused credentials stop the plan at once. Fusion's own answer (a 4xx, or 500s past
`SERVER_ERROR_TRIES`) ends the step as its phase says. A transient fault is retried with backoff
within the plan's `retry_budget`, measured from the first failure of the step's present contact;
past it, contact is lost. Neither holds up a step's timeout nor a cancel's grace.
"""

from __future__ import annotations

import math

from runner.engine.context import CANCEL_GRACE, SERVER_ERROR_TRIES, backoff
from runner.engine.following import order_cancel
from runner.engine.phases import Contact, Following, Phase, StepState
from runner.engine.stopping import Plant, stop_following
from runner.engine.stops import STOPS, Order, Stop, run_of
from runner.events import ContactLost
from runner.fusion import ErrorKind, FusionError
from runner.fusion.auth import refused
from runner.outcomes import Outcome
from runner.reasons import (
    CancelUnconfirmed,
    CredentialsRefused,
    FusionAnswered,
    Interrupted,
    LostContact,
    StepTimeout,
    Unconfirmed,
)


def fusion_error(engine: Plant, state: StepState, now: float, error: FusionError) -> Phase:
    """The phase the step is in after `error`. Out of contact since the pass that sent the
    request began (`now`), by the clock as it is now: a request that hung for its whole
    timeout counts."""
    if error.kind is ErrorKind.INTERRUPTED:  # the signal is acted on in the next pass
        return state.phase
    if error.kind is ErrorKind.CREDENTIALS:
        engine.result.error = CredentialsRefused(error=refused(error))
        stop_following(engine, engine.result.error, engine.clock.monotonic())
        return Phase.DONE
    if error.held:
        return _held(engine, state, now, error)
    contact = state.contact = state.contact or Contact(since=now)
    if error.status == 500 or error.unreadable:  # Fusion's own fault, and it may go on
        contact.server_errors += 1
    if error.kind is not ErrorKind.TRANSIENT or contact.server_errors >= SERVER_ERROR_TRIES:
        return _give_up(engine, state, FusionAnswered(error=str(error)))
    if contact.failures == 0:
        engine.emit(ContactLost(step=state.step.name, error=str(error)))
    failed_at = engine.clock.monotonic()
    budget_ends = contact.since + engine.plan.fusion.retry_budget  # kept to, not overrun
    if error.retry_after is not None and state.phase in (Phase.FOLLOW, Phase.CANCEL):
        budget_ends = math.inf  # Fusion answered, asking for quiet: a run followed is not given
        # up for it, however long it asks; its timeout, or the cancel's grace, still holds
    if failed_at >= budget_ends:  # compared as `due` will be: never due now, then not over
        lost = LostContact(seconds=failed_at - contact.since, error=str(error))
        return _give_up(engine, state, lost)
    contact.failures += 1
    wait = backoff(engine.rng, contact.failures, error)
    if state.phase is Phase.FOLLOW and not state.step.poll_auto:  # reads no closer than asked
        wait = max(wait, state.step.poll_interval)
    state.due = min(failed_at + wait, budget_ends)
    return _keeping_deadlines(engine, state, now)


def _held(engine: Plant, state: StepState, now: float, error: FusionError) -> Phase:
    """A request not sent while Fusion asks for quiet: Fusion answered (it is no fault of
    contact), so the step only waits for the quiet to end, keeping its deadlines."""
    state.due = engine.clock.monotonic() + (error.retry_after or 0.0)
    return _keeping_deadlines(engine, state, now)


def _keeping_deadlines(engine: Plant, state: StepState, now: float) -> Phase:
    """The step, due again at `state.due`, as its deadlines allow: a timeout that passed while
    Fusion would not answer cancels the run now, and a cancel's grace ends the cancel."""
    data = state.data
    if state.phase is Phase.FOLLOW and isinstance(data, Following):  # a Retry-After of
        deadline = data.started + state.step.timeout  # minutes does not hold a timeout up
        if deadline > now:
            state.due = min(state.due, deadline)
        elif data.cancel is None:  # it passed while Fusion would not answer: cancel now
            timeout = StepTimeout(limit=state.step.timeout)
            order_cancel(engine, state, now, Outcome.TIMED_OUT, timeout)
            state.due = now
            return Phase.CANCEL
    order = data.cancel if isinstance(data, Following) else None
    if order is not None:  # the grace bounds a cancel, and ends it
        if now >= order.deadline:
            why = CancelUnconfirmed(
                cause=order.cause,
                run_id=run_of(state),
                why=Unconfirmed.GRACE_PASSED,
                grace=CANCEL_GRACE,
            )
            return engine.leave(state, why)
        state.due = min(state.due, order.deadline)
    return state.phase


def _give_up(engine: Plant, state: StepState, why: FusionAnswered | LostContact) -> Phase:
    """Fusion cannot be asked about the step any more: as its phase says (`STOPS`)."""
    order = Order(stop=Stop.LOST, cause=Interrupted(), why=why)
    STOPS[state.phase][Stop.LOST](engine, state, engine.clock.monotonic(), order)
    return Phase.DONE
