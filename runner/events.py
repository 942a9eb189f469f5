"""What happens while a plan runs, as one stream of typed, frozen events: facts, no English.

The engine emits them in order; reporters (`runner.report.Reporter`) consume them with the
result model they describe: the console prints them (`runner.wording` says them in words), the
journal (`runner.report.journal`) decides from them when to write the report, and JUnit and the
GitHub summary render the final result. `at` is seconds since the plan started; `step` is None for
events about the plan as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.criteria import Criterion
from runner.outcomes import Outcome, PlanOutcome
from runner.reasons import Cause, Reason, Stalled


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    at: float = 0.0
    step: str | None = None


# --- a step's run ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class StartRequested(Event):
    """fusion-run is about to ask Fusion to start attempt `attempt`: the intent goes on disk
    first."""

    attempt: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Started(Event):
    """Fusion accepted a start (or, `adopted`, the step took over a run already going)."""

    run_id: str | None  # None when the Jobs API names no run: it comes from the history
    attempt: int
    adopted: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class RunPickedUp(Event):
    """--resume: the run an earlier fusion-run left going is followed again, as the same attempt."""

    run_id: str
    attempt: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RunIdentified(Event):
    """A Jobs API start named no run; the history now shows which run is ours."""

    run_id: str
    state: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StateChanged(Event):
    state: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FinalStatus(Event):
    """A run of ours ended: its final status as Fusion returned it, what `expect` is judged on."""

    run_id: str | None
    status: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class CriterionWarned(Event):
    """A criterion of level warn did not hold on a run of ours: a warning; the step goes on as
    if it had held."""

    run_id: str | None
    criterion: Criterion


@dataclass(frozen=True, kw_only=True, slots=True)
class CriterionNoted(Event):
    """A criterion held, with something to say (`runner.wording.note`): an expression on
    `previous` not judged for want of an earlier good run; counts that cover only the remainder
    of an interrupted crawl."""

    run_id: str | None
    criterion: Criterion


@dataclass(frozen=True, kw_only=True, slots=True)
class StepEnded(Event):
    """The step is done; `outcome` None means its run was left going (the reason says why)."""

    outcome: Outcome | None
    reason: Reason | None  # None when the step succeeded
    duration: float | None  # the step's (`runner.result.step_duration`), seconds
    run_id: str | None  # of the last attempt


@dataclass(frozen=True, kw_only=True, slots=True)
class Answered(Event):
    """A `request:` or `webhook:` step's request got an answer: `sent` is what outputs may show
    of it (the method and path, or the webhook's host)."""

    sent: str
    code: int  # the answer's status
    phrase: str  # ... and its reason phrase
    attempt: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Checked(Event):
    """A `require:` step read the job's runs, and started nothing: the newest run that ended in
    an accepted state (None: none that counts), and whether it ended within the window."""

    job: str
    run_id: str | None
    state: str | None
    ago: float | None  # seconds between its end and the check
    within: float  # seconds
    passed: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class EndInFuture(Event):
    """A warning: a `require:` step found a run whose end time is over a minute ahead of this
    machine's clock. Its time is not trusted, and the run does not count."""

    job: str
    run_id: str | None
    ahead: float  # seconds


@dataclass(frozen=True, kw_only=True, slots=True)
class Retrying(Event):
    attempt: int  # the attempt that failed
    reason: Reason
    delay: float  # seconds until the next attempt


@dataclass(frozen=True, kw_only=True, slots=True)
class RetriesUnused(Event):
    """An attempt failed with retries left, but retry_on does not name its kind of failure."""

    failure: str  # its kind, as retry_on names it: state, criteria or timeout
    retries: int  # the retries left, unused
    retry_on: tuple[str, ...]  # the step's retry_on
    call: bool = False  # a request: or webhook: step, whose failures are of its answer


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitingForOther(Event):
    """on_running: wait: another run of the job is active; the step starts when it ends."""

    run_id: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitingToKnowLatest(Event):
    """Fusion shows the job's latest run with no id and no start time: the step reads again,
    and starts once it can tell that run from a new one."""

    job: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Cancelling(Event):
    run_id: str | None
    cause: Cause


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelFailed(Event):
    run_id: str | None
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RunLate(Event):
    """Our run was still going `age` seconds after its start, past warn_after (`limit`
    seconds; `times` its job's last good run's duration, `expected`, when given so)."""

    run_id: str | None
    age: float
    limit: float
    times: float | None = None
    expected: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class NoBaseline(Event):
    """warn_after is a multiple of the job's last good run, and none is known for this run."""

    times: float


@dataclass(frozen=True, kw_only=True, slots=True)
class RunStalled(Event):
    """No counter of our run moved for stall_after; on_stall: warn, so the run goes on."""

    run_id: str | None
    stall: Stalled


@dataclass(frozen=True, kw_only=True, slots=True)
class DriverLogKept(Event):
    """A Spark run of ours failed: the end of its driver log is in the report (`lines` of it),
    or `note` says why there is none; `error` is the last line of it that names an exception or
    an error, if one does."""

    run_id: str | None
    lines: int
    note: str | None = None
    error: str | None = None


# --- Fusion's faults ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ContactLost(Event):
    """A request failed transiently; fusion-run tries again within the retry budget."""

    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StartRetrying(Event):
    """A start failed before it reached Fusion, or (`looked` > 0) its answer was lost and no run
    of it showed in `looked` seconds; fusion-run sends it again."""

    error: str
    looked: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class StartAnswerLost(Event):
    """A start may have reached Fusion, but its answer was lost: look for its run first."""

    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LostStartFound(Event):
    run_id: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class RunGone(Event):
    """The run an earlier fusion-run left going is not in Fusion any more."""

    run_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigurationsUnreadable(Event):
    """403 on reading job configurations: the preflight cannot check that the jobs exist."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FusionMayStart(Event):
    """Fusion's own scheduler may start the step's job during the plan: an enabled cron or
    interval trigger whose next start falls in the plan's expected window (or is unknown), or an
    enabled chain trigger that follows another job of the plan."""

    job: str
    trigger: str  # cron, interval or chain
    says: str  # its expression, its interval, or the job it follows and on which ends
    next_start: str | None = None  # the job view's nextStartTime (ISO-8601); None: none given


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulesUnreadable(Event):
    """A read of Fusion's own schedule of a job failed: whether Fusion may start a plan job
    during the plan is unknown."""

    job: str
    error: str


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class InterruptReceived(Event):
    detach: bool  # leave the runs going (on_interrupt: detach), or cancel them


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanStarted(Event):
    """The preflight passed; the steps start now."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ActiveRun:
    step: str
    phase: str  # the engine's phase, in a word
    age: float  # seconds since the run started
    run_id: str | None = None  # how to name the run (its id, or when it started)
    state: str | None = None  # Fusion's state of the run at the last status read
    counters: tuple[tuple[str, int | float], ...] = ()  # and the counters it showed then


@dataclass(frozen=True, kw_only=True, slots=True)
class Tick(Event):
    """The engine acted on everything due; it sleeps next. Reporters batch their work here."""

    active: tuple[ActiveRun, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanEnded(Event):
    outcome: PlanOutcome
