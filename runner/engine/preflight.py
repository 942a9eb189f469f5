"""Before anything starts: every step's job must exist in Fusion, checked once per job.

This is fusion-run's first contact with Fusion, and a wrong set-up says so here, soon: a host name
that does not resolve at once, and a Fusion that never answers (connection refused, no route)
after `fusion.first_contact` (30 s by default). Once Fusion has answered, transient faults are
ridden out within the plan's retry budget, as the steps' reads are. Past either, `Unreachable`.
Credentials that may not read configurations (403) make the check impossible, which is a
warning, not a failure: the steps' own requests will tell. `survey` also reads each job's latest
run, for --check: what is going now, and so what each step's on_running would do.
`check_schedules` reads Fusion's own schedule of each job, once, and says which triggers may start
a plan job during the plan (`runner.engine.schedules`); a read that fails is a warning.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit

from runner import wording
from runner.clock import Clock
from runner.engine.context import backoff
from runner.engine.schedules import findings
from runner.events import (
    ConfigurationsUnreadable,
    ContactLost,
    Event,
    FusionMayStart,
    SchedulesUnreadable,
)
from runner.fusion import ErrorKind, Fusion, FusionError, Unreached
from runner.fusion.schedule import Schedule
from runner.fusion.status import RunStatus
from runner.plan import Plan, Schedules, Step
from runner.reasons import HostNotFound, LostContact, NoFirstContact

T = TypeVar("T")


class Unreachable(Exception):
    """Fusion is out of reach before anything started: why, in `reason`."""

    def __init__(self, reason: LostContact | HostNotFound | NoFirstContact) -> None:
        super().__init__(reason)
        self.reason = reason


class JobsNotFound(Exception):
    """The preflight found steps whose job Fusion has no configuration for."""

    def __init__(self, steps: list[tuple[int, Step]]) -> None:
        super().__init__(f"{len(steps)} job(s) not found")
        self.steps = steps  # (index in the plan, step)


def check_jobs(
    plan: Plan,
    fusion: Fusion,
    clock: Clock,
    *,
    rng: random.Random,
    interrupts: Callable[[], int],
    emit: Callable[[Event], None],
    warn: Callable[[Event], None],
    only: Collection[str] | None = None,
) -> None:
    """JobsNotFound naming every step (of those named `only`, if given) whose job does not
    exist; nothing starts either way."""
    asking = _Asking(plan=plan, clock=clock, rng=rng, interrupts=interrupts, emit=emit)
    steps = [(i, step) for i, step in enumerate(plan.steps) if only is None or step.name in only]
    known = _existence((step for _, step in steps if step.call is None), fusion, asking, warn)
    if known is None:
        return
    missing = [(i, step) for i, step in steps if step.call is None and not known[step.job]]
    if missing:
        raise JobsNotFound(missing)


class ScheduledByFusion(Exception):
    """With fusion.schedules: fail, triggers of Fusion's own scheduler may start plan jobs."""

    def __init__(self, found: list[FusionMayStart]) -> None:
        super().__init__(f"{len(found)} trigger(s) may start plan jobs")
        self.found = found


def check_schedules(
    plan: Plan,
    fusion: Fusion,
    clock: Clock,
    *,
    rng: random.Random,
    interrupts: Callable[[], int],
    emit: Callable[[Event], None],
    warn: Callable[[Event], None],
    only: Collection[str] | None = None,
) -> list[FusionMayStart]:
    """The triggers of Fusion's own scheduler that may start a job of the plan (of the steps
    named `only`, if given) during the plan; each job's schedule is read once, and not at all
    with fusion.schedules: off. Each is warned of with fusion.schedules: warn. A read that fails
    (refused, or Fusion out of reach after the usual patience) is one warning, and no more are
    read: the plan goes on."""
    if plan.fusion.schedules is Schedules.OFF:
        return []
    # after the jobs' own checks: Fusion has answered, and its faults get the retry budget
    asking = _Asking(
        plan=plan, clock=clock, rng=rng, interrupts=interrupts, emit=emit, answered=True
    )
    schedules: dict[str, Schedule | None] = {}
    for step in plan.steps:
        if step.job in schedules or (only is not None and step.name not in only) or step.gate:
            continue
        if step.call is not None:  # a request starts no job: there is no schedule to read
            continue  # a require: step's job is Fusion's to start: the plan starts it never
        try:
            schedules[step.job] = asking.patiently(partial(fusion.schedule, step.job))
        except FusionError as error:
            warn(SchedulesUnreadable(job=step.job, error=str(error)))
            return []
        except Unreachable as unreachable:
            warn(SchedulesUnreadable(job=step.job, error=wording.text(unreachable.reason)))
            return []
    found = findings(plan, schedules, clock.wall(), only)
    if plan.fusion.schedules is Schedules.WARN:
        for finding in found:
            warn(finding)
    return found


@dataclass(frozen=True, kw_only=True, slots=True)
class Readiness:
    """What the preflight found of one step's job, with nothing started."""

    index: int  # in the plan
    step: Step
    exists: bool | None  # None: these credentials may not read job configurations, or not asked
    active: RunStatus | None  # the job's run going now; None when none is (or it does not exist)
    selected: bool = True  # False: --select or --exclude left it out, and Fusion was not asked


def survey(
    plan: Plan,
    fusion: Fusion,
    clock: Clock,
    *,
    rng: random.Random,
    interrupts: Callable[[], int],
    emit: Callable[[Event], None],
    warn: Callable[[Event], None],
    only: Collection[str] | None = None,
) -> list[Readiness]:
    """For every step (of those named `only`, if given): does its job exist, and is a run of
    it going now? Each job is asked once, and Fusion's faults are ridden out as a run's first
    requests would be."""
    asking = _Asking(plan=plan, clock=clock, rng=rng, interrupts=interrupts, emit=emit)
    wanted = [step for step in plan.steps if only is None or step.name in only]
    known = _existence([s for s in wanted if s.call is None], fusion, asking, warn)
    latest: dict[str, RunStatus | None] = {}
    found = []
    for index, step in enumerate(plan.steps):
        if step not in wanted:
            found.append(
                Readiness(index=index, step=step, exists=None, active=None, selected=False)
            )
            continue
        if step.call is not None:  # a request: nothing to ask Fusion before it is sent
            found.append(Readiness(index=index, step=step, exists=None, active=None))
            continue
        exists = None if known is None else known[step.job]
        if exists is not False and step.job not in latest:
            status = asking.patiently(partial(fusion.status, step.job))
            latest[step.job] = status if status.active and status.visible else None
        found.append(Readiness(index=index, step=step, exists=exists, active=latest.get(step.job)))
    return found


def _existence(
    steps: Iterable[Step], fusion: Fusion, asking: _Asking, warn: Callable[[Event], None]
) -> dict[str, bool] | None:
    """Whether each job has a configuration in Fusion; None when these credentials may not
    read configurations (403), which is a warning: the steps' own requests will tell."""
    known: dict[str, bool] = {}
    for step in steps:
        if step.job in known:
            continue
        try:
            config = asking.patiently(partial(fusion.configuration, step.job))
        except FusionError as error:
            if error.kind is ErrorKind.CREDENTIALS and error.status == 403:
                warn(ConfigurationsUnreadable())
                return None
            raise
        known[step.job] = config is not None
    return known


@dataclass(kw_only=True, slots=True)
class _Asking:
    """How the preflight asks Fusion: through transient faults, within the first-contact window
    until Fusion has answered once, within the plan's retry budget after."""

    plan: Plan
    clock: Clock
    rng: random.Random
    interrupts: Callable[[], int]
    emit: Callable[[Event], None]
    answered: bool = False  # Fusion has answered a request (an error status is an answer)

    def patiently(self, ask: Callable[[], T]) -> T:
        """What `ask` returns, trying again through transient faults; past the window that
        applies, Unreachable."""
        clock = self.clock
        since, failures = clock.monotonic(), 0
        while True:
            try:
                answer = ask()
            except FusionError as error:
                failed_at = clock.monotonic()
                out_of_reach = failed_at - since
                if error.kind is ErrorKind.INTERRUPTED:
                    raise KeyboardInterrupt from None
                # Fusion has answered once it sends any HTTP status; a connection refused, a
                # request with no answer in time, a connection dropped mid-way are not answers.
                first = not self.answered and error.status is None
                self.answered = self.answered or error.status is not None
                if error.kind is not ErrorKind.TRANSIENT:
                    raise
                if first and error.unreached is Unreached.NO_HOST:
                    host = urlsplit(error.url).hostname or error.url
                    raise Unreachable(HostNotFound(host=host, error=str(error))) from None
                window = self.plan.fusion.first_contact if first else self.plan.fusion.retry_budget
                ends = since + window  # compared and slept to as one sum: a sleep of what is
                if failed_at >= ends:  # left of `window - out_of_reach` could be under a tick
                    raise Unreachable(self._why(error, window, out_of_reach, first)) from None
                if not failures:
                    self.emit(ContactLost(error=str(error)))
                failures += 1
                clock.sleep(min(backoff(self.rng, failures, error), ends - failed_at))
                if self.interrupts():
                    raise KeyboardInterrupt from None
            else:
                self.answered = True
                return answer

    def _why(
        self, error: FusionError, window: float, out_of_reach: float, first: bool
    ) -> LostContact | NoFirstContact:
        if first:
            base = error.url.split(self.plan.fusion.api, 1)[0]
            seconds = max(window, round(out_of_reach))  # a request may outlast the window
            return NoFirstContact(url=base, seconds=seconds, error=str(error))
        return LostContact(seconds=out_of_reach, error=str(error))
