"""The report as JUnit XML, for Jenkins, GitLab and every CI that reads test results.

One testsuite for the plan and one testcase per step: `failure` with the reason and each failed
criterion, `error` for a run left going, `skipped` for steps that did not run. It validates
against the JUnit schema Jenkins uses (junit-10.xsd), which has no properties on a testcase, so
each step's run id is a suite property (`<step>.run_id`) and is repeated in the case's system-out.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from runner.errors import FatalError
from runner.events import Event
from runner.report import write_text_atomically
from runner.result import PlanResult

_FAILED = ("failed", "timed_out", "cancelled")


def junit_xml(report: dict[str, Any]) -> str:
    steps = report["steps"]
    counts = {
        "tests": len(steps),
        "failures": sum(s["outcome"] in _FAILED for s in steps),
        "errors": sum(s["outcome"] in ("running", "pending") for s in steps),
        "skipped": sum(s["outcome"] in ("skipped", "not_run") for s in steps),
    }
    total = sum(_seconds(step) for step in steps)
    suites = ET.Element(
        "testsuites",
        name="fusion-run",
        tests=str(counts["tests"]),
        failures=str(counts["failures"]),
        errors=str(counts["errors"]),
        time=f"{total:.3f}",
    )
    attributes = {
        "name": report["plan"]["name"],
        **{key: str(value) for key, value in counts.items()},
        "time": f"{total:.3f}",
        "timestamp": report["started_at"],
        "file": report["plan"]["path"],
    }
    suite = ET.SubElement(suites, "testsuite", attributes)
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("plan", report["plan"]["path"]),
        ("plan.sha256", report["plan"]["sha256"]),
        ("fusion.url", report["fusion"]["url"]),
        ("outcome", report["outcome"]),
        *((f"{s['name']}.run_id", s["run_id"]) for s in steps if s["run_id"]),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for step in steps:
        _testcase(suite, report["plan"]["name"], step)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _testcase(suite: ET.Element, plan: str, step: dict[str, Any]) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"fusion-run.{plan}",
        name=step["name"],
        time=f"{_seconds(step):.3f}",
    )
    outcome, reason = step["outcome"], step["reason"] or ""
    if outcome in _FAILED:
        failure = ET.SubElement(case, "failure", message=reason, type=outcome)
        failure.text = "\n".join([reason, *_failed_criteria(step)])
    elif outcome in ("running", "pending"):
        ET.SubElement(
            case, "error", message=reason or f"the step was still {outcome}", type=outcome
        )
    elif outcome in ("skipped", "not_run"):
        ET.SubElement(case, "skipped", message=reason, type=outcome)
    out = ET.SubElement(case, "system-out")
    out.text = "\n".join(
        [f"job: {step['job']}", f"outcome: {outcome}"]
        + [_attempt_line(a) for a in step["attempts"]]
    )


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


def _failed_criteria(step: dict[str, Any]) -> list[str]:
    if not step["attempts"]:
        return []
    return [
        f"{c['name']}: expected {json.dumps(c['expected'])}, actual {json.dumps(c['actual'])}"
        for c in step["attempts"][-1]["criteria"]
        if not c["passed"]
    ]


def _seconds(step: dict[str, Any]) -> float:
    return float(sum(a["duration"] or 0 for a in step["attempts"]))


class JUnitFile:
    """A reporter that writes the final result as JUnit XML to `path`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        try:
            write_text_atomically(self.path, junit_xml(result.to_dict()))
        except OSError as error:
            raise FatalError(f"cannot write {self.path}: {error.strerror or error}") from None
