"""Running a plan: the single-threaded driver that joins the scheduler to Fusion and a clock.

Concurrency comes from Fusion running jobs side by side, not from threads here. Each loop starts
the steps the scheduler says are ready, acts on every active step that is due (start, read its
status, cancel), and sleeps until the next thing is due. Every change of state goes to
`on_change`, which writes the report, so the report on disk always says where the run is.

A status is ours only if its run id is the one the start gave us; Fusion's "latest run" can still
be the previous one right after a start, and after `STALE_READS` such reads we look ours up in
`/all`. Status reads start soon after a start and stretch geometrically up to the step's
`poll_interval`: a short job is seen ending soon, a long one is not hammered.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.client import ErrorKind, Fusion, FusionError
from runner.clock import Clock
from runner.durations import format_duration
from runner.errors import FatalError
from runner.judge import Criterion, judge
from runner.plan import OnRunning, Plan, Step
from runner.problems import InvalidPlan, Problem
from runner.scheduler import Outcome, Scheduler
from runner.status import CANCELLED, RunStatus, job_kind

FIRST_POLL = 0.5  # seconds after a start before the first status read
POLL_GROWTH = 1.15  # each wait between reads is this much longer, up to poll_interval
STALE_READS = 3  # reads showing another run before we look ours up in /all
CANCEL_GRACE = 60.0  # how long to follow a cancelled run to `cancelled`
START_TRIES = 3  # starts of one attempt that may fail before anything ran
VERIFY_LOOKUPS = 2  # looks for the run of a start whose answer was lost, 2 s apart
CLOCK_SKEW = 300.0  # seconds our clock and Fusion's may disagree when matching a run to a start
EXPECTED_SLACK = 0.2  # seconds after a run's expected end (its last good run's duration) to read
LONG_AGO = datetime.min.replace(tzinfo=UTC)
JITTER = 0.1  # retry delays vary by up to this fraction either way


class Phase(enum.Enum):
    DUE = "due"  # check for an active run, then start
    VERIFY = "verifying"  # a start's answer was lost: find the run it began before starting again
    WAITING = "waiting"  # for someone else's run to end (on_running: wait)
    POLLING = "polling"  # our run is active
    CANCELLING = "cancelling"  # we asked Fusion to cancel our run
    RETRY = "retry"  # waiting out retry_delay before the next attempt
    DONE = "done"


@dataclass
class Attempt:
    number: int
    run_id: str | None = None
    adopted: bool = False
    state: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None  # seconds
    error: str | None = None  # Fusion's failure message
    criteria: list[Criterion] = field(default_factory=list)
    status_reads: int = 0


@dataclass
class StepRun:
    step: Step
    outcome: Outcome | None = None
    reason: str | None = None
    skipped_by_run_if: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    phase: Phase = Phase.DONE
    due: float = 0.0
    run_id: str | None = None  # the run we follow
    run_started: float = 0.0  # clock time of the start (or adoption)
    became_due: float = 0.0
    reads: int = 0  # status reads in this phase, for the adaptive interval
    stale: int = 0  # consecutive reads that showed another run
    latest_before: str | None = None  # the latest run id seen before our start
    start_failures: int = 0
    lookups: int = 0  # looks for the run of a start whose answer was lost
    resume_run_id: str | None = None  # a run an earlier fusion-run left active, to pick up
    expected: float | None = None  # seconds this run should take: its job's last good run
    known_before: set[str] = field(default_factory=set)  # run ids Fusion listed before our start
    start_wall: datetime = LONG_AGO  # when we asked Fusion to start
    last_error: FusionError | None = None  # of the start being verified
    lost_since: float | None = None  # first failed request of the current streak
    contact_failures: int = 0  # failed requests in the current streak
    cancel_outcome: Outcome | None = None  # why we cancel: timed_out or cancelled
    cancel_deadline: float = 0.0
    last_state: str | None = None

    @property
    def active(self) -> bool:
        return self.phase is not Phase.DONE


@dataclass(frozen=True, slots=True)
class Event:
    at: float  # seconds since the plan started
    step: str | None
    kind: str  # started, state, succeeded, failed, timed_out, skipped, cancelled, not_run, retry,
    # waiting, adopted, cancelling, warning, contact
    message: str


@dataclass(frozen=True, kw_only=True)
class Resume:
    """What an earlier report hands on: steps that succeeded (kept, with their attempts) and the
    runs that were still active (looked up and followed rather than started again)."""

    path: str
    outcome: str
    succeeded: dict[str, list[Attempt]]
    active_runs: dict[str, str]  # step name -> run id


def _trying_again(error: FusionError) -> str:
    return f"lost contact with Fusion ({error}); trying again"


def _lost_contact(seconds: float, error: FusionError) -> str:
    """Why a step, or the check before the start, gave up on Fusion."""
    return f"lost contact with Fusion for {format_duration(seconds)} (last error: {error})"


class Unreachable(FatalError):
    """Fusion stayed out of reach for the whole retry budget before anything started."""


class Stop(Exception):
    """Ends the run early: credentials refused mid-run. The report names the active runs."""


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
        on_event: Callable[[Event], None] = lambda _: None,
        on_change: Callable[[Engine], None] = lambda _: None,
        interrupts: Callable[[], int] = lambda: 0,
        on_tick: Callable[[Engine], None] | None = None,
        tick_every: float = 1.0,
        detach: bool = False,
        resume: Resume | None = None,
    ) -> None:
        self.plan = plan
        self.fusion = fusion
        self.clock = clock
        self.url = url
        self.rng = rng or random.Random()
        self.on_event = on_event
        self.on_change = on_change
        self.interrupts = interrupts
        self.on_tick = on_tick
        self.tick_every = tick_every
        self.detach = detach
        self.detached = False
        self.resume = resume
        self.scheduler = Scheduler(
            plan.steps, max_parallel=max_parallel or plan.max_parallel, fail_fast=plan.fail_fast
        )
        self.runs = {step.name: StepRun(step) for step in plan.steps}
        self.active: dict[str, StepRun] = {}
        self.started_at: datetime = clock.wall()
        self.ended_at: datetime | None = None
        self.t0 = clock.monotonic()
        self.interrupted = False
        self.plan_timed_out = False
        self.stopped_by: str | None = None  # fail_fast: the step that stopped the plan
        self.error: str | None = None  # why fusion-run stopped following the runs
        self.warnings: list[str] = []
        self._dirty = self._urgent = False
        self._written = float("-inf")
        if resume:
            self._carry(resume)

    # --- the outcome ------------------------------------------------------------------------------

    @property
    def outcome(self) -> str:
        if self.interrupted:
            return "interrupted"
        if self.ended_at is None:
            return "running"
        return "failed" if self.error or self.failed_steps() else "succeeded"

    def failed_steps(self) -> list[StepRun]:
        """Steps not allowed to fail that ended other than succeeded or skipped by run_if."""
        return [
            run
            for run in self.runs.values()
            if run.outcome not in (None, Outcome.SUCCEEDED)
            and not run.skipped_by_run_if
            and not run.step.allow_failure
        ]

    # --- the loop ---------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Every step's job must exist: InvalidPlan naming all that do not; nothing starts."""
        unknown: list[Problem] = []
        checked: dict[str, bool] = {}
        for index, step in enumerate(self.plan.steps):
            if step.job not in checked:
                try:
                    checked[step.job] = self._configuration(step.job) is not None
                except FusionError as error:
                    if error.kind is ErrorKind.CREDENTIALS and error.status == 403:
                        self._warn(
                            None,
                            "these credentials may not read job configurations (403), "
                            "so fusion-run cannot check that every job exists before starting",
                        )
                        return
                    raise
            if not checked[step.job]:
                unknown.append(
                    Problem(
                        file=self.plan.file,
                        line=step.line,
                        column=step.column,
                        path=("steps", index),
                        message=f"job {step.job!r} has no configuration in Fusion at {self.url}",
                    )
                )
        if unknown:
            raise InvalidPlan(unknown)

    def _configuration(self, job: str) -> dict[str, Any] | None:
        """The job's configuration, trying again through transient faults within the budget."""
        since, failures = self.clock.monotonic(), 0
        while True:
            try:
                return self.fusion.configuration(job)
            except FusionError as error:
                out_of_reach = self.clock.monotonic() - since
                if error.kind is not ErrorKind.TRANSIENT:
                    raise
                if out_of_reach >= self.plan.fusion.retry_budget:
                    raise Unreachable(_lost_contact(out_of_reach, error)) from None
                if not failures:
                    self._emit(None, "contact", _trying_again(error))
                failures += 1
                self.clock.sleep(self._backoff(failures, error))
                if self.interrupts():
                    raise KeyboardInterrupt from None

    def abort(self, why: str, *, interrupted: bool = False) -> None:
        """Before anything started: end the run with every step not run, and say why."""
        self.error, self.interrupted = why, interrupted
        for run in self.runs.values():
            run.outcome, run.reason = Outcome.NOT_RUN, f"not started: {why}"
        self.ended_at = self.clock.wall()
        self._changed()
        self._flush()

    def run(self) -> str:
        """Run the plan to its end; the outcome: succeeded, failed or interrupted."""
        self._changed()
        self._flush()  # the report exists, every step pending, before anything starts
        try:
            while not self.scheduler.done:
                self._tick()
                self._flush(soon=True)
                if self.on_tick:
                    self.on_tick(self)
                if not self.scheduler.done:
                    wait = self._next_due() - self.clock.monotonic()
                    self.clock.sleep(min(wait, self.tick_every) if self.on_tick else wait)
        except Stop:
            pass
        self.ended_at = self.clock.wall()
        self._changed()
        self._flush()
        return self.outcome

    def _tick(self) -> None:
        now = self.clock.monotonic()
        if self.interrupts() and not self.interrupted:
            self._interrupt(now)
        elif self.interrupts() > 1:
            self._stop_waiting()
            return
        if (
            self.plan.timeout is not None
            and not self.plan_timed_out
            and not self.interrupted
            and now - self.t0 >= self.plan.timeout
        ):
            self._time_out_plan(now)
        for name in self.scheduler.ready():
            run = self.runs[name]
            run.phase, run.due, run.became_due = Phase.DUE, now, now
            self.active[name] = run
        for run in sorted(self.active.values(), key=lambda r: r.due):
            if run.active and run.due <= now:
                self._act(run, now)
        self.active = {name: run for name, run in self.active.items() if run.active}

    def _next_due(self) -> float:
        due = [run.due for run in self.active.values()]
        if self.plan.timeout is not None and not self.plan_timed_out:
            due.append(self.t0 + self.plan.timeout)
        return min(due, default=self.clock.monotonic())

    def _act(self, run: StepRun, now: float) -> None:
        try:
            if run.phase is Phase.DUE or run.phase is Phase.RETRY:
                self._check_then_start(run, now)
            elif run.phase is Phase.VERIFY:
                self._verify_start(run, now)
            elif run.phase is Phase.WAITING:
                self._wait_for_other(run, now)
            else:
                self._poll(run, now)
        except FusionError as error:
            self._fusion_error(run, now, error)

    # --- starting ---------------------------------------------------------------------------------

    def _carry(self, resume: Resume) -> None:
        for name, attempts in resume.succeeded.items():
            run = self.runs[name]
            run.outcome, run.attempts = Outcome.SUCCEEDED, attempts
            self.scheduler.carry(name)
        for name, run_id in resume.active_runs.items():
            self.runs[name].resume_run_id = run_id

    def _check_then_start(self, run: StepRun, now: float) -> None:
        if run.resume_run_id:
            self._pick_up(run, now)
            return
        latest = self.fusion.status(run.step.job)
        self._in_contact(run)
        run.latest_before = latest.run_id
        run.expected = None
        if latest.terminal and latest.state in run.step.success.states and latest.duration:
            run.expected = latest.duration  # the last good run: this one likely takes as long
        if latest.active and latest.visible:
            policy = run.step.on_running
            if policy is OnRunning.FAIL:
                self._finish(
                    run,
                    Outcome.FAILED,
                    f"job {run.step.job} is already running (run {latest.run_id}) "
                    "and on_running is fail",
                )
                return
            if policy is OnRunning.ADOPT:
                self._follow(run, now, latest, adopted=True)
                return
            run.phase, run.reads = Phase.WAITING, 0
            self._emit(run, "waiting", f"waiting for run {latest.run_id}, already running, to end")
            run.due = now + self._interval(run)
            return
        self._start(run, now)

    def _pick_up(self, run: StepRun, now: float) -> None:
        """Resume following the run an earlier fusion-run left active; start only if it is gone."""
        wanted, run.resume_run_id = run.resume_run_id, None
        latest = self.fusion.status(run.step.job)
        self._in_contact(run)
        found = latest if latest.run_id == wanted else None
        found = found or next(
            (r for r in self.fusion.runs(run.step.job) if r.run_id == wanted), None
        )
        if found is None:
            self._emit(run, "warning", f"run {wanted} is not in Fusion any more; starting the job")
            run.latest_before = latest.run_id
            self._start(run, now)
            return
        self._follow(run, now, found, adopted=True)

    def _wait_for_other(self, run: StepRun, now: float) -> None:
        status = self.fusion.status(run.step.job)
        self._in_contact(run)
        if status.active and status.visible:
            if now - run.became_due >= run.step.timeout:
                self._finish(
                    run,
                    Outcome.TIMED_OUT,
                    f"run {status.run_id} was still running after "
                    f"{format_duration(run.step.timeout)} "
                    "(on_running: wait)",
                )
                return
            run.reads += 1
            run.due = now + self._interval(run)
            return
        run.latest_before = status.run_id
        self._start(run, now)

    def _start(self, run: StepRun, now: float) -> None:
        if job_kind(run.step.job)[0] != "spark":
            # The Jobs API names no run at a start, and its history may lag: remember every run
            # it lists now, so that none of them is ever taken for ours.
            run.known_before = {r.run_id for r in self.fusion.runs(run.step.job) if r.run_id}
        run.start_wall = self.clock.wall()
        try:
            status = self.fusion.start(run.step.job)
        except FusionError as error:
            self._start_failed(run, now, error)
            return
        self._follow(run, now, status, adopted=False)

    def _start_failed(self, run: StepRun, now: float, error: FusionError) -> None:
        if error.kind is ErrorKind.CREDENTIALS:
            raise error
        if error.status == 409:  # a run began since we looked: deal with it as on_running says
            run.phase, run.due = Phase.DUE, now + FIRST_POLL
            return
        if error.maybe_applied:
            # The start may have happened: find its run before anything else, never start twice.
            self._emit(
                run, "warning", f"the start's answer was lost ({error}); looking for its run"
            )
            run.phase, run.due, run.lookups, run.last_error = Phase.VERIFY, now, 0, error
            return
        self._start_again(run, now, error)

    def _verify_start(self, run: StepRun, now: float) -> None:
        runs = self.fusion.runs(run.step.job)
        self._in_contact(run)
        newest = runs[0] if runs else None
        if newest is not None and self._could_be_ours(run, newest):
            self._emit(run, "warning", f"following run {newest.run_id}, which the lost start began")
            self._follow(run, now, newest, adopted=False)
            return
        run.lookups += 1
        if run.lookups < VERIFY_LOOKUPS:  # Fusion may list a new run a moment late
            run.due = now + 2 * FIRST_POLL
            return
        assert run.last_error is not None
        self._start_again(run, now, run.last_error)

    def _start_again(self, run: StepRun, now: float, error: FusionError) -> None:
        run.start_failures += 1
        if error.kind is ErrorKind.TRANSIENT and run.start_failures < START_TRIES:
            self._emit(run, "contact", f"start failed ({error}); trying again")
            run.phase, run.due = Phase.DUE, now + self._backoff(run.start_failures, error)
            return
        self._finish(run, Outcome.FAILED, f"could not start job {run.step.job}: {error}")

    def _follow(self, run: StepRun, now: float, status: RunStatus, *, adopted: bool) -> None:
        attempt = Attempt(
            number=len(run.attempts) + 1, run_id=status.run_id, adopted=adopted, state=status.state
        )
        run.attempts.append(attempt)
        run.run_id, run.run_started, run.reads, run.stale = status.run_id, now, 0, 0
        run.start_failures, run.last_state, run.phase = 0, status.state, Phase.POLLING
        self._changed()
        verb = "adopted" if adopted else "started"
        which = f"run {status.run_id}" if status.run_id else "a run; its id comes from the history"
        again = f" (attempt {attempt.number})" if attempt.number > 1 else ""
        self._emit(run, verb, f"{verb} {which}{again}")
        if status.terminal and status.run_id:
            self._ended(run, now, status)
            return
        run.due = now + FIRST_POLL

    # --- following a run --------------------------------------------------------------------------

    def _poll(self, run: StepRun, now: float) -> None:
        status = self.fusion.status(run.step.job)
        self._in_contact(run)
        attempt = run.attempts[-1]
        attempt.status_reads += 1
        if run.run_id is None and status.visible and self._could_be_ours(run, status):
            # A Jobs API start gives no run id: ours is the first run newer than the one before.
            run.run_id = attempt.run_id = status.run_id
            run.last_state = status.state
            self._emit(run, "state", f"run {status.run_id} {status.state}")
            self._changed()
        if status.run_id != run.run_id or not status.visible:
            run.stale += 1
            found = self._look_up(run) if run.stale >= STALE_READS else None
            if found is None:
                self._check_deadlines(run, now)
                self._next_read(run, now)
                return
            status = found
        run.stale = 0
        attempt.state = status.state
        if status.state != run.last_state:
            run.last_state = status.state
            self._changed(minor=True)
            if not status.terminal:
                self._emit(run, "state", status.state)
        if status.terminal:
            self._ended(run, now, status)
            return
        self._check_deadlines(run, now)
        self._next_read(run, now)

    def _next_read(self, run: StepRun, now: float) -> None:
        """When to read again: the adaptive interval, but never past a deadline, so that a
        timeout or the end of a cancellation's grace is acted on when it falls due. When the
        job's last good run says when this one should end, read just after that, then start
        the short waits again: a run that takes as long as last time is seen ending at once."""
        if run.phase is Phase.DONE:
            return
        run.reads += 1
        wait = self._interval(run)
        if run.expected is not None and run.phase is Phase.POLLING:
            until_expected = run.run_started + run.expected + EXPECTED_SLACK - now
            if until_expected <= 0:  # the expected end has passed: short waits again
                run.expected, run.reads = None, 0
                wait = self._interval(run)
            else:
                wait = min(wait, until_expected)
        if run.phase is Phase.CANCELLING:
            deadline = run.cancel_deadline
        else:
            deadline = run.run_started + run.step.timeout
        run.due = now + (wait if deadline <= now else min(wait, deadline - now))

    def _could_be_ours(self, run: StepRun, status: RunStatus) -> bool:
        """A run this step's start may have begun: one Fusion did not show before the start,
        that did not begin well before it (allowing for clocks that disagree)."""
        if (
            not status.run_id
            or status.run_id == run.latest_before
            or status.run_id in run.known_before
        ):
            return False
        return status.started is None or status.started >= run.start_wall - timedelta(
            seconds=CLOCK_SKEW
        )

    def _look_up(self, run: StepRun) -> RunStatus | None:
        if run.run_id is None:  # not known yet: nothing to look for
            return None
        return next((r for r in self.fusion.runs(run.step.job) if r.run_id == run.run_id), None)

    def _check_deadlines(self, run: StepRun, now: float) -> None:
        if run.phase is Phase.CANCELLING:
            if now >= run.cancel_deadline:
                assert run.cancel_outcome is not None
                self._finish(
                    run,
                    run.cancel_outcome,
                    self._cancel_reason(run)
                    + f"; Fusion did not confirm it within {format_duration(CANCEL_GRACE)}",
                )
            return
        if now - run.run_started >= run.step.timeout:
            self._cancel(run, now, Outcome.TIMED_OUT)

    def _cancel(self, run: StepRun, now: float, why: Outcome) -> None:
        run.phase, run.cancel_outcome, run.cancel_deadline = (
            Phase.CANCELLING,
            why,
            now + CANCEL_GRACE,
        )
        self._emit(run, "cancelling", f"cancelling run {run.run_id}: {self._cancel_cause(run)}")
        try:
            self.fusion.cancel(run.step.job)
        except FusionError as error:  # the reads that follow meet the same fault, and handle it
            self._warn(run, f"cancelling run {run.run_id} failed: {error}")
        run.reads, run.due = 0, now + FIRST_POLL
        self._changed()

    def _cancel_cause(self, run: StepRun) -> str:
        if run.cancel_outcome is Outcome.TIMED_OUT and self.plan_timed_out:
            return f"the plan's timeout of {format_duration(self.plan.timeout or 0)} passed"
        if run.cancel_outcome is Outcome.TIMED_OUT:
            return f"the step's timeout of {format_duration(run.step.timeout)} passed"
        if self.interrupted:
            return "fusion-run was interrupted"
        return f"step {self.stopped_by!r} failed and fail_fast is on"

    def _cancel_reason(self, run: StepRun) -> str:
        return f"{self._cancel_cause(run)}; run {run.run_id} cancelled"

    def _ended(self, run: StepRun, now: float, status: RunStatus) -> None:
        attempt = run.attempts[-1]
        observed = now - run.run_started
        attempt.state = status.state
        attempt.duration = status.duration if status.duration is not None else observed
        attempt.started_at = status.started or self.clock.wall() - timedelta(seconds=observed)
        attempt.ended_at = status.ended or self.clock.wall()
        attempt.error = status.message
        ended_on_its_own = status.state not in CANCELLED and run.cancel_outcome is Outcome.CANCELLED
        if run.phase is Phase.CANCELLING and not ended_on_its_own:
            assert run.cancel_outcome is not None
            attempt.criteria = []
            if (
                run.cancel_outcome is Outcome.TIMED_OUT
                and not self.plan_timed_out
                and self._retry(run, now, "timeout")
            ):
                return
            self._finish(run, run.cancel_outcome, self._cancel_reason(run))
            return
        attempt.criteria = judge(status, run.step.success, duration=attempt.duration)
        failed = [c for c in attempt.criteria if not c.passed]
        if not failed:
            self._finish(run, Outcome.SUCCEEDED, None)
            return
        reason = "; ".join(c.reason or c.name for c in failed)
        kind = "state" if failed[0].name == "state" else "criteria"
        if self._retry(run, now, kind, reason):
            return
        self._finish(run, Outcome.FAILED, reason)

    def _retry(self, run: StepRun, now: float, kind: str, reason: str | None = None) -> bool:
        step = run.step
        if kind not in step.retry_on or len(run.attempts) > step.retries or self.scheduler.stopped:
            return False
        delay = step.retry_delay * step.retry_backoff ** (len(run.attempts) - 1)
        delay *= 1 + self.rng.uniform(-JITTER, JITTER)
        why = reason or self._cancel_reason(run)
        self._emit(
            run,
            "retry",
            f"attempt {len(run.attempts)} failed ({why}); retrying in {format_duration(delay)}",
        )
        run.phase, run.due, run.became_due = Phase.RETRY, now + delay, now + delay
        self._changed()
        return True

    def _interval(self, run: StepRun) -> float:
        return min(float(run.step.poll_interval), FIRST_POLL * POLL_GROWTH ** (run.reads + 1))

    # --- Fusion's faults --------------------------------------------------------------------------

    def _fusion_error(self, run: StepRun, now: float, error: FusionError) -> None:
        if error.kind is ErrorKind.CREDENTIALS:
            self.error = f"Fusion refused the credentials: {error}"
            self._stop_following(self.error)
        if error.kind is not ErrorKind.TRANSIENT:
            self._finish(run, Outcome.FAILED, f"Fusion answered with an error: {error}")
            return
        if run.lost_since is None:
            run.lost_since = now
            self._emit(run, "contact", _trying_again(error))
        if now - run.lost_since >= self.plan.fusion.retry_budget:
            self._finish(run, Outcome.FAILED, _lost_contact(now - run.lost_since, error))
            return
        run.contact_failures += 1
        run.due = now + self._backoff(run.contact_failures, error)

    @staticmethod
    def _in_contact(run: StepRun) -> None:
        run.lost_since, run.contact_failures = None, 0

    def _backoff(self, failures: int, error: FusionError) -> float:
        """Seconds before trying again: Fusion's Retry-After, else 1, 2, 4 ... 60, ±10 %."""
        if error.retry_after is not None:
            return error.retry_after
        return min(60.0, 2.0 ** min(failures - 1, 6)) * (1 + self.rng.uniform(-JITTER, JITTER))

    # --- ending steps and the plan ----------------------------------------------------------------

    def _finish(self, run: StepRun, outcome: Outcome, reason: str | None) -> None:
        run.outcome, run.reason, run.phase = outcome, reason, Phase.DONE
        attempt = run.attempts[-1] if run.attempts else None
        took = (
            f" in {format_duration(attempt.duration)}"
            if attempt and attempt.duration is not None
            else ""
        )
        message = f"{str(outcome).replace('_', ' ')}{took}" + (f": {reason}" if reason else "")
        if attempt and attempt.run_id and outcome is Outcome.SUCCEEDED:
            message += f" (run {attempt.run_id})"
        self._emit(run, str(outcome), message)
        for skip in self.scheduler.finished(run.step.name, outcome):
            skipped = self.runs[skip.name]
            skipped.outcome, skipped.reason, skipped.skipped_by_run_if = (
                Outcome.SKIPPED,
                skip.reason,
                True,
            )
            self._emit(skipped, "skipped", f"skipped: {skip.reason}")
        if (
            self.scheduler.stopped
            and self.stopped_by is None
            and not self.interrupted
            and not self.plan_timed_out
        ):
            self.stopped_by = run.step.name
            self._stop_all(
                self.clock.monotonic(),
                Outcome.CANCELLED,
                Outcome.NOT_RUN,
                f"not started: step {run.step.name!r} failed and fail_fast is on",
            )
        self._changed()

    def _stop_all(
        self, now: float, active_outcome: Outcome, pending_outcome: Outcome, reason: str
    ) -> None:
        for name in self.scheduler.stop():
            pending = self.runs[name]
            pending.outcome, pending.reason = pending_outcome, reason
            self.scheduler.skip(name, pending_outcome)
            self._emit(pending, str(pending_outcome), reason)
        for run in list(self.active.values()):
            if not run.active or run.phase is Phase.CANCELLING:
                continue
            if run.phase is Phase.POLLING:
                self._cancel(run, now, active_outcome)
            else:  # due, waiting or between attempts: nothing of ours runs in Fusion
                self._finish(run, pending_outcome, reason)

    def _time_out_plan(self, now: float) -> None:
        self.plan_timed_out = True
        limit = format_duration(self.plan.timeout or 0)
        self._stop_all(
            now,
            Outcome.TIMED_OUT,
            Outcome.SKIPPED,
            f"not started: the plan's timeout of {limit} passed",
        )

    def _interrupt(self, now: float) -> None:
        self.interrupted = True
        if self.detach:
            self.detached = True
            self._emit(None, "warning", "interrupted: detaching, the active runs go on in Fusion")
            self._stop_following("fusion-run detached")
        self._emit(
            None, "warning", "interrupted: cancelling active runs (interrupt again to stop waiting)"
        )
        self._stop_all(
            now, Outcome.CANCELLED, Outcome.NOT_RUN, "not started: fusion-run was interrupted"
        )
        self._changed()

    def _stop_waiting(self) -> None:
        """A second interrupt: record the runs being cancelled without waiting for Fusion."""
        for run in list(self.active.values()):
            if run.active:
                self._finish(
                    run,
                    Outcome.CANCELLED,
                    self._cancel_reason(run) + "; interrupted again before Fusion confirmed it",
                )

    def _stop_following(self, why: str) -> None:
        """Stop at once. Runs still going in Fusion are left as they are, and the report says so."""
        for run in self.active.values():
            if run.phase in (Phase.POLLING, Phase.CANCELLING):
                run.reason = f"still running in Fusion (run {run.run_id}); {why}"
            elif run.phase is Phase.VERIFY:
                run.reason = f"a start was sent but its answer was lost; check Fusion; {why}"
            elif run.active:  # due, waiting or between attempts: no run of ours is going
                run.outcome, run.reason = Outcome.NOT_RUN, f"not started: {why}"
            run.phase = Phase.DONE
        for name in self.scheduler.stop():
            self.runs[name].outcome, self.runs[name].reason = Outcome.NOT_RUN, f"not started: {why}"
        self.active = {}
        raise Stop

    # --- the report -------------------------------------------------------------------------------

    def _changed(self, *, minor: bool = False) -> None:
        """Something the report shows changed; `minor` ones (a run's state) may wait a second."""
        self._dirty = True
        self._urgent = self._urgent or not minor

    def _flush(self, *, soon: bool = False) -> None:
        """Hand the state to `on_change`: at once, or with `soon` once a tick if anything urgent
        changed and at least every second otherwise. Many changes in one tick make one write."""
        now = self.clock.monotonic()
        if not self._dirty or (soon and not self._urgent and now - self._written < 1):
            return
        self.on_change(self)
        self._dirty = self._urgent = False
        self._written = now

    # --- events -----------------------------------------------------------------------------------

    def _emit(self, run: StepRun | None, kind: str, message: str) -> None:
        at = self.clock.monotonic() - self.t0
        self.on_event(Event(at, run.step.name if run else None, kind, message))

    def _warn(self, run: StepRun | None, message: str) -> None:
        self.warnings.append(message)
        self._emit(run, "warning", message)
