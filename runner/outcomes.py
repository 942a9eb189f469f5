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


class PlanOutcome(enum.StrEnum):
    """How the plan ended; `running` until it has."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
