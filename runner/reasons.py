"""Why a step ended as it did, or why fusion-run stopped: typed facts, with no English.

The engine and the scheduler say *what* happened with these records; `runner.wording` says it in
words, once, for the console, the report, JUnit and the GitHub summary. A reason read back from an
earlier report is `Carried`: its words, as they were written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from runner.criteria import Criterion
from runner.outcomes import Outcome

# --- why fusion-run stops following runs, or cancels them -----------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class StepTimeout:
    limit: float  # seconds


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanTimeout:
    limit: float  # seconds


@dataclass(frozen=True, kw_only=True, slots=True)
class Interrupted:
    """SIGINT or SIGTERM."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InterruptedBeforeStart:
    """A signal came while fusion-run checked the jobs, before anything started."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FailFast:
    step: str  # the step whose failure stopped the plan
    skipped: bool = False  # skipped for a failure it is not allowed: StepResult.fails_the_plan


@dataclass(frozen=True, kw_only=True, slots=True)
class Detached:
    """Interrupted with on_interrupt: detach: the runs go on in Fusion."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialsRefused:
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class JobsMissing:
    count: int
    steps: tuple[str, ...] = ()  # the steps whose job Fusion does not know (none: not kept)


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggersFound:
    """fusion.schedules: fail, and `count` triggers of Fusion's own scheduler may start plan
    jobs during the plan: it stopped before anything started, as for an invalid plan."""

    count: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanRefused:
    """The plan or the command line was refused (exit 2) before the plan could begin: an invalid
    plan, a variable not set, a resume refused. `error` is the refusal, as fusion-run printed it."""

    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LostContact:
    seconds: float
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class HostNotFound:
    """Fusion's host name does not resolve: a wrong URL, said at once."""

    host: str
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class NoFirstContact:
    """Fusion never answered (refused, no route) for the whole first-contact window."""

    url: str
    seconds: float
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportUnwritable:
    """The report could not be written, so a start could not be recorded before it was sent."""

    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Stalled:
    """No counter of the run moved for `still` seconds, `limit` (stall_after) or more."""

    counters: tuple[tuple[str, int | float], ...]  # as the last read showed them
    still: float  # seconds
    limit: float  # seconds


@dataclass(frozen=True, kw_only=True, slots=True)
class Carried:
    """Words written earlier (an earlier report, or an error's own message)."""

    text: str


Cause = (
    StepTimeout
    | PlanTimeout
    | Interrupted
    | InterruptedBeforeStart
    | FailFast
    | Detached
    | CredentialsRefused
    | JobsMissing
    | TriggersFound
    | PlanRefused
    | LostContact
    | HostNotFound
    | NoFirstContact
    | ReportUnwritable
    | Stalled
    | Carried
)


# --- why a step ended other than succeeded --------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class AlreadyRunning:
    """on_running: fail, and the job had an active run."""

    job: str
    run_id: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class OtherRunOutlasted:
    """on_running: wait, and the other run was still going when the step's timeout passed; or
    Fusion kept refusing the start, saying a run is active, though it showed none."""

    run_id: str | None
    limit: float
    refused: int = 0  # starts Fusion refused
    unadopted: bool = False  # on_running: adopt, and only the job's view said the run is going


@dataclass(frozen=True, kw_only=True, slots=True)
class LatestRunUnknown:
    """Until the step's timeout passed, Fusion showed the job's latest run with no id and no
    start time: a run started then could not have been told from it, so none was."""

    job: str
    limit: float


@dataclass(frozen=True, kw_only=True, slots=True)
class StartFailed:
    job: str
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Cancelled:
    """Fusion showed the run ended after fusion-run asked it to cancel."""

    cause: Cause
    run_id: str | None


class Unconfirmed(enum.Enum):
    GRACE_PASSED = "grace passed"  # Fusion did not show the run ended within the grace period
    INTERRUPTED_AGAIN = "interrupted again"  # a second signal: fusion-run stopped waiting


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelUnconfirmed:
    """fusion-run asked Fusion to cancel the run, but never saw it end: it may still be going."""

    cause: Cause
    run_id: str | None
    why: Unconfirmed
    grace: float = 0.0  # seconds waited


@dataclass(frozen=True, kw_only=True, slots=True)
class NoNewRun:
    """Fusion accepted the start, but listed no run it had not listed before, for `waited` s."""

    job: str
    waited: float


@dataclass(frozen=True, kw_only=True, slots=True)
class HistorySilent:
    """A Jobs API job's view said our run ended, but its history did not list the run for
    `waited` s: a view's status may be another run's, so the run is not judged on it."""

    run_id: str | None
    waited: float


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerUnknown:
    """A `request:` step's request may have reached Fusion, and its answer is unknown (lost on
    the way, or fusion-run stopped before it came); it is not repeat_safe, so it is not sent
    again. `sent` is its method and path."""

    sent: str
    error: str | None = None  # why the answer was lost; None: an earlier fusion-run stopped


@dataclass(frozen=True, kw_only=True, slots=True)
class GateFailed:
    """A `require:` step: Fusion listed no run of `job` that ended in an accepted state within
    `within` s before now. `run_id`, `state`, `ended` and `ago` are of the newest that did (ended
    before the window), if any; `cut`: the list held as many runs as Fusion lists at most;
    `future`: accepted runs whose end was over a minute ahead of now, not trusted."""

    job: str
    states: tuple[str, ...]
    within: float  # seconds
    run_id: str | None = None
    state: str | None = None
    ended: str | None = None  # ISO-8601, as the report writes times
    ago: float | None = None  # seconds before the check
    cut: bool = False
    future: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class CriteriaFailed:
    criteria: tuple[Criterion, ...]  # the ones that failed


@dataclass(frozen=True, kw_only=True, slots=True)
class FusionAnswered:
    """Fusion answered a request with an error that no retry can mend."""

    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MayBeRunning:
    """fusion-run stopped following the run for `why`; the run may still be going in Fusion."""

    run_id: str | None
    why: LostContact | FusionAnswered


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryStopped:
    """The step was waiting to retry when the plan stopped: its last failure, and why it stopped."""

    failure: Reason
    cause: Cause


@dataclass(frozen=True, kw_only=True, slots=True)
class StillRunning:
    """fusion-run stopped following this step's run, which goes on in Fusion."""

    run_id: str | None
    cause: Cause


@dataclass(frozen=True, kw_only=True, slots=True)
class StartUnconfirmed:
    """fusion-run stopped while it looked for the run of a start whose answer was lost."""

    cause: Cause


@dataclass(frozen=True, kw_only=True, slots=True)
class NotStarted:
    cause: Cause


@dataclass(frozen=True, kw_only=True, slots=True)
class NotSelected:
    """--select or --exclude left the step out: it does not run, and does not fail the plan.
    On a resume, what an earlier fusion-run left of it stays on record for a later resume."""

    run_id: str | None = None  # a run an earlier fusion-run left going, not followed now
    unverified: bool = False  # a start an earlier fusion-run sent, with no answer on record


# --- why the plan did not succeed, beside the causes above (`runner.verdict`) --------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class StepsFailed:
    """The steps that failed the plan, each with its outcome as the report writes it."""

    steps: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportLost:
    """The final report could not be written (it went to stderr instead)."""

    error: str


# --- why the scheduler skipped a step (run_if) ----------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class UpstreamFailed:
    upstream: str
    outcome: Outcome | None  # None: its run was left going
    more: int  # other failed upstreams


@dataclass(frozen=True, kw_only=True, slots=True)
class NoUpstreamSucceeded:
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class NoUpstreamFailed:
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class UpstreamDidNotFail:
    upstream: str


@dataclass(frozen=True, kw_only=True, slots=True)
class EveryUpstreamExcluded:
    pass


# A skip by the step's own run_if: the failure it handles did not happen; it fails nothing.
EXCLUSIONS = (NoUpstreamFailed, UpstreamDidNotFail, EveryUpstreamExcluded)

SkipReason = (
    UpstreamFailed
    | NoUpstreamSucceeded
    | NoUpstreamFailed
    | UpstreamDidNotFail
    | EveryUpstreamExcluded
)

Reason = (
    AlreadyRunning
    | OtherRunOutlasted
    | LatestRunUnknown
    | StartFailed
    | NoNewRun
    | HistorySilent
    | Cancelled
    | CancelUnconfirmed
    | MayBeRunning
    | RetryStopped
    | CriteriaFailed
    | GateFailed
    | AnswerUnknown
    | FusionAnswered
    | LostContact
    | StillRunning
    | StartUnconfirmed
    | NotStarted
    | NotSelected
    | SkipReason
    | Carried
)
