"""After a success, a run that stops before its plan begins replaces the report and the JUnit
file: no earlier run's green outlives a red run (a persistent CI workspace publishes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.engine import Engine
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan
from tests.helpers.reports import valid

PLAN = "version: 1\nname: nightly\nsteps:\n  - job: crawl\n  - job: train\n"
OUTPUTS = ("--report", "r.json", "--junit", "j.xml")


def report() -> dict[str, Any]:
    return valid(json.loads(Path("r.json").read_text()))


def green_first(write_plan: WritePlan) -> str:
    plan = write_plan(PLAN)
    assert invoke(plan, "--emulate", *OUTPUTS).exit_code == 0
    assert report()["outcome"] == "succeeded"
    assert 'failures="0"' in Path("j.xml").read_text()
    return plan


@pytest.mark.parametrize(
    ("text", "args"),
    [
        (PLAN + "  - job: crawl\n", ()),
        (PLAN.replace("job: train", "job: ${TRAIN_JOB}"), ()),
        (PLAN, ("--var", "X=1")),
    ],
    ids=["duplicate-step", "missing-variable", "unused-var"],
)
def test_a_plan_refused_replaces_the_green_report_and_junit(
    write_plan: WritePlan, text: str, args: tuple[str, ...]
) -> None:
    green_first(write_plan)
    write_plan(text)
    result = invoke("plan.yaml", "--emulate", *OUTPUTS, *args)
    assert result.exit_code == 2
    printed = result.stderr.strip().splitlines()
    error = "; ".join(line.removeprefix("fusion-run: ") for line in printed)  # as it was said
    written = report()
    assert (written["outcome"], written["error_fact"]) == (
        "failed",
        {"kind": "plan_refused", "error": error},
    )
    assert written["error"] == f"the plan did not run: {error}"
    assert written["verdict"] == {"exit_code": 2, "why": f"exit 2: the plan did not run: {error}"}
    assert written["plan"]["path"] == "plan.yaml"
    assert written["steps"] == [] or {step["outcome"] for step in written["steps"]} == {"not_run"}
    junit = Path("j.xml").read_text()
    assert 'failures="1"' in junit
    assert '<property name="exit_code" value="2" />' in junit


def test_a_duplicate_step_name_is_said_in_the_report(write_plan: WritePlan) -> None:
    green_first(write_plan)
    write_plan(PLAN + "  - job: crawl\n")
    assert invoke("plan.yaml", "--emulate", *OUTPUTS).exit_code == 2
    assert report()["error"] == (
        "the plan did not run: plan.yaml:6:10: $.steps[2].job: duplicate step name 'crawl' "
        "(first at line 4): give one of them a distinct 'name:'"
    )


def test_a_plan_read_but_refused_has_each_step_not_run(write_plan: WritePlan) -> None:
    """Credentials missing are found once the plan is read: its steps are named, not run."""
    plan = green_first(write_plan)
    result = invoke(plan, "--url", "http://127.0.0.1:9", *OUTPUTS, env={"FUSION_USER": ""})
    assert result.exit_code == 2
    written = report()
    error = (
        "no credentials in the environment: set FUSION_API_KEY, FUSION_TOKEN, or FUSION_USER "
        "and FUSION_PASSWORD (or fusion.auth: none for a Fusion without security)"
    )
    assert written["error"] == f"the plan did not run: {error}"
    assert written["plan"]["name"] == "nightly"
    assert written["plan"]["settings"] is not None
    assert written["fusion"]["url"] == "http://127.0.0.1:9"
    assert [(s["name"], s["outcome"], s["reason"]) for s in written["steps"]] == [
        ("crawl", "not_run", f"not started: the plan did not run: {error}"),
        ("train", "not_run", f"not started: the plan did not run: {error}"),
    ]
    assert 'failures="1"' in Path("j.xml").read_text()


class Killed(BaseException):
    """fusion-run killed: nothing after it runs, nothing is written."""


def test_a_run_killed_in_preflight_leaves_no_earlier_outputs(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = green_first(write_plan)

    def killed(engine: Engine) -> None:
        raise Killed

    assert invoke(plan, "--emulate", *OUTPUTS, "--html", "r.html").exit_code == 0
    assert "succeeded" in Path("r.html").read_text()
    monkeypatch.setattr(Engine, "preflight", killed)
    with pytest.raises(Killed):
        invoke(plan, "--emulate", *OUTPUTS, "--html", "r.html")
    assert not Path("r.json").exists()
    assert not Path("j.xml").exists()
    assert not Path("r.html").exists()


def test_a_refused_resume_keeps_the_report_it_reads(write_plan: WritePlan) -> None:
    plan = green_first(write_plan)
    before = Path("r.json").read_text()
    write_plan(PLAN.replace("job: train", "job: train2"))
    result = invoke(plan, "--emulate", *OUTPUTS, "--resume", "r.json")
    assert result.exit_code == 2
    assert Path("r.json").read_text() == before  # what the resume needs is not lost
    assert 'failures="1"' in Path("j.xml").read_text()


def test_the_report_of_a_refused_plan_resumes_the_plan_once_fixed(write_plan: WritePlan) -> None:
    """Nothing ran: a CI that always resumes runs the fixed plan, whatever changed."""
    write_plan(PLAN + "  - job: crawl\n")
    assert invoke("plan.yaml", "--emulate", *OUTPUTS).exit_code == 2
    write_plan(PLAN.replace("job: train", "job: train2"))
    result = invoke("plan.yaml", "--emulate", *OUTPUTS, "--resume", "r.json")
    assert result.exit_code == 0, result.stderr
    assert report()["outcome"] == "succeeded"
