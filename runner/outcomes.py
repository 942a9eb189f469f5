"""How a step, and the plan, can end: the closed sets every other module shares."""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    """How a step ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    NOT_RUN = "not_run"


# How a step ends when it fails on its own: what `allow_failure` lets it do without failing the plan
FAILURES = frozenset({Outcome.FAILED, Outcome.TIMED_OUT, Outcome.CANCELLED})


class PlanOutcome(enum.StrEnum):
    """How the plan ended; `running` until it has."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class AttemptOutcome(enum.StrEnum):
    """How one attempt ended; an open attempt (being started or followed) has none."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # ended in a state or with criteria the plan does not accept
    TIMED_OUT = "timed_out"  # cancelled because the step's timeout passed
    CANCELLED = (
        "cancelled"  # cancelled because fusion-run stopped: interrupt, fail_fast, plan timeout
    )
    LEFT_RUNNING = "left_running"  # fusion-run stopped following it; the run may still be going
    NOT_STARTED = "not_started"  # the start never reached Fusion, or was refused
