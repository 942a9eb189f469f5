"""The phases of a step, the one table of moves between them, and each phase's own data.

A step is in exactly one phase. The engine acts on a step when it is due, by calling the one
handler of its phase (`runner.engine.handlers.HANDLERS`); the handler returns the next phase, and
the engine checks the move against `TRANSITIONS`. The plan as a whole (an interrupt, the plan's
timeout, fail_fast, refused credentials, a detach) moves steps too, along the same table.

Every move, `FROM -> TO  when`:

    UPSTREAM    -> CHECK        the scheduler says the step may start
    UPSTREAM    -> PICK_UP      --resume: an earlier fusion-run left its run going (whatever the
                                step's upstream: the run began, and may be going now)
    UPSTREAM    -> VERIFY       --resume: an earlier fusion-run's start has no answer on record
    UPSTREAM    -> DONE         skipped by run_if, kept by --resume, left out by --select; a stop
    PICK_UP     -> PICK_UP      the run does not show (yet: Fusion's lists lag), or Fusion is out of
                                reach: look again
    PICK_UP     -> UPSTREAM     the run is gone, and the step's upstream has not settled: wait
    PICK_UP     -> FOLLOW       the run is still in Fusion, and still going
    PICK_UP     -> RETRY_DELAY  the run ended meanwhile, not as the plan accepts; retries left
    PICK_UP     -> START        the run is gone from Fusion: start the job
    PICK_UP     -> WAIT_OTHER   ... but another run of the job is going, and on_running is wait
    PICK_UP     -> CANCEL       the plan stops (timeout, fail_fast, signal): cancel the run
    PICK_UP     -> DONE         the run ended meanwhile and is judged; or an error; or a stop
    CHECK       -> CHECK        Fusion is out of reach: read again after a backoff
    CHECK       -> START        no run of the job is active
    CHECK       -> WAIT_OTHER   another run is active, and on_running is wait
    CHECK       -> FOLLOW       another run is active, and on_running is adopt
    CHECK       -> DONE         another run is active and on_running is fail; an error; a stop
                                a require: step read its job's runs and passed or failed
                                (`runner.engine.gating`): it never moves to START
                                a request: or webhook: step sent its request and its answer
                                passed, or failed (`runner.engine.calling`)
    CHECK       -> RETRY_DELAY  ... failed, with retries left: it never moves to START either
    WAIT_OTHER  -> WAIT_OTHER   the other run is still going, or a refused start waits to try again
    WAIT_OTHER  -> START        the other run ended (or none shows, after a refusal's backoff)
    WAIT_OTHER  -> FOLLOW       on_running is adopt, and the run that refused our start shows now
    WAIT_OTHER  -> DONE         the step's timeout passed first; or an error; or the plan stopped
    START       -> FOLLOW       Fusion took the start: its answer names a new run, or none yet
    START       -> RETRY_DELAY  the run ended within the start's answer, not accepted; retries left
    START       -> VERIFY       the start may have begun a run: its answer was lost, or names a run
                                listed before that is active (a refusal, or a stale answer)
    START       -> WAIT_OTHER   refused, a run is active (409, accepted: false): on_running wait
    START       -> CHECK        a fault before the request reached Fusion: check, then send again
    START       -> DONE         the run ended within the start's answer; or the start failed
    VERIFY      -> VERIFY       no new run listed yet, or Fusion is out of reach: look again
    VERIFY      -> FOLLOW       a run Fusion did not list before the start: the start's own
    VERIFY      -> CANCEL       ... found while the plan stops: cancel it
    VERIFY      -> RETRY_DELAY  that run has ended already, not as accepted; retries left
    VERIFY      -> CHECK        no such run for as long as a run takes to show: the start never
                                began one, send it again
    VERIFY      -> UPSTREAM     ... but (--resume) the step's upstream has not settled: wait
    VERIFY      -> DONE         that run has ended already and is judged; or the plan stopped a
                                cancel's grace ago and none showed (the start stays open, for
                                --resume); or a second signal; or an error
    FOLLOW      -> FOLLOW       the run is still going, or Fusion is out of reach for now
    FOLLOW      -> CANCEL       the step's timeout passed, or the plan stops (timeout, fail_fast...)
    FOLLOW      -> RETRY_DELAY  the run ended, not as the plan accepts, and retries are left
    FOLLOW      -> DONE         the run ended and is judged; or an error; or fusion-run stops
    CANCEL      -> CANCEL       Fusion has not shown the run ended yet
    CANCEL      -> RETRY_DELAY  cancelled by the step's timeout, and retry_on has timeout
    CANCEL      -> DONE         the run ended; or no confirmation in the grace (left); or a stop
    RETRY_DELAY -> CHECK        the delay is over: the next attempt begins
    RETRY_DELAY -> UPSTREAM     ... but (--resume) the step's upstream has not settled: wait
    RETRY_DELAY -> DONE         the plan stopped during the delay

A step in CHECK or START whose move leaves it due at once is acted on again in the same pass, so a
check, a start and its answer happen together, as one request follows another.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

from runner.fusion import FusionError
from runner.fusion.status import RunStatus
from runner.outcomes import Outcome
from runner.plan import Step
from runner.reasons import Cause, NotStarted, Reason
from runner.result import Attempt, StepResult

LONG_AGO = datetime.min.replace(tzinfo=UTC)


class Phase(enum.Enum):
    UPSTREAM = "waiting for upstream"  # the scheduler holds it
    PICK_UP = "picking up"  # look up the run an earlier fusion-run left going
    CHECK = "checking"  # is a run of the job active already?
    WAIT_OTHER = "waiting"  # someone else's run is active (on_running: wait)
    START = "starting"  # ask Fusion to start the job
    VERIFY = "verifying"  # a start's answer was lost: find its run before starting again
    FOLLOW = "polling"  # our run is active: read its status
    CANCEL = "cancelling"  # we asked Fusion to cancel our run: follow it to its end
    RETRY_DELAY = "retry"  # waiting out retry_delay before the next attempt
    DONE = "done"


P = Phase
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    P.UPSTREAM: frozenset({P.CHECK, P.PICK_UP, P.VERIFY, P.DONE}),
    P.PICK_UP: frozenset(
        {P.PICK_UP, P.UPSTREAM, P.FOLLOW, P.RETRY_DELAY, P.START, P.WAIT_OTHER, P.CANCEL, P.DONE}
    ),
    P.CHECK: frozenset({P.CHECK, P.START, P.WAIT_OTHER, P.FOLLOW, P.RETRY_DELAY, P.DONE}),
    P.WAIT_OTHER: frozenset({P.WAIT_OTHER, P.START, P.FOLLOW, P.DONE}),
    P.START: frozenset({P.FOLLOW, P.RETRY_DELAY, P.VERIFY, P.WAIT_OTHER, P.CHECK, P.DONE}),
    P.VERIFY: frozenset({P.VERIFY, P.UPSTREAM, P.FOLLOW, P.CANCEL, P.RETRY_DELAY, P.CHECK, P.DONE}),
    P.FOLLOW: frozenset({P.FOLLOW, P.CANCEL, P.RETRY_DELAY, P.DONE}),
    P.CANCEL: frozenset({P.CANCEL, P.RETRY_DELAY, P.DONE}),
    P.RETRY_DELAY: frozenset({P.CHECK, P.UPSTREAM, P.DONE}),
    P.DONE: frozenset(),
}
ACT_AT_ONCE = frozenset({P.CHECK, P.START})  # acted on in the same pass when entered due now


# --- what each phase keeps ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Before:
    """What Fusion showed before our start: how to tell our run from the ones already there.
    A run is ours only if none of its keys (`runner.fusion.status.RunStatus.keys`) is among
    these."""

    known: frozenset[str] = frozenset()  # the keys of every run the step read or had
    ended: frozenset[str] = frozenset()  # ... of those it saw ended
    active: frozenset[str] = frozenset()  # ... of those it saw going
    wall: datetime = LONG_AGO  # when we asked Fusion to start
    expected: float | None = None  # seconds the job's last good run took
    previous: RunStatus | None = None  # the job's last good run listed before our start
    remainder_of: str | None = None  # a datasource's latest run, interrupted: ours crawls the rest

    def revived(self, status: RunStatus) -> bool:
        """A run seen ended before that shows as going now: no run does that, so it is a new
        run under an old id (or a Fusion showing nonsense). Either way, a start may have begun
        a run that cannot be told from an earlier one."""
        return status.active and status.visible and bool(status.keys & self.ended)


@dataclass(kw_only=True, slots=True)
class Checking:
    failures: int = 0  # starts of this attempt that failed before anything ran
    unknowable: bool = False  # the job's latest run showed nothing to know it by (said once)


@dataclass(kw_only=True, slots=True)
class PickingUp:
    attempt: Attempt  # the earlier attempt whose run is to be followed again
    since: float | None = None  # clock time of the first look: a run may take a while to show


@dataclass(kw_only=True, slots=True)
class WaitingOther:
    failures: int = 0
    refusals: int = 0  # starts refused in a row while no active run showed
    unknowable: bool = False  # as Checking's


@dataclass(kw_only=True, slots=True)
class Starting:
    before: Before
    failures: int = 0
    refusals: int = 0  # starts refused in a row before this one, while no active run showed


@dataclass(frozen=True, kw_only=True, slots=True)
class StopOrder:
    """The plan stopped while the step looked for its run: cancel it if found, else end."""

    active: Outcome  # the outcome of a run found and cancelled
    pending: Outcome  # the outcome if no run began
    cause: Cause
    at: float  # clock time of the stop: the look goes on for a cancel's grace at most

    @property
    def reason(self) -> NotStarted:
        return NotStarted(cause=self.cause)


@dataclass(kw_only=True, slots=True)
class Verifying:
    before: Before
    error: FusionError | None  # what lost the start's answer; None for an earlier fusion-run's
    asked: float | None  # clock time of the start: its run has IDENTIFY_WITHIN to show (None:
    # an earlier fusion-run's start, whose time is on record)
    failures: int = 0
    stop: StopOrder | None = None
    revived: bool = False  # a run seen ended before showed going: a new run under an old id


@dataclass(kw_only=True, slots=True)
class CancelOrder:
    outcome: Outcome  # the step's outcome once Fusion confirms: timed_out, cancelled, failed
    cause: Cause
    ordered: float  # clock time the cancel was ordered
    deadline: float  # clock time after which we stop waiting for the confirmation
    sent: bool = False  # Fusion took the request; else the CANCEL handler sends it (again)
    warned: bool = False  # a send failed, and the user was told


@dataclass(kw_only=True, slots=True)
class Following:
    ours: frozenset[str]  # our run's keys; empty until Fusion shows which run is ours
    label: str | None  # how to name our run: its id, or when it started
    started: float  # clock time of the start or the adoption
    before: Before
    expected: float | None = None
    stale: int = 0  # consecutive reads that showed another run
    last_state: str | None = None
    counters: tuple[tuple[str, int | float], ...] = ()  # what the last status read showed
    cancel: CancelOrder | None = None  # set in CANCEL
    reads: int = 0  # status reads of our run
    first_active: float | None = None  # clock time of the first read that showed it going
    last_active: float | None = None  # ... and of the last
    going_read: int = -1  # which of the reads (`reads`) last showed it going
    view_ended: float | None = None  # when a Jobs API view first said it ended
    late: bool = False  # warn_after was acted on (or it can give no warning for this run)
    still: tuple[tuple[str, int | float], ...] = ()  # the counters last shown going ...
    still_since: float | None = None  # ... and the clock time they were first shown so
    stalled: bool = False  # stall_after was acted on
    end_in_sight_since: float | None = None  # when a read first showed it `finishing` or as far
    # on as the last good run went (`runner.engine.polling`) ...
    end_in_sight_wait: float = 0.0  # ... and the shortest wait between reads since


PhaseData = Checking | PickingUp | WaitingOther | Starting | Verifying | Following | None


@dataclass(kw_only=True, slots=True)
class Contact:
    """A streak of failed requests: when it began, how many failed, how many of those were 500s."""

    since: float
    failures: int = 0
    server_errors: int = 0


@dataclass(kw_only=True, slots=True)
class StepState:
    """A step inside the engine: its phase, when it is next due, and that phase's data."""

    step: Step
    result: StepResult
    phase: Phase = Phase.UPSTREAM
    due: float = 0.0
    became_due: float = 0.0  # when the current attempt came due: on_running: wait counts from it
    data: PhaseData = None
    contact: Contact | None = None
    round: int = 1  # retries count the failed attempts of this round (see `runner.result.Attempt`)
    failure: Reason | None = None  # the last failure, while waiting to retry
    seen: set[str] = field(default_factory=set)  # keys of every run read before our start
    seen_ended: set[str] = field(default_factory=set)  # ... of those read ended
    seen_active: set[str] = field(default_factory=set)  # ... of those read going

    def saw(self, *runs: RunStatus) -> None:
        """Keep what `runs`, read before our start, say of the runs there were."""
        for run in runs:
            self.seen |= run.keys
            if run.terminal:
                self.seen_ended |= run.keys
            elif run.active and run.visible:
                self.seen_active |= run.keys

    @property
    def active(self) -> bool:
        return self.phase is not Phase.DONE
