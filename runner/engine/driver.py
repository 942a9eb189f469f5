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
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

from runner.clock import Clock
from runner.engine.carry import Resume, begin
from runner.engine.context import CANCEL_GRACE, SERVER_ERROR_TRIES, backoff
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
    Verifying,
)
from runner.engine.preflight import check_jobs
from runner.engine.reporter import Reporter, Silent
from runner.engine.scheduler import Scheduler, Skip
from runner.engine.starting import open_intent
from runner.engine.stops import STOPS, Order, Stop, run_of
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
from runner.outcomes import AttemptOutcome, Outcome, PlanOutcome
from runner.plan import Plan, Step
from runner.reasons import (
    CancelUnconfirmed,
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
    StepTimeout,
    Unconfirmed,
)
from runner.result import PlanResult, ResumedFrom, StepResult


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
        detach: bool = False,
        resume: Resume | None = None,
        selected: Collection[str] | None = None,
    ) -> None:
        self.plan = plan
        self.fusion = fusion
        self.clock = clock
        self.rng = rng or random.Random()
        self.reporter: Reporter = reporter or Silent()
        self.interrupts = interrupts
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
        self.t0 = clock.monotonic()
        self.interrupted = False
        self.signals = 0  # interrupts acted on: the first cancels (or detaches), a second stops
        self.plan_timed_out = False
        self.stopped_by: str | None = None  # fail_fast: the step whose failure stopped the plan
        self.halted = False  # stopped following: the runs still going are named in the report
        self.selected = None if selected is None else frozenset(selected)  # None: every step
        begun = begin(self.states, resume, self.selected)
        self.resumed, self.earlier = begun.resumed, begun.earlier
        for name in begun.kept + begun.left_out + begun.failed_out:
            self.move(self.states[name], Phase.DONE)
        # begun early first: a step whose run may be going is never judged by its upstream
        self.scheduler.begin_early(self.resumed)
        failed = {name: self.states[name].result.outcome for name in begun.failed_out}
        settled = self.scheduler.settle(begun.kept, begun.left_out, failed)
        for name in begun.failed_out:  # a skip the earlier report has: blamed as it would be now
            result = self.states[name].result
            result.excused = result.outcome is Outcome.SKIPPED and self._blamed_upstream(
                self.states[name].step
            )
        self._skip(settled, announce=False)

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
            only=self.selected,
        )

    def abort(self, cause: Cause, *, interrupted: bool = False) -> None:
        """Before anything started: end the run and say why. Nothing was observed in Fusion, so
        a resumed step keeps what the earlier report said of it (its runs, its outcome); the
        others did not run."""
        self.result.error, self.interrupted = cause, interrupted
        for name, state in self.states.items():
            earlier = self.earlier.get(name)
            if earlier is not None:
                state.result.outcome, state.result.reason = earlier.outcome, earlier.reason
            elif state.result.outcome is None:
                state.result.outcome, state.result.reason = Outcome.NOT_RUN, NotStarted(cause=cause)
        self.conclude()

    # --- the loop ---------------------------------------------------------------------------------

    def execute(self) -> PlanOutcome:
        """Run the plan to its end; the outcome: succeeded, failed or interrupted."""
        self.emit(PlanStarted())
        now = self.clock.monotonic()
        for name in list(self.resumed):  # whatever their upstream: their run may be going now
            self._come_due(self.states[name], now)
        while not self.scheduler.done and not self.halted:
            self._tick()
            if self.halted:
                break
            self.emit(Tick(active=self._active_runs()))
            if not self.scheduler.done:
                wait = self._next_due() - self.clock.monotonic()
                self.clock.sleep(wait)
        self.conclude()
        return self.result.outcome

    def _tick(self) -> None:
        now = self.clock.monotonic()
        if self._take_signals(now) or self.halted:
            return
        if self._plan_timeout_pending() and now >= self.t0 + (self.plan.timeout or 0):
            self._time_out_plan(now)
        acted: set[str] = set()
        while not self.halted:  # until nothing more is due: a step whose upstream ended in
            for name in self.scheduler.ready():  # this pass starts in this pass too
                self._come_due(self.states[name], now)
            due = [
                state
                for state in sorted(self.active.values(), key=lambda s: s.due)
                if state.active and state.due <= now and state.step.name not in acted
            ]
            if not due:
                break
            for state in due:
                if self.halted or self._signalled():
                    break
                if state.active and state.due <= now:  # a stop earlier in the pass may end it
                    acted.add(state.step.name)
                    self._act(state, now)
            if self._signalled() and self._take_signals(self.clock.monotonic()):
                break  # a signal came during the pass: nothing more starts, stops come first
        self.active = {name: state for name, state in self.active.items() if state.active}

    def _signalled(self) -> bool:
        """An interrupt came that the engine has not acted on yet."""
        return self.interrupts() != self.signals

    def _take_signals(self, now: float) -> bool:
        """Act on the interrupts that came since the last look: the first cancels the runs
        going (or detaches), a second stops waiting for Fusion. True when the pass must end."""
        count = self.interrupts()
        if count == self.signals:
            return False
        first, self.signals = self.signals == 0, count
        if first:
            self._interrupt(now)
        if count > 1:
            self._give_up_cancels()
            return True
        return False

    def _come_due(self, state: StepState, now: float) -> None:
        state.result.started = True
        state.due = state.became_due = now
        resumed = self.resumed.pop(state.step.name, None)
        state.data = resumed or Checking()
        if isinstance(resumed, PickingUp):
            self.move(state, Phase.PICK_UP)
        elif isinstance(resumed, Verifying):
            self.move(state, Phase.VERIFY)
        else:
            self.move(state, Phase.CHECK)
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
            self.move(state, after)
            if after not in ACT_AT_ONCE or state.due > now or self._signalled():
                return  # a signal is acted on before anything else: no start goes out after it

    def move(self, state: StepState, phase: Phase) -> None:
        if phase is not state.phase or phase is Phase.DONE:
            assert phase in TRANSITIONS[state.phase], f"{state.step.name}: {state.phase} -> {phase}"
        state.phase = phase

    def _next_due(self) -> float:
        due = [state.due for state in self.active.values()]
        if self._plan_timeout_pending():
            due.append(self.t0 + (self.plan.timeout or 0))
        return min(due, default=self.clock.monotonic())

    def _plan_timeout_pending(self) -> bool:
        """The plan's timeout can still fire: once it has, or the plan was interrupted, it
        cannot, and must not keep the engine awake."""
        return self.plan.timeout is not None and not self.plan_timed_out and not self.interrupted

    def _active_runs(self) -> tuple[ActiveRun, ...]:
        now = self.clock.monotonic()
        return tuple(
            ActiveRun(
                step=state.step.name,
                phase=state.phase.value,
                age=now - state.data.started,
                run_id=state.data.label,
                state=state.data.last_state,
                counters=state.data.counters,
            )
            for state in self.active.values()
            if state.active and isinstance(state.data, Following) and state.data.label
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

    def rejoin(self, state: StepState) -> bool:
        """A step begun before its upstream settled (--resume) has no run going after all: it
        waits for its upstream as any step does. True: it may start now. False: it waits
        (UPSTREAM), or run_if has skipped it (DONE)."""
        go, skips = self.scheduler.rejoin(state.step.name)
        if go:
            return True
        if skips:
            self._skip(skips, announce=True)
        else:
            self.move(state, Phase.UPSTREAM)
            state.data = None
        self.active.pop(state.step.name, None)
        return False

    def end(self, state: StepState, outcome: Outcome | None, reason: Reason | None) -> None:
        """A step ended (`outcome` None: its run was left going): record it, skip what run_if
        now rules out, and stop the plan on fail_fast."""
        result = state.result
        self.close(state, outcome, reason)
        finished = self.scheduler.finished(result.name, outcome)
        failing = self._skip(finished, announce=True)
        if self.scheduler.stopped:
            cause = FailFast(step=result.name)
        elif self.plan.fail_fast and failing:  # a required step skipped for an allowed failure
            cause = FailFast(step=failing[0], skipped=True)
        else:
            return
        if self.stopped_by is None and not self.interrupted and not self.plan_timed_out:
            self.stopped_by = cause.step
            self._stop_all(self.clock.monotonic(), Outcome.CANCELLED, Outcome.NOT_RUN, cause)

    def leave(self, state: StepState, reason: Reason) -> None:
        """Stop following the step's run, which may still be going: the report keeps it open, as
        a run for --resume to pick up, and the step counts as not succeeded."""
        last = state.result.attempts[-1] if state.result.attempts else None
        if last is not None and last.open and (last.run_keys or last.requested_at):
            last.outcome = AttemptOutcome.LEFT_RUNNING
        self.end(state, None, reason)

    def _skip(self, skips: Iterable[Skip], *, announce: bool) -> list[str]:
        """Close the skipped steps; the names of those that fail the plan."""
        failing = []
        for skip in skips:
            skipped = self.states[skip.name]
            skipped.result.excused = skip.excluded or self._blamed_upstream(skipped.step)
            self.close(skipped, Outcome.SKIPPED, skip.reason, announce=announce)
            if skipped.result.fails_the_plan:
                failing.append(skip.name)
        return failing

    def _blamed_upstream(self, step: Step) -> bool:
        """An upstream failure that skipped `step` fails the plan already, or skipped that
        upstream for such a failure: the verdict names it, not each step it skipped."""
        upstreams = [self.states[name].result for name in step.depends_on]
        return any(
            self.scheduler.failed(upstream.name) and (upstream.fails_the_plan or upstream.excused)
            for upstream in upstreams
        )

    def close(
        self,
        state: StepState,
        outcome: Outcome | None,
        reason: Reason | None,
        *,
        announce: bool = True,
    ) -> None:
        result = state.result
        result.outcome, result.reason = outcome, reason
        intent = open_intent(state)
        if intent is not None and outcome is not None:  # a start we asked for never ran
            intent.outcome = AttemptOutcome.NOT_STARTED
        self.move(state, Phase.DONE)
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
        """A request about the step failed. Out of contact since the pass that sent it began
        (`now`), by the clock as it is now: a request that hung for its whole timeout counts."""
        if error.kind is ErrorKind.INTERRUPTED:  # the signal is acted on in the next pass
            return state.phase
        if error.kind is ErrorKind.CREDENTIALS:
            self.result.error = CredentialsRefused(error=str(error))
            self._stop_following(self.result.error)
            return Phase.DONE
        contact = state.contact = state.contact or Contact(since=now)
        if error.status == 500 or error.unreadable:  # Fusion's own fault, and it may go on
            contact.server_errors += 1
        if error.kind is not ErrorKind.TRANSIENT or contact.server_errors >= SERVER_ERROR_TRIES:
            self._give_up(state, FusionAnswered(error=str(error)))
            return Phase.DONE
        if contact.failures == 0:
            self.emit(ContactLost(step=state.step.name, error=str(error)))
        failed_at = self.clock.monotonic()
        budget_ends = contact.since + self.plan.fusion.retry_budget  # kept to, not overrun
        if failed_at >= budget_ends:  # compared as `due` will be: never due now, then not over
            lost = LostContact(seconds=failed_at - contact.since, error=str(error))
            self._give_up(state, lost)
            return Phase.DONE
        contact.failures += 1
        state.due = min(failed_at + backoff(self.rng, contact.failures, error), budget_ends)
        data = state.data
        if state.phase is Phase.FOLLOW and isinstance(data, Following):  # a Retry-After of
            deadline = data.started + state.step.timeout  # minutes does not hold a timeout up
            if deadline > now:
                state.due = min(state.due, deadline)
            elif data.cancel is None:  # it passed while Fusion would not answer: cancel now
                timeout = StepTimeout(limit=state.step.timeout)
                order_cancel(self, state, now, Outcome.TIMED_OUT, timeout)
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
                self.leave(state, why)
                return Phase.DONE
            state.due = min(state.due, order.deadline)
        return state.phase

    def _give_up(self, state: StepState, why: FusionAnswered | LostContact) -> None:
        """Fusion cannot be asked about the step any more: as its phase says (`STOPS`)."""
        order = Order(stop=Stop.LOST, cause=Interrupted(), why=why)
        STOPS[state.phase][Stop.LOST](self, state, self.clock.monotonic(), order)

    # --- the plan stops ---------------------------------------------------------------------------

    def _stop_all(self, now: float, active: Outcome, pending: Outcome, cause: Cause) -> None:
        """Start nothing more: cancel the runs going (their outcome `active` once Fusion confirms)
        and end every other step with `pending`, each as its phase says (`STOPS`)."""
        self.result.stopped = self.result.stopped or cause
        order = Order(stop=Stop.CANCEL, cause=cause, active=active, pending=pending)
        for name in self.scheduler.stop():
            self.scheduler.skip(name, pending)
            STOPS[Phase.UPSTREAM][Stop.CANCEL](self, self.states[name], now, order)
        self._stop(order, now)

    def _stop(self, order: Order, now: float) -> None:
        """Every step the plan has begun, stopped as its phase says (`STOPS`)."""
        for state in list(self.active.values()):
            if state.active:
                STOPS[state.phase][order.stop](self, state, now, order)

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
        """A second interrupt: stop waiting for Fusion. Runs being cancelled, and starts whose
        answer was lost, are left as they are, named in the report for --resume."""
        self._stop(Order(stop=Stop.GIVE_UP, cause=Interrupted()), self.clock.monotonic())

    def _stop_following(self, cause: Cause) -> None:
        """Stop at once. Runs still going in Fusion are left as they are, and the report says so."""
        self.result.stopped = self.result.stopped or cause
        order = Order(stop=Stop.LEAVE, cause=cause)
        now = self.clock.monotonic()
        self._stop(order, now)
        for name in self.scheduler.stop():
            STOPS[Phase.UPSTREAM][Stop.LEAVE](self, self.states[name], now, order)
        self.halted = True

    def conclude(self) -> None:
        """The plan is over: its outcome, from what its steps and fusion-run's stop say."""
        result = self.result
        result.ended_at = self.clock.wall()
        if self.interrupted:
            result.outcome = PlanOutcome.INTERRUPTED
        elif result.error is not None or any(s.fails_the_plan for s in result.steps):
            result.outcome = PlanOutcome.FAILED
        else:
            result.outcome = PlanOutcome.SUCCEEDED
        self.emit(PlanEnded(outcome=result.outcome))


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
