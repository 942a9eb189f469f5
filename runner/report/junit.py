"""The report as JUnit XML, for Jenkins, GitLab and every CI that reads test results.

One testsuite for the plan: a testcase for the plan itself, then one per step. The plan's
testcase fails exactly when fusion-run exits other than 0 (`runner.verdict`), and says why, so a
CI that reads the XML never disagrees with the exit code: a `failure` or an `error` is there only
when the exit code is not 0. A step that failed the plan has a `failure` with the reason and each
failed criterion; a step whose run was left going has an `error`; a step that failed as
`allow_failure` let it is `skipped`, with a message that says so; a step that did not run is
`skipped`. JUnit has no warning: `skipped` is the one state besides passed that Jenkins', GitLab's
and GitHub's test reporters show apart, with its message, and it fails nothing. The plan's
testcase names the allowed failures as a warning in its system-out, and the suite's
`allowed_failures` property counts them.
It validates against the JUnit schema Jenkins uses (junit-10.xsd), which has no
properties on a testcase, so each step's run id is a suite property (`<step>.run_id`) and is
repeated in the case's system-out. A failed step's system-err holds what explains each failed
attempt (`runner.report.evidence`): Fusion's failure message, a datasource's counters, the end of
a Spark run's driver log. Warnings never fail a testcase: each is in its step's `system-err` (the
plan's own in the plan's testcase), and the suite's `warnings` property counts them. Every string
is cleaned by `runner.redact` first: no terminal
code, no control character that XML refuses (Fusion's words were masked as they arrived).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from runner import wording
from runner.errors import FatalError
from runner.events import Event
from runner.reasons import StepsFailed
from runner.redact import cleaned, strip_controls
from runner.report.evidence import failed_attempts
from runner.report.journal import why_unwritable, write_text_atomically
from runner.result import PlanResult
from runner.verdict import Verdict, verdict

_FAILED = ("failed", "timed_out", "cancelled")
_LEFT = ("running", "pending")
_NOT_RUN = ("skipped", "not_run")


def junit_xml(result: PlanResult) -> str:
    judged = verdict(result)
    report: dict[str, Any] = cleaned(result.to_dict())
    message = None if judged.succeeded else strip_controls(judged.words())
    steps, plan = report["steps"], report["plan"]
    elements = [_element(step) for step in steps]
    counts = {
        "tests": len(steps) + 1,
        "failures": [kind for kind, _ in elements].count("failure") + (message is not None),
        "errors": [kind for kind, _ in elements].count("error"),
        "skipped": [kind for kind, _ in elements].count("skipped"),
    }
    total = report["duration"] or 0  # the plan's wall time: steps run side by side
    suites = ET.Element(
        "testsuites",
        name="fusion-run",
        tests=str(counts["tests"]),
        failures=str(counts["failures"]),
        errors=str(counts["errors"]),
        time=f"{total:.3f}",
    )
    attributes = {
        "name": plan["name"],
        **{key: str(value) for key, value in counts.items()},
        "time": f"{total:.3f}",
        "timestamp": report["started_at"],
        "file": plan["path"],
    }
    suite = ET.SubElement(suites, "testsuite", attributes)
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("plan", plan["path"]),
        ("plan.sha256", plan["sha256"]),
        ("fusion.url", report["fusion"]["url"]),
        ("outcome", report["outcome"]),
        ("exit_code", str(int(judged.code))),
        ("warnings", str(len(report["warnings"]))),
        ("allowed_failures", str(len(judged.allowed))),
        *((f"{s['name']}.run_id", s["run_id"]) for s in steps if s["run_id"]),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    _plan_case(suite, report, judged, message)
    for step, element in zip(steps, elements, strict=True):
        _testcase(suite, plan["name"], step, element)
        _warnings(suite[-1], report, step["name"])
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _plan_case(
    suite: ET.Element, report: dict[str, Any], judged: Verdict, message: str | None
) -> None:
    """The plan as a testcase of its own (classname `fusion-run`, which no step's can be)."""
    case = ET.SubElement(
        suite,
        "testcase",
        classname="fusion-run",
        name=f"plan {report['plan']['name']}",
        time=f"{report['duration'] or 0:.3f}",
    )
    if message is not None:
        failure = ET.SubElement(case, "failure", message=message, type=report["outcome"])
        failing = {
            name
            for cause in judged.causes
            if isinstance(cause, StepsFailed)
            for name, _ in cause.steps
        }
        failure.text = "\n".join(
            [message]
            + [
                f"{s['name']} {wording.outcome_words(s['outcome'])}"
                + (f": {s['reason']}" if s["reason"] else "")
                for s in report["steps"]
                if s["name"] in failing
            ]
        )
    out = ET.SubElement(case, "system-out")
    out.text = f"outcome: {report['outcome']}\nexit code: {int(judged.code)}"
    if judged.allowed:
        out.text += f"\nwarning: {judged.warning()}"
    _warnings(case, report, None)


def _warnings(case: ET.Element, report: dict[str, Any], step: str | None) -> None:
    """The warnings about `step` (None: the plan's own) as the testcase's system-err."""
    said = [f"warning: {w['text']}" for w in report["warnings"] if w["step"] == step]
    if said:
        ET.SubElement(case, "system-err").text = "\n".join(said)


def _element(step: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """What the step's testcase holds beside its output: failure, error, skipped, or nothing."""
    outcome, reason = step["outcome"], step["reason"] or ""
    if outcome in _FAILED and step["allow_failure"]:
        return "skipped", {"message": wording.allowed_failure(outcome, reason), "type": outcome}
    if outcome in _FAILED:
        return "failure", {"message": reason, "type": outcome}
    if outcome in _LEFT:
        return "error", {"message": reason or f"the step was still {outcome}", "type": outcome}
    if outcome in _NOT_RUN:
        return "skipped", {"message": reason, "type": outcome}
    return None, {}


def _testcase(
    suite: ET.Element, plan: str, step: dict[str, Any], element: tuple[str | None, dict[str, str]]
) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"fusion-run.{plan}",
        name=step["name"],
        time=f"{_seconds(step):.3f}",
    )
    kind, attributes = element
    if kind is not None:
        child = ET.SubElement(case, kind, attributes)
        if step["outcome"] in _FAILED:
            child.text = "\n".join([step["reason"] or "", *_failed_criteria(step)])
    out = ET.SubElement(case, "system-out")
    out.text = "\n".join(
        [f"{'sent' if step['call'] else 'job'}: {step['job']}", f"outcome: {step['outcome']}"]
        + [(_answer_line if step["call"] else _attempt_line)(a) for a in step["attempts"]]
        + ([wording.gate_found(step["gate"])] if step["gate"] else [])
    )
    if evidence := failed_attempts(step):
        err = ET.SubElement(case, "system-err")
        err.text = "\n\n".join("\n".join([f"{e.title}:", *e.lines]) for e in evidence)


def _attempt_line(attempt: dict[str, Any]) -> str:
    """`attempt 2: run 41pjso2krv error in 5s: OOM`, or what became of a start with no run."""
    head = f"attempt {attempt['number']}: "
    if not attempt["run_id"]:
        return head + (
            "no run: the start never reached Fusion"
            if attempt["outcome"]
            else "started, no run named yet"
        )
    took = "" if attempt["duration"] is None else f" in {attempt['duration']:g}s"
    error = f": {attempt['error']}" if attempt["error"] else ""
    return f"{head}run {attempt['run_id']} {attempt['state']}{took}{error}"


def _answer_line(attempt: dict[str, Any]) -> str:
    """A request: or webhook: step's attempt: `attempt 1: answered 200 in 0.04s`."""
    head = f"attempt {attempt['number']}: "
    if attempt["state"] is None:
        return head + ("no answer" if attempt["outcome"] else "sent, no answer yet")
    took = "" if attempt["duration"] is None else f" in {attempt['duration']:g}s"
    return f"{head}answered {attempt['state']}{took}"


def _failed_criteria(step: dict[str, Any]) -> list[str]:
    if not step["attempts"]:
        return []
    return [
        f"{c['name']}: expected {json.dumps(c['expected'])}, actual {json.dumps(c['actual'])}"
        for c in step["attempts"][-1]["criteria"]
        if not c["passed"]
    ]


def _seconds(step: dict[str, Any]) -> float:
    """The step's one duration (`runner.result.step_duration`), 0 when it has none."""
    return float(step["duration"] or 0)


class JUnitFile:
    """A reporter that writes the final result as JUnit XML to `path`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        try:
            write_text_atomically(self.path, junit_xml(result))
        except OSError as error:
            raise FatalError(f"cannot write {self.path}: {why_unwritable(error)}") from None
