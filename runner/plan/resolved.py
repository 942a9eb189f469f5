"""The settings a plan resolved to, as plain JSON data, and what changed between two of them.

A report keeps them (`plan.settings`), so that `--resume` and `--graph --report` compare what a
plan means, not its file's bytes: a comment or a reformatted line changes nothing here. Every
field of `Plan`, `FusionSettings` and `Step` is a setting, but where it stands (`line`, `column`),
what names it (`file`, `sha256`, the `variables` it refers to) and how a dependency was written
(`implicit_dependency`: the same `depends_on` either way). What a `request:` or `webhook:` step
sends is kept as the outputs show it (`call.sent`, the names in `call.params`), and the rest (the
values, the body, the headers, a webhook's path) only as a digest, `call.sends`: a variable may
have given them, and no output says a variable's value.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from typing import Any

from runner.durations import format_duration
from runner.plan import Call, CallKind, Plan, Step
from runner.plan.calls import shown_host, shown_path

_NOT_SETTINGS = frozenset(
    {"file", "sha256", "variables", "steps", "line", "column", "implicit_dependency"}
)
_FLATTENED = ("fusion", "success")  # their settings are named `fusion.api`, `success.expect`
_UNSPELLED = frozenset({"call.sends"})  # a change to it is named, never its values

# Settings that decide how long fusion-run waits for a run, how often it reads it, how it reaches
# Fusion and how often it tries again, never what a run is nor how it is judged: a resume takes
# their new values without --force (docs/guides/resuming.md says why each).
ADJUSTABLE = frozenset(
    {
        "timeout",
        "poll_interval",
        "poll_auto",
        "retries",
        "retry_delay",
        "retry_backoff",
        "retry_on",
        "warn_after",
        "stall_after",
        "on_stall",
        "max_parallel",
        "on_interrupt",
        "tags",
        "for_each",
        "call.repeat_safe",
        "fusion.auth",
        "fusion.realm",
        "fusion.verify",
        "fusion.connect_timeout",
        "fusion.read_timeout",
        "fusion.retry_budget",
        "fusion.first_contact",
        "fusion.max_requests_per_second",
    }
)
_DURATIONS = frozenset(
    {
        "timeout",
        "poll_interval",
        "retry_delay",
        "stall_after",
        "success.max_duration",
        "fusion.connect_timeout",
        "fusion.read_timeout",
        "fusion.retry_budget",
        "fusion.first_contact",
    }
)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Change:
    """One setting that differs, in words (`step crawl: timeout 1h -> 2h`), and whether a resume
    may take it without --force."""

    text: str
    adjustable: bool


def settings(plan: Plan) -> dict[str, Any]:
    """The plan's settings and each step's, by name, as JSON data."""
    steps = {step.name: _fields(step) for step in plan.steps}
    for step in steps.values():
        del step["name"]  # each is under its name
    return {"plan": _fields(plan), "steps": steps}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What differs from `before` to `after` (two `settings`), the plan's settings first, then
    each step's in the order `after` lists them, then the steps it no longer has."""
    found = [
        Change(text=text, adjustable=key in ADJUSTABLE)
        for key, text in _differences(before["plan"], after["plan"])
    ]
    old, new = before["steps"], after["steps"]
    for name, step in new.items():
        if name not in old:
            found.append(Change(text=f"step {name} added", adjustable=False))
            continue
        found += [
            Change(text=f"step {name}: {text}", adjustable=key in ADJUSTABLE)
            for key, text in _differences(old[name], step)
        ]
    found += [
        Change(text=f"step {name} removed", adjustable=False) for name in old if name not in new
    ]
    return found


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    keys = list(after) + [key for key in before if key not in after]
    return [
        (
            key,
            f"{key} changed (its values are not shown)"
            if key in _UNSPELLED
            else f"{key} {_spelled(key, before.get(key))} -> {_spelled(key, after.get(key))}",
        )
        for key in keys
        if before.get(key) != after.get(key)
    ]


def _spelled(key: str, value: Any) -> str:
    if key in _DURATIONS and isinstance(value, int) and not isinstance(value, bool):
        return format_duration(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _fields(record: Plan | Step) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        if field.name in _NOT_SETTINGS:
            continue
        value = getattr(record, field.name)
        if isinstance(value, Call):
            found.update(_call(value))
        elif field.name in _FLATTENED:
            for inner in dataclasses.fields(value):
                found[f"{field.name}.{inner.name}"] = _plain(getattr(value, inner.name))
        else:
            found[field.name] = _plain(value)
    return found


def _call(call: Call) -> dict[str, Any]:
    """A call's settings, named `call.method` and so on, with what it sends as a digest."""
    where = shown_path(call.target) if call.kind is CallKind.REQUEST else shown_host(call.target)
    sends = json.dumps([call.target, call.params, call.body, call.headers], ensure_ascii=False)
    return {
        "call.kind": call.kind.value,
        "call.method": call.method,
        "call.sent": where,
        "call.params": [name for name, _ in call.params],
        "call.sends": hashlib.sha256(sends.encode()).hexdigest(),
        "call.statuses": list(call.statuses),
        "call.repeat_safe": call.repeat_safe,
    }


def _plain(value: Any) -> Any:
    """`value` as JSON data: an enum as its value, a set sorted, a record as a mapping."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(_plain(item) for item in value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value
