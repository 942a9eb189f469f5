"""Hand-made reports for the timeline's tests: only the fields `runner.report.timeline` and
`runner.report.gantt` read, times given in seconds after the plan's start (T0)."""

from __future__ import annotations

from typing import Any

T0 = "2026-01-01T00:00:00.000Z"


def at(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"2026-01-01T00:{int(minutes):02d}:{rest:06.3f}Z"


def attempt(
    number: int,
    requested: float | None,
    started: float | None,
    ended: float | None,
    outcome: str | None = "succeeded",
    *,
    duration: float | None = None,
) -> dict[str, Any]:
    if duration is None and started is not None and ended is not None:
        duration = ended - started
    return {
        "number": number,
        "outcome": outcome,
        "requested_at": None if requested is None else at(requested),
        "started_at": None if started is None else at(started),
        "ended_at": None if ended is None else at(ended),
        "duration": duration,
    }


def step(name: str, outcome: str, *attempts: dict[str, Any], gate: Any = None) -> dict[str, Any]:
    return {"name": name, "outcome": outcome, "attempts": list(attempts), "gate": gate}


def report(
    *steps: dict[str, Any], ended: float | None = 60.0, outcome: str = "succeeded"
) -> dict[str, Any]:
    return {
        "plan": {"name": "nightly"},
        "outcome": outcome,
        "started_at": T0,
        "ended_at": None if ended is None else at(ended),
        "steps": list(steps),
    }
