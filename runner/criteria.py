"""A success criterion as judged: what the plan expected, what the run showed, and whether it
passed. `runner.engine.judge` makes them; the report keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Criterion:
    name: str  # "state", "max_duration", or "expect"
    expected: Any  # accepted states, the longest duration in seconds, or the expression
    actual: Any  # the state, the duration in seconds, or the expression's value
    passed: bool
    reason: str | None = None  # why it failed, in words
