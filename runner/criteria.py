"""A success criterion as judged: what the plan expected, what the run showed, whether it passed,
and the figures that say why not. `runner.engine.judge` makes them; `runner.wording` says them in
words; the report keeps both."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class CriterionName(enum.StrEnum):
    STATE = "state"  # the run's end state is one the plan accepts
    MAX_DURATION = "max_duration"  # the run took no longer than this
    EXPECT = "expect"  # a JMESPath expression on the run's final status is truthy


@dataclass(frozen=True, kw_only=True, slots=True)
class Criterion:
    name: CriterionName
    expected: Any  # accepted states, the longest duration in seconds, or the expression
    actual: Any  # the state, the duration in seconds (None: unknown), or the expression's value
    passed: bool
    run: str | None = None  # state: the run, as Fusion names it
    message: str | None = None  # state: Fusion's failure message for the run
    operands: tuple[tuple[str, Any], ...] = ()  # expect: each field side of a failed comparison
    error: str | None = None  # expect: why the expression could not be evaluated
