"""The engine: the single-threaded loop that joins the scheduler to Fusion and a clock.

Concurrency comes from Fusion running jobs side by side, not from threads here. Each pass starts
the steps the scheduler says are ready, acts on every step that is due through its phase's handler
(`runner.engine.handlers`), and sleeps until the next thing is due. What happens goes out as typed
events to one `Reporter`; the engine writes no words and no files itself.

The plan as a whole stops in four ways, each moving steps along `runner.engine.phases`: the plan's
timeout and fail_fast cancel the active runs and end the rest; an interrupt does the same (or, with
detach, leaves the runs going); refused credentials stop following at once, leaving the runs going
and saying so in each step's reason.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from runner.clock import Clock
from runner.engine.context import backoff
from runner.engine.following import order_cancel
from runner.engine.handlers import HANDLERS
from runner.engine.phases import (
    ACT_AT_ONCE,
    TRANSITIONS,
    Checking,
    Contact,
    Following,
    Phase,
    PickingUp,
    StepState,
)
from runner.engine.preflight import check_jobs
from runner.events import (
    ActiveRun,
    ContactLost,
    Event,
    InterruptReceived,
    PlanEnded,
    PlanStarted,
    StepEnded,
    Tick,
)
from runner.fusion import ErrorKind, Fusion, FusionError
from runner.outcomes import Outcome, PlanOutcome
from runner.plan import Plan, Step
from runner.reasons import (
    CancelEnding,
    Cancelled,
    Cause,
    CredentialsRefused,
    Detached,
    FailFast,
    FusionAnswered,
    Interrupted,
    LostContact,
    NotStarted,
    PlanTimeout,
    Reason,
    StartUnconfirmed,
    StillRunning,
)
from runner.reporting import Reporter, Silent
from runner.result import Attempt, PlanResult, ResumedFrom, StepResult
from runner.scheduler import Scheduler, Skip


@dataclass(frozen=True, kw_only=True)
class Resume:
    """What an earlier report hands on: steps that succeeded (kept, with their attempts) and the
    runs that were still active (looked up and followed rather than started again)."""

    path: str
    outcome: str
    succeeded: dict[str, list[Attempt]]
    active_runs: dict[str, str]  # step name -> run id


class Engine:
    def __init__(
        self,
        plan: Plan,
        fusion: Fusion,
        clock: Clock,
        *,
        url: str,
        max_parallel: int | None = None,
        rng: random.Random | None = None,
        reporter: Reporter | None = None,
        interrupts: Callable[[], int] = lambda: 0,
        tick_every: float | None = None,
        detach: bool = False,
        resume: Resume | None = None,
    ) -> None:
        self.plan = plan
        self.fusion = fusion
        self.clock = clock
        self.rng = rng or random.Random()
        self.reporter: Reporter = reporter or Silent()
        self.interrupts = interrupts
        self.tick_every = tick_every  # wake at least this often (a live display), or None
        self.detach = detach
        self.scheduler = Scheduler(
            plan.steps, max_parallel=max_parallel or plan.max_parallel, fail_fast=plan.fail_fast
        )
        self.result = PlanResult(
            plan_path=plan.file,
            plan_name=plan.name,
            plan_sha256=plan.sha256,
            url=url,
            api=plan.fusion.api,
            started_at=clock.wall(),
            resumed_from=_resumed_from(resume),
            steps=[_step_result(step) for step in plan.steps],
        )
        self.states = {
            step.name: StepState(step=step, result=result)
            for step, result in zip(plan.steps, self.result.steps, strict=True)
        }
        self.active: dict[str, StepState] = {}  # came due and not yet done
        self.pick_ups: dict[str, str] = {}  # step -> a run an earlier fusion-run left going
        self.t0 = clock.monotonic()
        self.interrupted = False
        self.plan_timed_out = False
        self.stopped_by: str | None = None  # fail_fast: the step whose failure stopped the plan
        self.halted = False  # stopped following: the runs still going are named in the report
        if resume:
            self._carry(resume)

    # --- before the steps start -------------------------------------------------------------------

    def preflight(self) -> None:
        """Every step's job must exist: JobsNotFound naming all that do not; nothing starts."""
        check_jobs(
            self.plan,
            self.fusion,
            self.clock,
            rng=self.rng,
            interrupts=self.interrupts,
            emit=self.emit,
            warn=self.warn,
        )

    def abort(self, cause: Cause, *, interrupted: bool = False) -> None:
        """Before anything started: end the run with every step not run, and say why."""
        self.result.error, self.interrupted = cause, interrupted
        for state in self.states.values():
            state.result.outcome, state.result.reason = Outcome.NOT_RUN, NotStarted(cause=cause)
        self._conclude()

    def _carry(self, resume: Resume) -> None:
        for name, attempts in resume.succeeded.items():
            state = self.states[name]
            state.result.outcome, state.result.attempts = Outcome.SUCCEEDED, attempts
            self._move(state, Phase.DONE)
            self._skip(self.scheduler.carry(name), announce=False)
        self.pick_ups.update(resume.active_runs)

    # --- the loop ---------------------------------------------------------------------------------

    def execute(self) -> PlanOutcome:
        """Run the plan to its end; the outcome: succeeded, failed or interrupted."""
        self.emit(PlanStarted())
        while not self.scheduler.done and not self.halted:
            self._tick()
            if self.halted:
                break
            self.emit(Tick(active=self._active_runs()))
            if not self.scheduler.done:
                wait = self._next_due() - self.clock.monotonic()
                self.clock.sleep(min(wait, self.tick_every) if self.tick_every else wait)
        self._conclude()
        return self.result.outcome

    def _tick(self) -> None:
        now = self.clock.monotonic()
        interrupts = self.interrupts()
        if interrupts and not self.interrupted:
            self._interrupt(now)
        elif interrupts > 1:
            self._give_up_cancels()
            return
        if self.halted:
            return
        if (
            self.plan.timeout is not None
            and not self.plan_timed_out
            and not self.interrupted
            and now - self.t0 >= self.plan.timeout
        ):
            self._time_out_plan(now)
        for name in self.scheduler.ready():
            self._come_due(self.states[name], now)
        for state in sorted(self.active.values(), key=lambda s: s.due):
            if self.halted:
                return
            if state.active and state.due <= now:
                self._act(state, now)
        self.active = {name: state for name, state in self.active.items() if state.active}

    def _come_due(self, state: StepState, now: float) -> None:
        state.result.started = True
        state.due = state.became_due = now
        wanted = self.pick_ups.pop(state.step.name, None)
        if wanted:
            state.data = PickingUp(run_id=wanted)
            self._move(state, Phase.PICK_UP)
        else:
            state.data = Checking()
            self._move(state, Phase.CHECK)
        self.active[state.step.name] = state

    def _act(self, state: StepState, now: float) -> None:
        """Call the handler of the step's phase, and go on while it leaves the step due now."""
        while True:
            try:
                after = HANDLERS[state.phase](self, state, now)
            except FusionError as error:
                after = self._fusion_error(state, now, error)
            if state.phase is Phase.DONE or self.halted:  # ended, or the plan stopped
                return
            self._move(state, after)
            if after not in ACT_AT_ONCE or state.due > now:
                return

    def _move(self, state: StepState, phase: Phase) -> None:
        if phase is not state.phase or phase is Phase.DONE:
            assert phase in TRANSITIONS[state.phase], f"{state.step.name}: {state.phase} -> {phase}"
        state.phase = phase

    def _next_due(self) -> float:
        due = [state.due for state in self.active.values()]
        if self.plan.timeout is not None and not self.plan_timed_out:
            due.append(self.t0 + self.plan.timeout)
        return min(due, default=self.clock.monotonic())

    def _active_runs(self) -> tuple[ActiveRun, ...]:
        now = self.clock.monotonic()
        return tuple(
            ActiveRun(step=state.step.name, phase=state.phase.value, age=now - state.data.started)
            for state in self.active.values()
            if state.active and isinstance(state.data, Following) and state.data.run_id
        )

    # --- what the handlers use (`handlers.Context`) -----------------------------------------------

    def emit(self, event: Event) -> None:
        self.reporter.handle(replace(event, at=self.clock.monotonic() - self.t0), self.result)

    def warn(self, event: Event) -> None:
        """An event the report keeps among its warnings."""
        event = replace(event, at=self.clock.monotonic() - self.t0)
        self.result.warnings.append(event)
        self.reporter.handle(event, self.result)

    def may_start(self) -> bool:
        return not self.scheduler.stopped

    def end(self, state: StepState, outcome: Outcome, reason: Reason | None) -> None:
        """A step ended: record it, skip what run_if now rules out, and stop on fail_fast."""
        result = state.result
        self._close(state, outcome, reason)
        self._skip(self.scheduler.finished(result.name, outcome), announce=True)
        if (
            self.scheduler.stopped
            and self.stopped_by is None
            and not self.interrupted
            and not self.plan_timed_out
        ):
            self.stopped_by = result.name
            cause = FailFast(step=result.name)
            self._stop_all(self.clock.monotonic(), Outcome.CANCELLED, Outcome.NOT_RUN, cause)

    def _skip(self, skips: Iterable[Skip], *, announce: bool) -> None:
        for skip in skips:
            skipped = self.states[skip.name]
            skipped.result.skipped_by_run_if = True
            self._close(skipped, Outcome.SKIPPED, skip.reason, announce=announce)

    def _close(
        self, state: StepState, outcome: Outcome, reason: Reason | None, *, announce: bool = True
    ) -> None:
        result = state.result
        result.outcome, result.reason = outcome, reason
        self._move(state, Phase.DONE)
        if announce:
            last = result.attempts[-1] if result.attempts else None
            self.emit(
                StepEnded(
                    step=result.name,
                    outcome=outcome,
                    reason=reason,
                    duration=last.duration if last else None,
                    run_id=last.run_id if last else None,
                )
            )

    # --- Fusion's faults --------------------------------------------------------------------------

    def _fusion_error(self, state: StepState, now: float, error: FusionError) -> Phase:
        if error.kind is ErrorKind.CREDENTIALS:
            self.result.error = CredentialsRefused(error=str(error))
            self._stop_following(self.result.error)
            return Phase.DONE
        if error.kind is not ErrorKind.TRANSIENT:
            self.end(state, Outcome.FAILED, FusionAnswered(error=str(error)))
            return Phase.DONE
        if state.contact is None:
            state.contact = Contact(since=now)
            self.emit(ContactLost(step=state.step.name, error=str(error)))
        if now - state.contact.since >= self.plan.fusion.retry_budget:
            lost = LostContact(seconds=now - state.contact.since, error=str(error))
            self.end(state, Outcome.FAILED, lost)
            return Phase.DONE
        state.contact.failures += 1
        state.due = now + backoff(self.rng, state.contact.failures, error)
        return state.phase

    # --- the plan stops ---------------------------------------------------------------------------

    def _stop_all(self, now: float, active: Outcome, pending: Outcome, cause: Cause) -> None:
        """Start nothing more: cancel the runs going (their outcome `active` once Fusion confirms)
        and end every other step with `pending`."""
        for name in self.scheduler.stop():
            self.scheduler.skip(name, pending)
            self._close(self.states[name], pending, NotStarted(cause=cause))
        for state in list(self.active.values()):
            if state.phase is Phase.FOLLOW:
                self._move(state, Phase.CANCEL)
                order_cancel(self, state, now, active, cause)
            elif state.active and state.phase is not Phase.CANCEL:
                # checking, waiting, between attempts: nothing of ours runs in Fusion
                self.end(state, pending, NotStarted(cause=cause))

    def _time_out_plan(self, now: float) -> None:
        self.plan_timed_out = True
        limit = PlanTimeout(limit=self.plan.timeout or 0)
        self._stop_all(now, Outcome.TIMED_OUT, Outcome.SKIPPED, limit)

    def _interrupt(self, now: float) -> None:
        self.interrupted = True
        self.result.outcome = PlanOutcome.INTERRUPTED
        self.emit(InterruptReceived(detach=self.detach))
        if self.detach:
            self.result.detached = True
            self._stop_following(Detached())
            return
        self._stop_all(now, Outcome.CANCELLED, Outcome.NOT_RUN, Interrupted())

    def _give_up_cancels(self) -> None:
        """A second interrupt: record the runs being cancelled without waiting for Fusion."""
        for state in list(self.active.values()):
            if not state.active:
                continue
            data = state.data
            if isinstance(data, Following):
                cause = data.cancel.cause if data.cancel else Interrupted()
                reason: Reason = Cancelled(
                    cause=cause, run_id=data.run_id, ending=CancelEnding.GAVE_UP
                )
            else:
                reason = NotStarted(cause=Interrupted())
            self.end(state, Outcome.CANCELLED, reason)

    def _stop_following(self, cause: Cause) -> None:
        """Stop at once. Runs still going in Fusion are left as they are, and the report says so."""
        for state in self.active.values():
            result, data = state.result, state.data
            if state.phase in (Phase.FOLLOW, Phase.CANCEL) and isinstance(data, Following):
                result.reason = StillRunning(run_id=data.run_id, cause=cause)
            elif state.phase is Phase.VERIFY:
                result.reason = StartUnconfirmed(cause=cause)
            elif state.active:  # checking, waiting or between attempts: no run of ours is going
                result.outcome, result.reason = Outcome.NOT_RUN, NotStarted(cause=cause)
            if state.active:
                self._move(state, Phase.DONE)
        for name in self.scheduler.stop():
            self._close(self.states[name], Outcome.NOT_RUN, NotStarted(cause=cause), announce=False)
        self.halted = True

    def _conclude(self) -> None:
        result = self.result
        result.ended_at = self.clock.wall()
        if self.interrupted:
            result.outcome = PlanOutcome.INTERRUPTED
        elif result.error is not None or any(_fails_the_plan(s) for s in result.steps):
            result.outcome = PlanOutcome.FAILED
        else:
            result.outcome = PlanOutcome.SUCCEEDED
        self.emit(PlanEnded(outcome=result.outcome))


def _fails_the_plan(step: StepResult) -> bool:
    """Not allowed to fail, and ended other than succeeded or skipped by run_if."""
    return (
        step.outcome not in (None, Outcome.SUCCEEDED)
        and not step.skipped_by_run_if
        and not step.allow_failure
    )


def _step_result(step: Step) -> StepResult:
    return StepResult(
        name=step.name,
        job=step.job,
        allow_failure=step.allow_failure,
        depends_on=step.depends_on,
        line=step.line,
    )


def _resumed_from(resume: Resume | None) -> ResumedFrom | None:
    return None if resume is None else ResumedFrom(path=resume.path, outcome=resume.outcome)
