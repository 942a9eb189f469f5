"""What every phase handler shares: the engine as they see it (`Context`), the polling and
retry constants, and the rule that tells our run from the ones Fusion listed before our start."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol, TypeVar

from runner.clock import Clock
from runner.engine.phases import Before, Phase, StepState
from runner.events import Event
from runner.fusion import Fusion, FusionError
from runner.fusion.budget import RETRY_AFTER_AT_LEAST
from runner.fusion.status import RunStatus
from runner.outcomes import Outcome
from runner.plan import Step
from runner.reasons import Reason

MIN_WAIT = 0.05  # seconds: the shortest wait between two reads of one run
AGE_SHARE = 0.1  # each wait is this share of what is awaited's age: an end is seen <= 10 % late
STALE_READS = 3  # reads showing another run before we look ours up in /all
HISTORY_EVERY = 4  # a Jobs API run's history is read at least every this many status reads
CANCEL_GRACE = 60.0  # how long to follow a cancelled run to `cancelled`
START_TRIES = 3  # starts of one attempt that may fail before anything ran
SERVER_ERROR_TRIES = 5  # 500s in a row before they count as Fusion's answer, not a fault
VERIFY_EVERY = 1.0  # seconds: the shortest wait between two looks for a lost start's run
# Seconds a run may take to show in Fusion's status or lists after its start: Fusion's channels
# lag (5.12 made them asynchronous; counters show ~10 s after a start), so a start is never
# sent again, nor taken as not begun, before this has passed with no new run in sight.
IDENTIFY_WITHIN = 120.0
EXPECTED_SLACK = 0.05  # seconds after a run's expected end (its last good run's duration) to read
JITTER = 0.1  # retry delays vary by up to this fraction either way
RETRY_AFTER_AT_MOST = 300.0  # seconds: a longer Retry-After is waited this long (the retry budget)
# Runs of a list read before a start that the step keeps, newest first: what tells our run from
# the ones before it is the job's latest run as its status showed it before the start, which
# the step keeps too; the newest listed cover a status that lags. So a job's age costs nothing.
RECORDED_RUNS = 10


class Context(Protocol):
    """What a handler may use of the engine."""

    fusion: Fusion
    clock: Clock
    rng: random.Random

    def emit(self, event: Event) -> None: ...
    def warn(self, event: Event) -> None: ...
    # A handler moves its step by the phase it returns; `end` and `leave` return DONE for it.
    def end(self, s: StepState, outcome: Outcome | None, reason: Reason | None) -> Phase: ...
    def leave(self, s: StepState, reason: Reason) -> Phase: ...  # stop following; may go on
    def may_start(self) -> bool: ...  # False once the plan stops starting steps: no retries
    def rejoin(self, s: StepState) -> Phase | None: ...  # begun early (--resume), no run: wait?


Handler = Callable[[Context, StepState, float], Phase]
D = TypeVar("D")


def phase_data(s: StepState, kind: type[D]) -> D:
    assert isinstance(s.data, kind), f"{s.step.name} in {s.phase} holds {s.data!r}"
    return s.data


def is_new(before: Before, status: RunStatus) -> bool:
    """A run Fusion did not list before our start: the only kind that can be ours. Nothing
    else is asked of Fusion: no order of its lists, no clock that agrees with ours, not even
    its own clock going forward (5.9.11's times go back 12 hours at noon)."""
    return status.visible and status.named and not status.keys & before.known


def is_ours(ours: frozenset[str], status: RunStatus) -> bool:
    """`status` is of the run known by `ours`: a key meets, and no start time disagrees (a run
    has one; an id alone may be an earlier run's, given again)."""
    if not status.keys & ours:
        return False
    starts = {key for key in status.keys if key.startswith("start:")}
    return not starts or bool(starts & ours) or not any(k.startswith("start:") for k in ours)


def backoff(rng: random.Random, failures: int, error: FusionError) -> float:
    """Seconds before trying again: Fusion's Retry-After (at least RETRY_AFTER_AT_LEAST, at most
    RETRY_AFTER_AT_MOST), else 1, 2, 4 ... 60, ±10 %."""
    if error.retry_after is not None:
        return min(max(error.retry_after, RETRY_AFTER_AT_LEAST), RETRY_AFTER_AT_MOST)
    return min(60.0, 2.0 ** min(failures - 1, 6)) * (1 + rng.uniform(-JITTER, JITTER))


def interval(step: Step, age: float) -> float:
    """The wait before the next read of something `age` seconds old: a tenth of its age, at
    least MIN_WAIT and at most the step's poll_interval. So an end is seen at most 10 % (or
    50 ms) late whatever the run's length, and reads thin out as a run grows old: a run of
    10 minutes costs about 110 reads, of 2 hours about 770 (poll_interval 10s)."""
    return min(float(step.poll_interval), max(MIN_WAIT, AGE_SHARE * age))
