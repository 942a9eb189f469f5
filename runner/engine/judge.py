"""Judging a finished run against the plan's success criteria; each result keeps both sides.

An `expect` expression passes when JMESPath finds a truthy value in the run's final status (false,
null and empty strings, lists and objects are false; 0 is true). When a comparison fails, the
reason shows what each side was, e.g. `result.docsWritten > `0` is false (result.docsWritten: 0)`.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.visitor

from runner.criteria import Criterion
from runner.durations import format_duration
from runner.fusion.status import RunStatus
from runner.plan import Success


def judge(status: RunStatus, success: Success, *, duration: float | None) -> list[Criterion]:
    """Every criterion of `success` on `status`; `duration` is the run's, in seconds."""
    results = [
        Criterion(
            name="state",
            expected=list(success.states),
            actual=status.state,
            passed=status.state in success.states,
            reason=None if status.state in success.states else _state_reason(status, success),
        )
    ]
    if success.max_duration is not None:
        results.append(_max_duration(success.max_duration, duration))
    results += [_expect(expression, status.raw) for expression in success.expect]
    return results


def _max_duration(limit: int, duration: float | None) -> Criterion:
    passed = duration is not None and duration <= limit
    reason = None
    if not passed:
        took = "an unknown time" if duration is None else format_duration(duration)
        reason = f"the run took {took}, more than max_duration {format_duration(limit)}"
    return Criterion(
        name="max_duration", expected=limit, actual=duration, passed=passed, reason=reason
    )


def _state_reason(status: RunStatus, success: Success) -> str:
    reason = f"run {status.label} ended {status.state}"
    if status.message:
        return f"{reason}: {status.message}"
    return f"{reason} (accepted: {', '.join(success.states)})"


def _expect(expression: str, data: dict[str, Any]) -> Criterion:
    try:
        compiled = jmespath.compile(expression)
        value = compiled.search(data)
    except jmespath.exceptions.JMESPathError as error:
        return Criterion(
            name="expect",
            expected=expression,
            actual=None,
            passed=False,
            reason=f"expect {expression} could not be evaluated: {error}",
        )
    passed = _truthy(value)
    reason = None
    if not passed:
        reason = f"expect {expression} is {_show(value)}"
        operands = _operands(dict(compiled.parsed), data)
        if operands:
            reason += f" ({operands})"
    return Criterion(name="expect", expected=expression, actual=value, passed=passed, reason=reason)


def _operands(node: dict[str, Any], data: dict[str, Any]) -> str:
    """`left: value, right: value` for the field sides of a comparison; '' for anything else."""
    if node.get("type") != "comparator":
        return ""
    shown = []
    interpreter = jmespath.visitor.TreeInterpreter()
    for child in node.get("children", []):
        if child.get("type") == "literal":
            continue
        try:
            value = interpreter.visit(child, data)
        except jmespath.exceptions.JMESPathError:
            continue
        shown.append(f"{_source(child)}: {_show(value)}")
    return ", ".join(shown)


def _source(node: dict[str, Any]) -> str:
    """A readable spelling of a field path such as result.docsWritten."""
    kind = node.get("type")
    if kind == "field":
        name = str(node["value"])
        return name if name.isidentifier() else json.dumps(name)  # as JMESPath quotes it
    if kind == "subexpression":
        return ".".join(_source(child) for child in node.get("children", []))
    return "value"


def _truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, and empty strings, lists and objects are false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str | list | dict):
        return bool(value)
    return value is not None


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
