"""How a step stops, by its phase: the one table (`STOPS`) of what each phase does when the plan
stops, beside the one table of what it does when it is due (`runner.engine.handlers.HANDLERS`).

A plan stops in four ways (`Stop`), and every phase says what each means for a step in it:

    phase        CANCEL             LEAVE              GIVE_UP             LOST
    UPSTREAM     never began        never began        never began         never began
    CHECK        not started*       not started*       not started*        failed
    WAIT_OTHER   not started*       not started*       not started*        failed
    START        not started*       not started*       not started*        failed
    RETRY_DELAY  not started*       not started*       not started*        failed
    PICK_UP      cancel its run     left going         left going          may be going
    VERIFY       look on, cancel    start unconfirmed  start unconfirmed   may be going
    FOLLOW       cancel its run     left going         cancel unconfirmed  may be going
    CANCEL       (cancelling)       left going         cancel unconfirmed  may be going
    DONE         -                  -                  -                   -

    * a step whose last attempt failed and was to be retried ends with that failure, not retried

"Not started" needs no run of the step's to be going; every phase in which one may be going
leaves it named in the report (left going, cancel or start unconfirmed, may be going), so that
--resume finds it: no phase ends as "not started" while its run goes on. A test checks that every
phase has a row, and that no row of such a phase says "not started".
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runner.engine.context import Context
from runner.engine.following import order_cancel
from runner.engine.phases import (
    Before,
    Following,
    Phase,
    PickingUp,
    StepState,
    StopOrder,
    Verifying,
)
from runner.outcomes import AttemptOutcome, Outcome
from runner.reasons import (
    CancelUnconfirmed,
    Cause,
    FusionAnswered,
    LostContact,
    MayBeRunning,
    NotStarted,
    Reason,
    RetryStopped,
    StartUnconfirmed,
    StillRunning,
    Unconfirmed,
)


class Stop(enum.Enum):
    CANCEL = "cancel"  # the plan stops: runs going are cancelled (fail_fast, its timeout, a signal)
    LEAVE = "leave"  # fusion-run stops at once: runs go on (a detach, credentials refused)
    GIVE_UP = "give up"  # a second signal: stop waiting for Fusion
    LOST = "lost"  # Fusion cannot be asked about this step any more (contact lost, an error)


@dataclass(frozen=True, kw_only=True, slots=True)
class Order:
    stop: Stop
    cause: Cause  # why the plan stops (for LOST, why Fusion cannot be asked: `why`)
    active: Outcome = Outcome.CANCELLED  # a run cancelled, or a retry that will not happen
    pending: Outcome = Outcome.NOT_RUN  # a step that started nothing
    why: FusionAnswered | LostContact | None = None  # LOST only


class Stopping(Context, Protocol):
    """What a stop may do to a step, beyond a handler's `Context`."""

    def close(
        self, s: StepState, outcome: Outcome | None, reason: Reason | None, *, announce: bool
    ) -> None: ...
    def move(self, s: StepState, phase: Phase) -> None: ...


Action = Callable[[Stopping, StepState, float, Order], None]


def _finish(ctx: Stopping, s: StepState, outcome: Outcome | None, reason: Reason, o: Order) -> None:
    """End the step: quietly, when fusion-run stops at once (LEAVE), as any end otherwise."""
    if o.stop is Stop.LEAVE:
        ctx.close(s, outcome, reason, announce=False)
    else:
        ctx.end(s, outcome, reason)


def not_started(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """Nothing of the step's runs in Fusion: it ends `pending`, or, if it failed and was to
    retry, with that failure (`active`, or cancelled for a stop that cancels nothing)."""
    if s.failure is not None:
        outcome = o.active if o.stop is Stop.CANCEL else Outcome.CANCELLED
        _finish(ctx, s, outcome, RetryStopped(failure=s.failure, cause=o.cause), o)
    else:
        outcome = o.pending if o.stop is not Stop.GIVE_UP else Outcome.CANCELLED
        _finish(ctx, s, outcome, NotStarted(cause=o.cause), o)


def never_began(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """A step still waiting for its upstream: the scheduler has it already (its `stop`)."""
    ctx.close(s, o.pending, NotStarted(cause=o.cause), announce=o.stop is not Stop.LEAVE)


def failed(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    assert o.why is not None
    ctx.end(s, Outcome.FAILED, o.why)


def cancel_run(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """Cancel the step's run; it ends `active` once Fusion shows the run ended."""
    if isinstance(s.data, PickingUp):  # followed again, without a read yet
        attempt = s.data.attempt
        s.data = Following(
            ours=frozenset(attempt.run_keys),
            label=attempt.run_id or next(iter(attempt.run_keys), None),
            started=now,
            before=Before(known=frozenset(attempt.listed_before or ())),
        )
    ctx.move(s, Phase.CANCEL)
    order_cancel(ctx, s, now, o.active, o.cause)


def look_on(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """A start that may have begun a run: go on looking for it, for a cancel's grace at most,
    and cancel it if found; if not, the start stays open in the report, for --resume."""
    assert isinstance(s.data, Verifying)
    s.data.stop = StopOrder(active=o.active, pending=o.pending, cause=o.cause, at=now)


def cancelling(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """Already cancelling its run: it goes on, and ends as its cancel says."""


def left_going(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """Stop following the step's run, which goes on in Fusion, named in the report."""
    attempt = s.data.attempt if isinstance(s.data, PickingUp) else s.result.attempts[-1]
    attempt.outcome = AttemptOutcome.LEFT_RUNNING
    label = attempt.run_id or next(iter(attempt.run_keys), None)
    _finish(ctx, s, None, StillRunning(run_id=label, cause=o.cause), o)


def start_unconfirmed(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """The start may have begun a run not found yet: the report keeps it open for --resume."""
    _finish(ctx, s, None, StartUnconfirmed(cause=o.cause), o)


def cancel_unconfirmed(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """Stop waiting for Fusion to show the run ended: it may still be going."""
    assert isinstance(s.data, Following)
    cause = s.data.cancel.cause if s.data.cancel else o.cause
    why = Unconfirmed.INTERRUPTED_AGAIN
    ctx.leave(s, CancelUnconfirmed(cause=cause, run_id=s.data.label, why=why))


def may_be_running(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """Fusion cannot be asked about the step's run any more: it may still be going."""
    assert o.why is not None
    ctx.leave(s, MayBeRunning(run_id=run_of(s), why=o.why))


def run_of(s: StepState) -> str | None:
    """How to name the step's run: its id, or a key, if the step has one."""
    data = s.data
    if isinstance(data, PickingUp):
        return data.attempt.run_id or next(iter(data.attempt.run_keys), None)
    return data.label if isinstance(data, Following) else None


def _nothing(ctx: Stopping, s: StepState, now: float, o: Order) -> None:
    """A step that is done stays done."""


_BEFORE_A_RUN: dict[Stop, Action] = {
    Stop.CANCEL: not_started,
    Stop.LEAVE: not_started,
    Stop.GIVE_UP: not_started,
    Stop.LOST: failed,
}
STOPS: dict[Phase, dict[Stop, Action]] = {
    Phase.UPSTREAM: dict.fromkeys(Stop, never_began),
    Phase.CHECK: _BEFORE_A_RUN,
    Phase.WAIT_OTHER: _BEFORE_A_RUN,
    Phase.START: _BEFORE_A_RUN,
    Phase.RETRY_DELAY: _BEFORE_A_RUN,
    Phase.PICK_UP: {
        Stop.CANCEL: cancel_run,
        Stop.LEAVE: left_going,
        Stop.GIVE_UP: left_going,
        Stop.LOST: may_be_running,
    },
    Phase.VERIFY: {
        Stop.CANCEL: look_on,
        Stop.LEAVE: start_unconfirmed,
        Stop.GIVE_UP: start_unconfirmed,
        Stop.LOST: may_be_running,
    },
    Phase.FOLLOW: {
        Stop.CANCEL: cancel_run,
        Stop.LEAVE: left_going,
        Stop.GIVE_UP: cancel_unconfirmed,
        Stop.LOST: may_be_running,
    },
    Phase.CANCEL: {
        Stop.CANCEL: cancelling,
        Stop.LEAVE: left_going,
        Stop.GIVE_UP: cancel_unconfirmed,
        Stop.LOST: may_be_running,
    },
    Phase.DONE: dict.fromkeys(Stop, _nothing),
}
