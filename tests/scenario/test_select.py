"""--select and --exclude in plans that run: the engine runs only what is selected, --check asks
only about it, and the report and JUnit say what was left out."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from runner.emulator.scenario import RunScript
from runner.events import StepEnded
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, run, runs
from tests.helpers.fakes import step
from tests.helpers.paths import WritePlan
from tests.helpers.reports import read_report


def test_a_step_whose_upstream_is_not_selected_runs_as_if_it_had_succeeded() -> None:
    scenario = jobs(a=runs(RunScript(state="error")))  # a would fail: it is not selected
    steps = [step("a"), step("b", "a"), step("c", "b"), step("d", "b", run_if="all_failed")]
    result = run(steps, scenario, selected={"b", "d"})
    assert result.outcomes() == {"a": "not_run", "b": "succeeded", "c": "not_run", "d": "skipped"}
    assert result.step("a")["reason"] == "not selected"
    assert result.step("d")["reason"] == "upstream 'b' did not fail (run_if: all_failed)"
    assert result.outcome == "succeeded"
    assert (result.model.starts("a"), result.model.starts("b"), result.model.starts("c")) == (
        0,
        1,
        0,
    )
    assert result.report["summary"]["not_run"] == 2
    ended = {event.step for event in result.of(StepEnded)}
    assert ended == {"b", "d"}  # a step left out is in the summary, not announced as it ends


def test_a_selected_step_that_fails_fails_the_plan() -> None:
    scenario = jobs(b=runs(RunScript(state="error")))
    result = run([step("a"), step("b", "a")], scenario, selected={"b"})
    assert result.outcomes() == {"a": "not_run", "b": "failed"}
    assert result.outcome == "failed"


def test_only_the_selected_steps_jobs_must_exist() -> None:
    def gone(model: object, _: object) -> None:
        model.jobs.pop("a")  # type: ignore[attr-defined]

    result = run([step("a"), step("b", "a")], before=gone, selected={"b"})
    assert result.outcomes() == {"a": "not_run", "b": "succeeded"}


def test_check_asks_only_about_the_selected_steps(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text("version: 1\nmissing: [crawl]\n")
    plan = write_plan("version: 1\nname: p\nsteps: [crawl, train]\n")
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml", "--exclude", "crawl")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[:2] == ["crawl (crawl): not selected", "train (train): exists; not running"]
    assert lines[2].startswith("requests to Fusion: at most 10 a second")
    assert lines[3].startswith("fusion-run: plan p is ready: its 1 selected job(s) exist in the ")


def test_a_selected_run_succeeds_and_says_what_was_left_out(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(
        "version: 1\njobs:\n"
        + "".join(f"  {job}:\n    runs: [{{duration: 0.2}}]\n" for job in ("crawl", "train"))
    )
    plan = write_plan("version: 1\nname: p\nsteps: [crawl, train, evaluate]\n")
    result = invoke(
        plan, "--emulate", "--scenario", "s.yaml", "--select", "+train", "--junit", "j.xml"
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("fusion-run: plan p: 3 step(s), 2 selected, against the emulator")
    assert "evaluate  not_run    -         0      -           -         not selected" in lines
    assert lines[-1].endswith(": 2 succeeded, 1 not run. Report: fusion-run-report.json")
    report = read_report()
    assert (report["outcome"], report["steps"][2]["reason"]) == ("succeeded", "not selected")
    skipped = ET.parse("j.xml").getroot().find("./testsuite/testcase[@name='evaluate']/skipped")
    assert skipped is not None
    assert (skipped.get("type"), skipped.get("message")) == ("not_run", "not selected")
    assert json.loads(Path("fusion-run-report.json").read_text())["summary"]["not_run"] == 1
