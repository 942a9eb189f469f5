"""Fusion's own schedule of a job, read tolerantly: the `JobConfig` of
`GET /jobs/{resource}/schedule` (`enabled`, `triggers[]`) and the job view's `nextStartTime`
(`GET /jobs/{resource}`).

Fusion's sources disagree on how a trigger is written, and every shape reads into one `Trigger`:

- cron: `type: cron` with `expression` (the docs' prose says `value`: read too);
- interval: `type: interval` with `interval`, `timeUnit` (the spec, real payloads) or `repeatUnit`
  (the docs), and `startTime`;
- chain: the spec's `triggerType` (`ON_SUCCESS`, `ON_FAILURE`, `ON_SUCCESS_OR_FAILURE`) with
  `otherJob`, or the docs' `type: job` with `jobID` and `runOnSuccess`, `runOnFailure`,
  `runOnAbort` (the UI's "job_completion").

`enabled`, on the configuration and on each trigger, may be a boolean or the string the 4.2 docs
send (`"true"`); absent, it is taken as enabled. A trigger of any other type is kept as `OTHER`
and judged by nobody. A repeated `"type"` key (Fusion 4's Jackson) reads as JSON reads it: once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from runner.clock import parse_time


class TriggerKind(enum.StrEnum):
    CRON = "cron"
    INTERVAL = "interval"
    CHAIN = "chain"
    OTHER = "other"


class Condition(enum.StrEnum):
    """When a chain trigger starts its job: the other job ended this way."""

    SUCCESS = "success"
    FAILURE = "failure"
    ABORT = "abort"


CHAIN_TYPES = frozenset({"job", "job_completion", "jobchain", "job_chain", "chain"})
TRIGGER_TYPES = {  # the spec's triggerType -> the ends it starts on
    "ON_SUCCESS": (Condition.SUCCESS,),
    "ON_FAILURE": (Condition.FAILURE,),
    "ON_SUCCESS_OR_FAILURE": (Condition.SUCCESS, Condition.FAILURE),
}
RUN_ON = {  # the docs' flags
    "runOnSuccess": Condition.SUCCESS,
    "runOnFailure": Condition.FAILURE,
    "runOnAbort": Condition.ABORT,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Trigger:
    kind: TriggerKind
    enabled: bool
    expression: str | None = None  # cron
    interval: int | float | None = None  # interval: how many `unit`s apart
    unit: str | None = None  # interval: lower case, `hour`, `day`, ...
    start_time: str | None = None  # interval: as Fusion wrote it
    other_job: str | None = None  # chain: the job whose end starts this one, as Fusion names it
    on: tuple[Condition, ...] = ()  # chain: the ends it starts on; empty when Fusion does not say


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    enabled: bool
    triggers: tuple[Trigger, ...]
    next_start: datetime | None = None  # the job view's nextStartTime, when it was read

    @property
    def timed(self) -> bool:
        """An enabled cron or interval trigger on an enabled schedule: it has a next start."""
        return self.enabled and any(
            t.enabled and t.kind in (TriggerKind.CRON, TriggerKind.INTERVAL) for t in self.triggers
        )


def parse_schedule(data: Any) -> Schedule:
    """A `JobConfig`; ValueError if it is not a JSON object. Triggers that are not objects are
    left out."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object (a schedule), got {type(data).__name__}")
    triggers = data.get("triggers")
    listed = triggers if isinstance(triggers, list) else []
    return Schedule(
        enabled=_enabled(data.get("enabled")),
        triggers=tuple(parse_trigger(t) for t in listed if isinstance(t, dict)),
    )


def parse_trigger(data: dict[str, Any]) -> Trigger:
    kind = str(data.get("type") or "").lower()
    enabled = _enabled(data.get("enabled"))
    if "triggerType" in data or "otherJob" in data or "jobID" in data or kind in CHAIN_TYPES:
        other = data.get("otherJob", data.get("jobID"))
        on = TRIGGER_TYPES.get(str(data.get("triggerType") or "").upper(), ())
        if not on:
            on = tuple(end for name, end in RUN_ON.items() if _enabled(data.get(name), False))
        return Trigger(
            kind=TriggerKind.CHAIN,
            enabled=enabled,
            other_job=other if isinstance(other, str) and other else None,
            on=on,
        )
    if kind == "cron":
        expression = data.get("expression", data.get("value"))
        return Trigger(kind=TriggerKind.CRON, enabled=enabled, expression=_text(expression))
    if kind == "interval":
        number = _interval(data.get("interval"))
        unit = _text(data.get("timeUnit", data.get("repeatUnit")))
        return Trigger(
            kind=TriggerKind.INTERVAL,
            enabled=enabled,
            interval=number,
            unit=None if unit is None else unit.lower(),
            start_time=_text(data.get("startTime")),
        )
    return Trigger(kind=TriggerKind.OTHER, enabled=enabled)


def _interval(value: Any) -> int | float | None:
    """An interval trigger's `interval`: a number more than 0, or a string of digits; else
    None (it is said as not given, never as a number it is not).

    >>> _interval(30), _interval("30"), _interval(-5), _interval(True), _interval("x")
    (30, 30, None, None, None)
    """
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 18 else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if 0 < value < float("inf") else None


def with_view(schedule: Schedule, view: Any) -> Schedule:
    """`schedule` with what the job view adds: its `nextStartTime`, and `enabled: false`, which
    turns the job's schedule off."""
    if not isinstance(view, dict):
        return schedule
    enabled = schedule.enabled and _enabled(view.get("enabled"))
    return replace(schedule, enabled=enabled, next_start=parse_time(view.get("nextStartTime")))


def masked(schedule: Schedule, mask: Callable[[str], str]) -> Schedule:
    """`schedule` with each string Fusion wrote in its triggers passed through `mask`."""

    def text(value: str | None) -> str | None:
        return None if value is None else mask(value)

    triggers = tuple(
        replace(
            t,
            expression=text(t.expression),
            unit=text(t.unit),
            start_time=text(t.start_time),
            other_job=text(t.other_job),
        )
        for t in schedule.triggers
    )
    return replace(schedule, triggers=triggers)


def _enabled(value: Any, absent: bool = True) -> bool:
    if value is None:
        return absent
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
