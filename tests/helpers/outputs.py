"""What CI reads, checked against the exit code."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from runner.errors import ExitCode
from runner.report.junit import junit_xml
from runner.result import PlanResult
from runner.verdict import verdict


def checked(result: PlanResult) -> tuple[ExitCode, ET.Element]:
    """The exit code, after checking that the JUnit of `result` agrees with it in every way, and
    holds every warning, in its step's testcase, without failing it."""
    judged = verdict(result)
    root = ET.fromstring(junit_xml(result))  # parses: nothing Fusion said broke it
    suite = root[0]
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    assert (judged.code == 0) == (not failures and not errors)
    plan_case, *step_cases = cases
    assert (plan_case.get("classname"), plan_case.get("name")) == ("fusion-run", "plan test")
    assert (plan_case.find("failure") is None) == (judged.code == 0)
    for element in (root, suite):
        assert element.get("failures") == str(len(failures))
        assert element.get("errors") == str(len(errors))
    assert suite.get("skipped") == str(len(suite.findall("testcase/skipped")))
    assert suite.get("tests") == str(len(result.steps) + 1)
    report = result.to_dict()
    counted = suite.find("properties/property[@name='warnings']")
    assert counted is not None
    assert counted.get("value") == str(len(report["warnings"]))
    for entry, case in zip([{"name": None}, *report["steps"]], cases, strict=True):
        said = [w["text"] for w in report["warnings"] if w["step"] == entry["name"]]
        errs = [e.text or "" for e in case.findall("system-err")]  # evidence, then warnings
        if said:
            assert errs[-1] == "\n".join(f"warning: {text}" for text in said), entry["name"]
        else:
            assert not any(err.startswith("warning: ") for err in errs), entry["name"]
    for entry, case in zip(report["steps"], step_cases, strict=True):
        kinds = [child.tag for child in case if child.tag not in ("system-out", "system-err")]
        if entry["outcome"] in ("running", "pending"):
            assert kinds == ["error"]
        elif entry["outcome"] in ("failed", "timed_out", "cancelled"):
            assert kinds == (["skipped"] if entry["allow_failure"] else ["failure"])
        elif entry["outcome"] in ("skipped", "not_run"):
            assert kinds == ["skipped"]
        else:
            assert kinds == []
    return judged.code, plan_case
