"""When each step's runs went, from a report alone: the bars that the GitHub summary's Mermaid
gantt (`runner.report.gantt`) and the HTML report draw.

Each attempt is a bar from the moment fusion-run asked Fusion to start it to the end of its run.
Where Fusion took a second or more to start the run, that wait is a bar of its own (`starting`);
the wait before a retry is one too (`retry`); a `require:` step's check is a point (`check`).
Times are seconds since the plan started. The start and end of a run are Fusion's own, whose
clock may differ from this machine's: where they do not fall between the run's start request and
the next request (or the plan's end), give or take a second, the run is drawn from its request
for as long as Fusion says it took, and no wait is drawn. So every bar stays inside the plan's
span, after the request that started it and before the next attempt's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner.clock import parse_time
from runner.durations import format_duration

# Seconds: a start that took less than this is drawn as part of its run, not as a wait.
SHOWN_WAIT = 1.0
# Seconds Fusion's times may fall outside this machine's (its run before our request, its end
# after the next request) and still be drawn as they are; beyond, its clock is not ours.
SKEW = 1.0

RUN, STARTING, RETRY, CHECK = "run", "starting", "retry", "check"


@dataclass(frozen=True, slots=True)
class Bar:
    """One span of a step's time: `kind` one of run, starting, retry, check; `outcome` the
    attempt's (its step's for a check; `waiting` for a wait); `label` says it in words."""

    step: str
    attempt: int  # 1-based; 0 for a check
    kind: str
    start: float  # seconds since the plan started
    end: float
    outcome: str
    label: str


@dataclass(frozen=True, slots=True)
class Row:
    step: str
    outcome: str  # the step's, as the report writes it
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    started: datetime | None  # when the plan started; None when the report has no time
    span: float  # seconds from the plan's start to its end (to the last bar while it runs)
    rows: tuple[Row, ...]  # one per step, in plan order

    @property
    def bars(self) -> tuple[Bar, ...]:
        return tuple(bar for row in self.rows for bar in row.bars)


def timeline(report: Mapping[str, Any]) -> Timeline:
    """The bars of a report's steps (of any report `runner.report.upgrade` has brought to the
    current format)."""
    started = parse_time(report["started_at"])
    if started is None:
        return Timeline(None, 0.0, tuple(Row(s["name"], s["outcome"], ()) for s in report["steps"]))

    def at(value: Any) -> float | None:
        moment = parse_time(value)
        return None if moment is None else (moment - started).total_seconds()

    known = [
        t
        for step in report["steps"]
        for attempt in step["attempts"]
        for t in (at(attempt["requested_at"]), at(attempt["ended_at"]))
        if t is not None
    ]
    end = at(report["ended_at"])
    span = max(0.0, end if end is not None else max(known, default=0.0))
    rows = []
    for step in report["steps"]:
        bars: list[Bar] = []
        if step["gate"] is not None and step["gate"]["checked_at"] is not None:
            point = _within(at(step["gate"]["checked_at"]) or 0.0, 0.0, span)
            words = "passed" if step["outcome"] == "succeeded" else step["outcome"]
            bars.append(
                Bar(step["name"], 0, CHECK, point, point, step["outcome"], f"checked, {words}")
            )
        attempts = step["attempts"]
        nexts = [at(later["requested_at"]) for later in attempts[1:]] + [None] * bool(attempts)
        previous_end: float | None = None
        for attempt, following in zip(attempts, nexts, strict=True):
            limit = span if following is None else _within(following, 0.0, span)
            drawn = _attempt_bars(step["name"], attempt, at=at, limit=limit, after=previous_end)
            bars += drawn
            if drawn:
                previous_end = drawn[-1].end
        rows.append(Row(step["name"], step["outcome"], tuple(bars)))
    return Timeline(started, span, tuple(rows))


def _attempt_bars(
    step: str,
    attempt: Mapping[str, Any],
    *,
    at: Callable[[Any], float | None],
    limit: float,
    after: float | None,
) -> list[Bar]:
    """The bars of one attempt, none past `limit` (the next attempt's request, or the plan's
    end), after `after` (the end of the attempt before)."""
    number = attempt["number"]
    requested = at(attempt["requested_at"])
    run_start, run_end = at(attempt["started_at"]), at(attempt["ended_at"])
    first = requested if requested is not None else run_start
    if first is None:  # a run picked up with no time known: nothing to draw
        return []
    first = _within(first, after or 0.0, limit)
    bars = []
    if after is not None and first > after:
        waited = first - after
        bars.append(
            Bar(step, number, RETRY, after, first, "waiting", f"retry after {_took(waited)}")
        )
    outcome = attempt["outcome"] or "running"  # open: the report was written while it ran
    if outcome == "not_started":
        return [
            *bars,
            Bar(step, number, STARTING, first, first, outcome, f"attempt {number} not started"),
        ]
    duration = attempt["duration"]
    if _trusted(first, run_start, run_end, limit):
        assert run_start is not None
        start = _within(run_start, first, limit)
        end = limit if run_end is None else _within(run_end, start, limit)
    else:  # Fusion's clock is not this machine's: the run as long as Fusion says, from its request
        start = first
        end = (
            limit
            if run_end is None or duration is None
            else _within(first + duration, first, limit)
        )
    if start - first >= SHOWN_WAIT:
        label = f"attempt {number} waited {_took(start - first)} for Fusion to start it"
        bars.append(Bar(step, number, STARTING, first, start, "waiting", label))
    else:
        start = first
    words = f"attempt {number} {outcome.replace('_', ' ')}"
    if run_end is None:  # still going when the report was last written
        words += f", {_took(end - start)} when last seen"
    else:
        words += f" in {_took(duration if duration is not None else end - start)}"
    bars.append(Bar(step, number, RUN, start, end, outcome, words))
    return bars


def _trusted(first: float, start: float | None, end: float | None, limit: float) -> bool:
    """Fusion's times of a run fit this machine's: it began after its start request and ended
    before the next request (or the plan's end), give or take `SKEW`."""
    if start is None or start < first - SKEW or start > limit + SKEW:
        return False
    return end is None or start <= end <= limit + SKEW


def _within(value: float, low: float, high: float) -> float:
    return min(max(value, low), max(low, high))


def _took(seconds: float) -> str:
    return format_duration(max(0.0, seconds))
