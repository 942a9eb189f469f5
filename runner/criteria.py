"""A success criterion as judged: what the plan expected, what the run showed, whether it passed,
and the figures that say why not. `runner.engine.judge` makes them; `runner.wording` says them in
words; the report keeps both. A criterion of `Level.WARN` that does not hold is a warning: it
never fails the step."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class CriterionName(enum.StrEnum):
    STATE = "state"  # the run's end state is one the plan accepts
    MAX_DURATION = "max_duration"  # the run took no longer than this
    EXPECT = "expect"  # a JMESPath expression on the run's final status is truthy
    WORK = "work"  # the run did work: at least `min_documents` documents indexed or written
    STATUS = "status"  # a request's answer has a status the plan accepts (`request:`, `webhook:`)


class Level(enum.StrEnum):
    FAIL = "fail"  # fails the step when it does not hold
    WARN = "warn"  # a warning when it does not hold; never changes an outcome


@dataclass(frozen=True, kw_only=True, slots=True)
class Criterion:
    name: CriterionName
    expected: Any  # accepted states, the longest duration in seconds, the expression, or the
    # fewest documents
    actual: Any  # the state, the duration in seconds (None: unknown), the expression's value, or
    # the documents counted (None: Fusion reported no count)
    passed: bool
    level: Level = Level.FAIL
    run: str | None = None  # state, work: the run, as Fusion names it
    message: str | None = None  # state: Fusion's failure message for the run
    operands: tuple[tuple[str, Any], ...] = ()  # expect: each field side of a failed comparison
    error: str | None = None  # expect: why the expression could not be evaluated
    counted: str | None = None  # work: what was counted, e.g. "docsWritten"; None: no count
    remainder_of: str | None = None  # work: the interrupted run whose remainder this run crawled
    no_previous: bool = False  # expect on `previous`: there was no good run before; not judged
    hint: str | None = None  # expect, failed: a key it reads the status does not have, and the fix
