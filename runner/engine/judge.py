"""Judging a finished run against the plan's success criteria; each result keeps both sides, and
the figures that explain a failure (`runner.wording` says them).

An `expect` expression passes when JMESPath finds a truthy value in the run's final status (false,
null and empty strings, lists and objects are false; 0 is true). When a comparison fails, the
criterion keeps what each field side was, said as `result.docsWritten > `0` is false
(result.docsWritten: 0)`.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.visitor

from runner.criteria import Criterion, CriterionName
from runner.fusion.status import RunStatus
from runner.plan import Success


def judge(status: RunStatus, success: Success, *, duration: float | None) -> list[Criterion]:
    """Every criterion of `success` on `status`; `duration` is the run's, in seconds."""
    passed = status.state in success.states
    results = [
        Criterion(
            name=CriterionName.STATE,
            expected=list(success.states),
            actual=status.state,
            passed=passed,
            run=None if passed else status.label,
            message=None if passed else status.message,
        )
    ]
    if success.max_duration is not None:
        limit = success.max_duration
        results.append(
            Criterion(
                name=CriterionName.MAX_DURATION,
                expected=limit,
                actual=duration,
                passed=duration is not None and duration <= limit,
            )
        )
    results += [_expect(expression, status.raw) for expression in success.expect]
    return results


def _expect(expression: str, data: dict[str, Any]) -> Criterion:
    try:
        compiled = jmespath.compile(expression)
        value = compiled.search(data)
    except jmespath.exceptions.JMESPathError as error:
        return Criterion(
            name=CriterionName.EXPECT,
            expected=expression,
            actual=None,
            passed=False,
            error=str(error),
        )
    passed = _truthy(value)
    operands = () if passed else _operands(dict(compiled.parsed), data)
    return Criterion(
        name=CriterionName.EXPECT,
        expected=expression,
        actual=value,
        passed=passed,
        operands=operands,
    )


def _operands(node: dict[str, Any], data: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """(field, value) for each field side of a comparison; () for anything else."""
    if node.get("type") != "comparator":
        return ()
    shown = []
    interpreter = jmespath.visitor.TreeInterpreter()
    for child in node.get("children", []):
        if child.get("type") == "literal":
            continue
        try:
            value = interpreter.visit(child, data)
        except jmespath.exceptions.JMESPathError:
            continue
        shown.append((_source(child), value))
    return tuple(shown)


def _source(node: dict[str, Any]) -> str:
    """A readable spelling of a field path such as result.docsWritten."""
    kind = node.get("type")
    if kind == "field":
        name = str(node["value"])
        bare = name.isascii() and name.isidentifier()  # JMESPath's bare names are ASCII only
        return name if bare else json.dumps(name)  # as JMESPath quotes it
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
