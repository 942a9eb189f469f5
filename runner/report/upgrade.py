"""A report of an earlier format read as the format written now (5), for --resume and --graph
--report: format 2 through 3 and 4, each step at a time.

Format 4 named no trace, did not keep how fusion-run exited, nor the settings its plan resolved
to: its `trace` is null (a resume of it with tracing on begins a trace), and so are its `verdict`,
its plan's `settings` (a resume of it compares the plan file's sha256) and each criterion's
`hint`. It had no targets, no `for_each` and no `request:` steps: its plan's `target` and each
step's `for_each` and `call` are null. Its steps' `duration` is worked out from their attempts, as
format 5 defines it.

Format 3 had no levels of criteria (each was a failure), no baseline or work check, no evidence of
a failure, no schedules read, no `require:` steps, and warnings in words alone: its criteria are of
level fail, its attempts have no `previous` and no `evidence`, its steps no `gate`, its
`schedules` are none, and its warnings are the plan's.

Format 2 gave reasons in words only. The words a resume depends on become facts: a skip by the
step's own run_if (an exclusion, which fails nothing), a cancel's cause, and a failed state
criterion's run and message. Any other reason is kept as its words (`carried`). The sentences
below are format 2's, frozen here: rewording a message now changes nothing a resume reads.
"""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

from runner.result import Attempt, step_duration

# format 2's words for a skip by the step's own run_if, and for a fail_fast skip
_EXCLUSIONS = {
    "every upstream was excluded": {"kind": "every_upstream_excluded"},
    "no upstream failed (run_if: at_least_one_failed)": {"kind": "no_upstream_failed"},
}
_DID_NOT_FAIL = re.compile(r"upstream ('.*'|\".*\") did not fail \(run_if: all_failed\)")
_STATE = re.compile(r"run (.+?) ended (\S+)(?:: (.*)| \(accepted: .*\))", re.S)
_NOT_EVALUATED = re.compile(r"expect .* could not be evaluated: (.*)", re.S)


def upgrade(report: dict[str, Any]) -> dict[str, Any]:
    """`report`, valid against the schema of its format (2, 3, 4 or 5), in format 5."""
    if report["report_version"] == 2:
        report = upgrade_2(report)
    if report["report_version"] == 3:
        report = upgrade_3(report)
    if report["report_version"] == 4:
        report = upgrade_4(report)
    return report


def upgrade_4(report: dict[str, Any]) -> dict[str, Any]:
    """`report` (format 4, valid against schemas/report-4.schema.json) in format 5."""
    report = copy.deepcopy(report)
    report["report_version"] = 5
    report["trace"] = None
    report["verdict"] = None
    report["fusion"]["max_requests_per_second"] = None  # format 4 had no request budget
    report["plan"]["target"] = None  # format 4 had no targets
    report["plan"]["settings"] = None  # nor the settings its plan resolved to
    for step in report["steps"]:
        step["duration"] = step_duration([Attempt.from_dict(a) for a in step["attempts"]])
        step["for_each"] = None  # format 4 had no for_each: every step was written out
        step["call"] = None  # nor request: or webhook: steps
        for attempt in step["attempts"]:  # nor a hint for an expect that read a key it lacked
            for criterion in attempt["criteria"]:
                criterion["hint"] = None
    return report


def upgrade_3(report: dict[str, Any]) -> dict[str, Any]:
    """`report` (format 3, valid against schemas/report-3.schema.json) in format 4."""
    report = copy.deepcopy(report)
    report["report_version"] = 4
    report["warnings"] = [{"step": None, "text": text} for text in report["warnings"]]
    report["schedules"] = []
    for step in report["steps"]:
        step["gate"] = None
        for attempt in step["attempts"]:
            attempt["previous"] = attempt["remainder_of"] = attempt["evidence"] = None
            attempt["warned"] = []
            attempt["criteria"] = [
                {
                    **criterion,
                    "level": "fail",
                    "counted": None,
                    "remainder_of": None,
                    "no_previous": False,
                }
                for criterion in attempt["criteria"]
            ]
    return report


def upgrade_2(report: dict[str, Any]) -> dict[str, Any]:
    """`report` (format 2, valid against schemas/report-2.schema.json) in format 3."""
    report = copy.deepcopy(report)
    report["report_version"] = 3
    report["error_fact"] = _carried(report["error"])
    for step in report["steps"]:
        step["reason_fact"] = _step_reason(step["reason"])
        for attempt in step["attempts"]:
            attempt.setdefault("accepted", False)
            attempt.setdefault("result", None)
            cancel = attempt.get("cancel")
            attempt["cancel"] = None if cancel is None else _cancel(cancel)
            attempt["criteria"] = [_criterion(c) for c in attempt["criteria"]]
    return report


def _carried(text: str | None) -> dict[str, Any] | None:
    return None if text is None else {"kind": "carried", "text": text}


def _step_reason(text: str | None) -> dict[str, Any] | None:
    if text in _EXCLUSIONS:
        return dict(_EXCLUSIONS[text])
    named = _DID_NOT_FAIL.fullmatch(text or "")
    upstream = _quoted(named.group(1)) if named else None
    if upstream is not None:
        return {"kind": "upstream_did_not_fail", "upstream": upstream}
    return _carried(text)


def _quoted(spelled: str) -> str | None:
    """The step name format 2 spelled as Python's repr does; None for any other text."""
    try:
        name = ast.literal_eval(spelled)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return name if isinstance(name, str) and repr(name) == spelled else None


def _cancel(cancel: dict[str, Any]) -> dict[str, Any]:
    because, limit, step = cancel["because"], cancel["limit"], cancel["step"]
    cause: dict[str, Any] | None
    if because in ("step_timeout", "plan_timeout") and limit is not None:
        cause = {"kind": because, "limit": limit}
    elif because == "interrupted":
        cause = {"kind": "interrupted"}
    elif because == "fail_fast" and step is not None:
        skipped = cancel["reason"] == f"step {step!r} was skipped and fail_fast is on"
        cause = {"kind": "fail_fast", "step": step, "skipped": skipped}
    else:
        cause = _carried(cancel["reason"])
    return {"outcome": cancel["outcome"], "cause": cause, "reason": cancel["reason"]}


def _criterion(criterion: dict[str, Any]) -> dict[str, Any]:
    reason = criterion["reason"] or ""
    run = message = error = None
    state = _STATE.fullmatch(reason) if criterion["name"] == "state" else None
    if state:
        run, message = state.group(1), state.group(3)
    failed = _NOT_EVALUATED.fullmatch(reason) if criterion["name"] == "expect" else None
    if failed:
        error = failed.group(1)
    return {**criterion, "run": run, "message": message, "operands": [], "error": error}
