"""Judging a finished run against the plan's success criteria; each result keeps both sides, and
the figures that explain a failure (`runner.wording` says them).

An `expect` (or `warn`) expression passes when JMESPath finds a truthy value in the run's final
status (false, null and empty strings, lists and objects are false; 0 is true), to which
fusion-run adds `documents` (the work the run did, `runner.fusion.work`) and `previous` (the job's
last good run before ours, as the attempt recorded it, with its `documents`; null when there was
none). An expression that names `previous` when there was none is not judged: it passes, and
says so. When a comparison fails, the criterion keeps what each field side was, said as
`result.docsWritten > `0` is false (result.docsWritten: 0)`.

The work check: a run that did no work (0 documents, or a Spark run `skipped`) is a warning;
with `min_documents`, fewer than that fail the step, and so does a run Fusion gives no count for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.visitor

from runner.clock import format_time
from runner.criteria import Criterion, CriterionName, Level
from runner.expressions import OPTIONS, missing_key_hint, names_field
from runner.fusion.status import RunStatus
from runner.fusion.work import Work, work
from runner.plan import Success
from runner.plan.values import quiet_literals


def judge(
    status: RunStatus,
    success: Success,
    *,
    duration: float | None,
    previous: Mapping[str, Any] | None = None,
    remainder_of: str | None = None,
) -> list[Criterion]:
    """Every criterion of `success` on `status`; `duration` is the run's, in seconds; `previous`
    the job's last good run before it (`baseline`), if there was one; `remainder_of` the
    interrupted run whose remainder a datasource run crawled, if any."""
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
    did = work(status)
    documents = None if did is None else did.documents
    earlier = None
    if previous is not None:
        earlier = {**previous["status"], "documents": previous["documents"]}
    data = {**status.raw, "documents": documents, "previous": earlier}
    results += [_expect(expression, data, Level.FAIL) for expression in success.expect]
    results += [_expect(expression, data, Level.WARN) for expression in success.warn]
    if passed:  # a run that failed did no work, and says so already
        results += _work(status, success, did, remainder_of)
    return results


def baseline(run: RunStatus) -> dict[str, Any]:
    """The job's last good run before ours, as an attempt records it (`Attempt.previous`): what
    identifies it, its work, and its status as Fusion listed it, which `expect` reads."""
    did = work(run)
    return {
        "run": run.label,
        "state": run.state,
        "ended_at": None if run.ended is None else format_time(run.ended),
        "duration": run.duration,
        "documents": None if did is None else did.documents,
        "status": run.raw,
    }


def _work(
    status: RunStatus, success: Success, did: Work | None, remainder_of: str | None
) -> list[Criterion]:
    """The work check: none with `min_documents: 0`, nor (as a warning) for a run whose work
    Fusion does not count."""
    least = success.min_documents
    if least == 0 or (least is None and did is None):
        return []
    documents = None if did is None else did.documents
    return [
        Criterion(
            name=CriterionName.WORK,
            expected=1 if least is None else least,
            actual=documents,
            passed=documents is not None and documents >= (1 if least is None else least),
            level=Level.WARN if least is None else Level.FAIL,
            run=status.label,
            counted=None if did is None else did.counted,
            remainder_of=remainder_of,
        )
    ]


def _expect(expression: str, data: dict[str, Any], level: Level) -> Criterion:
    try:
        with quiet_literals():
            compiled = jmespath.compile(expression)
        if data["previous"] is None and names_field(dict(compiled.parsed), "previous"):
            return Criterion(
                name=CriterionName.EXPECT,
                expected=expression,
                actual=None,
                passed=True,
                level=level,
                no_previous=True,
            )
        value = compiled.search(data, options=OPTIONS)
    # what Fusion gave may be beyond a function: avg() of a count of 400 digits overflows
    except (jmespath.exceptions.JMESPathError, ArithmeticError, ValueError) as error:
        return Criterion(
            name=CriterionName.EXPECT,
            expected=expression,
            actual=None,
            passed=False,
            level=level,
            error=str(error),
        )
    passed = _truthy(value)
    parsed = dict(compiled.parsed)
    return Criterion(
        name=CriterionName.EXPECT,
        expected=expression,
        actual=value,
        passed=passed,
        level=level,
        operands=() if passed else _operands(parsed, data),
        hint=None if passed else missing_key_hint(parsed, data),
    )


def _operands(node: dict[str, Any], data: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """(field, value) for each field side of a comparison; () for anything else."""
    if node.get("type") != "comparator":
        return ()
    shown = []
    interpreter = jmespath.visitor.TreeInterpreter(OPTIONS)
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
    if kind == "function_expression":
        arguments = ", ".join(_source(child) for child in node.get("children", []))
        return f"{node['value']}({arguments})"
    if kind == "literal":
        return f"`{json.dumps(node['value'])}`"
    return "value"


def _truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, and empty strings, lists and objects are false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str | list | dict):
        return bool(value)
    return value is not None


def judge_answer(
    status: int, body: Any, headers: Mapping[str, str], accepted: tuple[int, ...], success: Success
) -> list[Criterion]:
    """Every criterion of a `request:` or `webhook:` step on its answer: the status (any 2xx
    when `accepted` is empty), then each expect and warn on `{status, body, headers}` (header
    names in lower case), judged only when the status is accepted."""
    passed = status in accepted if accepted else 200 <= status < 300
    results = [
        Criterion(name=CriterionName.STATUS, expected=list(accepted), actual=status, passed=passed)
    ]
    if passed:
        data = {"status": status, "body": body, "headers": dict(headers), "previous": None}
        results += [_expect(expression, data, Level.FAIL) for expression in success.expect]
        results += [_expect(expression, data, Level.WARN) for expression in success.warn]
    return results
