"""How far the plan as a whole has stopped (`PlanState`), and the stops themselves: each moves
every step as its phase says (`runner.engine.stops.STOPS`).

    RUNNING    steps start as they come due
    STOPPING   nothing more starts; runs going are cancelled (fail_fast, the plan's timeout, a
               signal), and the engine follows them to their end
    DETACHED   interrupted with detach: fusion-run stops at once, the runs go on, named
    HALTED     fusion-run stops at once (credentials refused): the runs go on, named

A plan only moves down this list. Signals are counted beside the stage: the first cancels (or
detaches), a second gives up waiting for Fusion; an interrupted plan ends `interrupted`, whatever
stopped it first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from runner.engine.phases import Phase, StepState
from runner.engine.scheduler import Scheduler
from runner.engine.stops import STOPS, Order, Stop, Stopping
from runner.events import InterruptReceived
from runner.outcomes import Outcome, PlanOutcome
from runner.plan import Plan
from runner.reasons import Cause, Detached, Interrupted, InterruptedBeforeStart, PlanTimeout
from runner.result import PlanResult


class Stage(enum.Enum):
    RUNNING = "running"
    STOPPING = "stopping"
    DETACHED = "detached"
    HALTED = "halted"


@dataclass(kw_only=True)
class PlanState:
    stage: Stage = Stage.RUNNING
    cause: Cause | None = None  # why the plan first stopped starting steps
    signals: int = 0  # interrupts acted on

    @property
    def interrupted(self) -> bool:
        return self.signals > 0 or isinstance(self.cause, InterruptedBeforeStart)

    def following(self) -> bool:
        """fusion-run still follows the runs going: it has not detached or halted. A method,
        not a property: a handler's call may change it, which a type checker must not assume
        it cannot."""
        return self.stage in (Stage.RUNNING, Stage.STOPPING)

    def to(self, stage: Stage, cause: Cause) -> None:
        """Down the list only; the first cause is the one kept."""
        order = list(Stage)
        if order.index(stage) > order.index(self.stage):
            self.stage = stage
        self.cause = self.cause or cause


class Plant(Stopping, Protocol):
    """What the stops need of the engine."""

    plan: Plan
    result: PlanResult
    scheduler: Scheduler
    states: dict[str, StepState]
    active: dict[str, StepState]
    plan_state: PlanState
    detach: bool


def stop_all(engine: Plant, now: float, active: Outcome, pending: Outcome, cause: Cause) -> None:
    """Start nothing more: cancel the runs going (their outcome `active` once Fusion confirms)
    and end every other step with `pending`, each as its phase says (`STOPS`)."""
    engine.plan_state.to(Stage.STOPPING, cause)
    engine.result.stopped = engine.plan_state.cause
    order = Order(stop=Stop.CANCEL, cause=cause, active=active, pending=pending)
    for name in engine.scheduler.stop():
        engine.scheduler.skip(name, pending)
        STOPS[Phase.UPSTREAM][Stop.CANCEL](engine, engine.states[name], now, order)
    _stop(engine, order, now)


def time_out(engine: Plant, now: float) -> None:
    limit = PlanTimeout(limit=engine.plan.timeout or 0)
    stop_all(engine, now, Outcome.TIMED_OUT, Outcome.SKIPPED, limit)


def take_signals(engine: Plant, count: int, now: float) -> bool:
    """Act on the interrupts that came since the last look (`count` in all): the first cancels
    the runs going (or detaches), a second stops waiting for Fusion. True: the pass must end."""
    if count == engine.plan_state.signals:
        return False
    first, engine.plan_state.signals = engine.plan_state.signals == 0, count
    if first:
        _interrupt(engine, now)
    if count > 1:  # runs being cancelled, and starts whose answer was lost, are left named
        _stop(engine, Order(stop=Stop.GIVE_UP, cause=Interrupted()), now)
        return True
    return False


def _interrupt(engine: Plant, now: float) -> None:
    engine.result.outcome = PlanOutcome.INTERRUPTED
    engine.emit(InterruptReceived(detach=engine.detach))
    if engine.detach:
        engine.result.detached = True
        stop_following(engine, Detached(), now)
        return
    stop_all(engine, now, Outcome.CANCELLED, Outcome.NOT_RUN, Interrupted())


def stop_following(engine: Plant, cause: Cause, now: float) -> None:
    """Stop at once. Runs still going in Fusion are left as they are, and the report says so."""
    engine.plan_state.to(Stage.DETACHED if isinstance(cause, Detached) else Stage.HALTED, cause)
    engine.result.stopped = engine.plan_state.cause
    order = Order(stop=Stop.LEAVE, cause=cause)
    _stop(engine, order, now)
    for name in engine.scheduler.stop():
        STOPS[Phase.UPSTREAM][Stop.LEAVE](engine, engine.states[name], now, order)


def _stop(engine: Plant, order: Order, now: float) -> None:
    """Every step the plan has begun and not ended, stopped as its phase says (`STOPS`); one
    step's stop may end another, which is then passed over."""
    for state in list(engine.active.values()):
        if state.active:
            STOPS[state.phase][order.stop](engine, state, now, order)
