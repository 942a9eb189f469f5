"""The engine: the single-threaded loop that joins the scheduler to Fusion and a clock.

Concurrency comes from Fusion running jobs side by side, not from threads here. Each pass starts
the steps the scheduler says are ready, acts on every step that is due through its phase's handler
(`runner.engine.handlers`), and sleeps until the next thing is due. What happens goes out as typed
events to one `Reporter`; the engine writes no words and no files itself.

How far the plan as a whole has stopped is one `PlanState` (`runner.engine.stopping`): the plan's
timeout and fail_fast cancel the active runs and end the rest; an interrupt does the same (or, with
detach, leaves the runs going); refused credentials stop following at once, leaving the runs going
and saying so in each step's reason. Each stop moves every step as its phase says
(`runner.engine.stops.STOPS`); a Fusion error on a step's request, as `runner.engine.faults` says.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

from runner.clock import Clock
from runner.engine.carry import Resume, begin, plan_result
from runner.engine.faults import fusion_error
from runner.engine.following import active_runs
from runner.engine.handlers import HANDLERS
from runner.engine.phases import (
    ACT_AT_ONCE,
    TRANSITIONS,
    Checking,
    Phase,
    PickingUp,
    StepState,
    Verifying,
)
from runner.engine.preflight import ScheduledByFusion, check_jobs, check_schedules
from runner.engine.reporter import Reporter, Silent
from runner.engine.scheduler import Scheduler, Skip
from runner.engine.starting import open_intent
from runner.engine.stopping import PlanState, Stage, stop_all, take_signals, time_out
from runner.events import Event, PlanEnded, PlanStarted, StepEnded, Tick
from runner.fusion import Fusion, FusionError
from runner.outcomes import AttemptOutcome, Outcome, PlanOutcome
from runner.plan import Plan, Schedules, Step
from runner.reasons import Cause, FailFast, NotStarted, Reason
from runner.verdict import judged


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
        self.result = plan_result(plan, url, clock.wall(), resume)
        self.result.max_requests_per_second = plan.fusion.max_requests_per_second
        self.states = {
            step.name: StepState(step=step, result=result)
            for step, result in zip(plan.steps, self.result.steps, strict=True)
        }
        self.active: dict[str, StepState] = {}  # came due and not yet done
        self.t0 = clock.monotonic()
        self.plan_state = PlanState()  # how far the plan has stopped (`runner.engine.stopping`)
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
        """Every step's job must exist: JobsNotFound naming all that do not; nothing starts.
        Then Fusion's own schedules: the triggers that may start a plan job during the plan go
        in the result, and are warnings, or, with fusion.schedules: fail, ScheduledByFusion."""
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
        found = check_schedules(
            self.plan,
            self.fusion,
            self.clock,
            rng=self.rng,
            interrupts=self.interrupts,
            emit=self.emit,
            warn=self.warn,
            only=self.selected,
        )
        self.result.schedules = found
        if found and self.plan.fusion.schedules is Schedules.FAIL:
            raise ScheduledByFusion(found)

    def abort(self, cause: Cause) -> None:
        """Before anything started: end the run and say why. Nothing was observed in Fusion, so
        a resumed step keeps what the earlier report said of it (its runs, its outcome); the
        others did not run."""
        self.result.error = cause
        self.plan_state.to(Stage.HALTED, cause)
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
        while not self.scheduler.done and self.plan_state.following():
            self._tick()
            if not self.plan_state.following():
                break
            self.emit(Tick(active=active_runs(self.active.values(), self.clock.monotonic())))
            if not self.scheduler.done:
                wait = self._next_due() - self.clock.monotonic()
                self.clock.sleep(wait)
        self.conclude()
        return self.result.outcome

    def _tick(self) -> None:
        now = self.clock.monotonic()
        if take_signals(self, self.interrupts(), now) or not self.plan_state.following():
            return
        if self._plan_timeout_pending() and now >= self.t0 + (self.plan.timeout or 0):
            time_out(self, now)
        acted: set[str] = set()
        # until nothing more is due: a step whose upstream ended in this pass starts in it too
        while self.plan_state.following():
            for name in self.scheduler.ready():
                self._come_due(self.states[name], now)
            due = [
                state
                for state in sorted(self.active.values(), key=lambda s: s.due)
                if state.active and state.due <= now and state.step.name not in acted
            ]
            if not due:
                break
            for state in due:
                if not self.plan_state.following() or self._signalled():
                    break
                if state.active and state.due <= now:  # a stop earlier in the pass may end it
                    acted.add(state.step.name)
                    self._act(state, now)
            if self._signalled() and take_signals(self, self.interrupts(), self.clock.monotonic()):
                break  # a signal came during the pass: nothing more starts, stops come first
        self.active = {name: state for name, state in self.active.items() if state.active}

    def _signalled(self) -> bool:
        """An interrupt came that the engine has not acted on yet."""
        return self.interrupts() != self.plan_state.signals

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
        """Call the handler of the step's phase, and go on while it leaves the step due now.
        A handler moves its step one way: by the phase it returns. `end` and `leave` return
        DONE, to be returned; a step ended another way is caught here. Each handler is given
        the time it is called at, not the pass's: the requests before it (other steps', and
        those the request budget held) take time, and a run's clock counts from its start."""
        while True:
            now = max(now, self.clock.monotonic())
            try:
                after = HANDLERS[state.phase](self, state, now)
            except FusionError as error:
                after = fusion_error(self, state, now, error)
            if not self.plan_state.following():  # the plan stopped at once: every step is done
                return
            ended = state.phase is Phase.DONE
            assert ended == (after is Phase.DONE), f"{state.step.name}: {after} in {state.phase}"
            if ended:
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
        return self.plan.timeout is not None and self.plan_state.stage is Stage.RUNNING

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

    def rejoin(self, state: StepState) -> Phase | None:
        """A step begun before its upstream settled (--resume) has no run going after all: it
        waits for its upstream as any step does. None: it may start now. Else the phase to
        return: UPSTREAM to wait, or DONE when run_if has skipped it."""
        go, skips = self.scheduler.rejoin(state.step.name)
        if go:
            return None
        self.active.pop(state.step.name, None)
        if skips:
            self._skip(skips, announce=True)
            return Phase.DONE
        state.data = None
        return Phase.UPSTREAM

    def end(self, state: StepState, outcome: Outcome | None, reason: Reason | None) -> Phase:
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
            return Phase.DONE
        if self.plan_state.stage is Stage.RUNNING:
            stop_all(self, self.clock.monotonic(), Outcome.CANCELLED, Outcome.NOT_RUN, cause)
        return Phase.DONE

    def leave(self, state: StepState, reason: Reason) -> Phase:
        """Stop following the step's run, which may still be going: the report keeps it open, as
        a run for --resume to pick up, and the step counts as not succeeded."""
        last = state.result.attempts[-1] if state.result.attempts else None
        if last is not None and last.open and (last.run_keys or last.requested_at):
            last.outcome = AttemptOutcome.LEFT_RUNNING
        return self.end(state, None, reason)

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
                    duration=result.duration,
                    run_id=last.run_id if last else None,
                )
            )

    def conclude(self) -> None:
        """The plan is over: its outcome, from what its steps and fusion-run's stop say."""
        result = self.result
        result.ended_at = self.clock.wall()
        if self.plan_state.interrupted:
            result.outcome = PlanOutcome.INTERRUPTED
        elif result.error is not None or any(s.fails_the_plan for s in result.steps):
            result.outcome = PlanOutcome.FAILED
        else:
            result.outcome = PlanOutcome.SUCCEEDED
        result.verdict = judged(result)
        self.emit(PlanEnded(outcome=result.outcome))
