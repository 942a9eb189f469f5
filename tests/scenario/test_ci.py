"""Where CI users look, after a plan ran: JUnit XML, GitHub's summary and annotations, and
graphs coloured by the report."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from runner.emulator.scenario import RunScript
from runner.plan.loader import load_plan
from runner.plan.problems import Problem
from runner.plan.resolved import settings
from runner.redact import cleaned
from runner.report.gantt import gantt
from runner.report.github import (
    GitHubActions,
    problem_annotations,
    step_annotations,
    summary_markdown,
)
from runner.report.junit import junit_xml
from tests.helpers.cli import invoke
from tests.helpers.engine import Result, jobs, revoke_after, run, runs
from tests.helpers.fakes import step
from tests.helpers.paths import EXAMPLES, WritePlan
from tests.helpers.reports import read_report

XSD = os.environ.get("FUSION_RUN_JUNIT_XSD")


def clean(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the GitHub reporter renders it: every string cleaned for text."""
    return cleaned(report)


LOG = ("INFO SparkContext: Running Spark version 3.4.1", "ERROR java.lang.OutOfMemoryError: heap")


@pytest.fixture(scope="module")
def mixed() -> Result:
    scenario = jobs(
        **{
            "datasource:web": runs(RunScript(duration=40, result={"counter.failed": 3})),
            "train": runs(RunScript(duration=5, state="error", error="OOM | heap", log=LOG)),
            "notify": runs(
                RunScript(
                    duration=2,
                    state="error",
                    error="\x1b[31mSMTP\x1b[0m down",
                    log=("ERROR Mailer: ```SMTP``` down",),
                )
            ),
        }
    )
    steps = [
        step("crawl", job="datasource:web", states=("success",)),
        step("train", retries=1, retry_delay=1),
        step("publish", "train"),
        step("notify", "train", run_if="all_done", allow_failure=True),
    ]
    return run(steps, scenario)


def test_junit(mixed: Result) -> None:
    """The plan's own testcase fails as fusion-run exits 1; the allowed failure is skipped."""
    ids = {s["name"]: s["run_id"] for s in mixed.report["steps"]}
    first_train = mixed.step("train")["attempts"][0]["run_id"]
    assert (
        junit_xml(mixed.engine.result)
        == f"""\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="fusion-run" tests="5" failures="2" errors="0" time="46.000">
  <testsuite name="test" tests="5" failures="2" errors="0" skipped="2" time="46.000" timestamp="2026-01-01T00:00:00.000Z" file="plan.yaml">
    <properties>
      <property name="plan" value="plan.yaml" />
      <property name="plan.sha256" value="{"0" * 64}" />
      <property name="fusion.url" value="http://emulated" />
      <property name="outcome" value="failed" />
      <property name="exit_code" value="1" />
      <property name="warnings" value="0" />
      <property name="allowed_failures" value="1" />
      <property name="crawl.run_id" value="{ids["crawl"]}" />
      <property name="train.run_id" value="{ids["train"]}" />
      <property name="notify.run_id" value="{ids["notify"]}" />
    </properties>
    <testcase classname="fusion-run" name="plan test" time="46.000">
      <failure message="exit 1: step 'train' failed" type="failed">exit 1: step 'train' failed
train failed: run {ids["train"]} ended error: OOM | heap</failure>
      <system-out>outcome: failed
exit code: 1
warning: 1 allowed failure: step 'notify' failed</system-out>
    </testcase>
    <testcase classname="fusion-run.test" name="crawl" time="40.000">
      <system-out>job: datasource:web
outcome: succeeded
attempt 1: run {ids["crawl"]} success in 40s</system-out>
    </testcase>
    <testcase classname="fusion-run.test" name="train" time="10.964">
      <failure message="run {ids["train"]} ended error: OOM | heap" type="failed">run {ids["train"]} ended error: OOM | heap
state: expected ["finished", "skipped"], actual "error"</failure>
      <system-out>job: train
outcome: failed
attempt 1: run {first_train} error in 5s: OOM | heap
attempt 2: run {ids["train"]} error in 5s: OOM | heap</system-out>
      <system-err>attempt 1: driver log of run {first_train} (last 2 lines):
error: OOM | heap
INFO SparkContext: Running Spark version 3.4.1
ERROR java.lang.OutOfMemoryError: heap

attempt 2: driver log of run {ids["train"]} (last 2 lines):
error: OOM | heap
INFO SparkContext: Running Spark version 3.4.1
ERROR java.lang.OutOfMemoryError: heap</system-err>
    </testcase>
    <testcase classname="fusion-run.test" name="publish" time="0.000">
      <skipped message="upstream 'train' failed" type="skipped" />
      <system-out>job: publish
outcome: skipped</system-out>
    </testcase>
    <testcase classname="fusion-run.test" name="notify" time="2.000">
      <skipped message="allowed to fail; failed: run {ids["notify"]} ended error: SMTP down" type="failed">run {ids["notify"]} ended error: SMTP down
state: expected ["finished", "skipped"], actual "error"</skipped>
      <system-out>job: notify
outcome: failed
attempt 1: run {ids["notify"]} error in 2s: SMTP down</system-out>
      <system-err>attempt 1: driver log of run {ids["notify"]} (last line):
error: SMTP down
ERROR Mailer: ```SMTP``` down</system-err>
    </testcase>
  </testsuite>
</testsuites>
"""
    )


@pytest.mark.skipif(
    not XSD,
    reason="set FUSION_RUN_JUNIT_XSD to junit-10.xsd, which .ci/run takes from pytest's sdist",
)
def test_junit_validates_against_the_schema_jenkins_uses(mixed: Result, tmp_path: Path) -> None:
    import xmlschema  # noqa: PLC0415

    assert XSD is not None
    schema = xmlschema.XMLSchema(XSD)
    assert schema.is_valid(junit_xml(mixed.engine.result))
    left = copy.deepcopy(mixed.engine.result)
    for entry in left.steps:
        entry.outcome, entry.started = None, True
    assert "<error " in junit_xml(left)  # a run left going is an <error>
    assert schema.is_valid(junit_xml(left))
    assert not schema.is_valid("<testsuites><testsuite name='x'/></testsuites>")  # it does check


def test_summary_markdown(mixed: Result) -> None:
    """A folded block under the table holds each failed attempt's driver log, fenced with more
    backticks than the log has in a row."""
    ids = {s["name"]: s["run_id"] for s in mixed.report["steps"]}
    first_train = mixed.step("train")["attempts"][0]["run_id"]
    assert (
        summary_markdown(clean(mixed.report), mixed.engine.plan, "exit 1: step 'train' failed")
        == f"""\
### ❌ fusion-run: plan `test` failed in 46s

> exit 1: step 'train' failed

| Step | Outcome | Duration | Run | Counters | Reason |
|---|---|---|---|---|---|
| crawl | ✅ succeeded | 40s | `{ids["crawl"]}` | failed 3 |  |
| train | ❌ failed | 11s | `{ids["train"]}` | - | run {ids["train"]} ended error: OOM \\| heap; failed on attempt 2; attempt 1 failed: OOM \\| heap |
| publish | ⏭️ skipped | - | - | - | upstream 'train' failed |
| notify | ⚠️ failed (allowed to fail) | 2s | `{ids["notify"]}` | - | run {ids["notify"]} ended error: SMTP down |

<details><summary>train, attempt 1: driver log of run {first_train} (last 2 lines)</summary>

```text
error: OOM | heap
INFO SparkContext: Running Spark version 3.4.1
ERROR java.lang.OutOfMemoryError: heap
```

</details>

<details><summary>train, attempt 2: driver log of run {ids["train"]} (last 2 lines)</summary>

```text
error: OOM | heap
INFO SparkContext: Running Spark version 3.4.1
ERROR java.lang.OutOfMemoryError: heap
```

</details>

<details><summary>notify, attempt 1: driver log of run {ids["notify"]} (last line)</summary>

````text
error: SMTP down
ERROR Mailer: ```SMTP``` down
````

</details>

```mermaid
flowchart LR
  s0["crawl<br/>datasource:web"]
  s1["train"]
  s2["publish"]
  s3["notify"]
  s1 --> s2
  s1 -.->|all_done| s3
  classDef succeeded fill:#d4edda,stroke:#28a745
  classDef failed fill:#f8d7da,stroke:#dc3545
  classDef skipped fill:#e2e3e5,stroke:#6c757d
  class s0 succeeded
  class s1,s3 failed
  class s2 skipped
```

#### Timeline

```mermaid
%%{{init: {{"theme": "base", "themeVariables": {{"doneTaskBkgColor": "#d4edda", "doneTaskBorderColor": "#28a745", "critBkgColor": "#f8d7da", "critBorderColor": "#dc3545", "activeTaskBkgColor": "#e2e3e5", "activeTaskBorderColor": "#6c757d", "taskBkgColor": "#fff3cd", "taskBorderColor": "#d39e00"}}, "gantt": {{"leftPadding": 62}}}}}}%%
gantt
  title test: failed in 46s
  dateFormat x
  axisFormat %H:%M:%S
  todayMarker off
  section crawl
    attempt 1 succeeded in 40s :done, 1767225600000, 1767225640000
  section train
    attempt 1 failed in 5s :crit, 1767225600000, 1767225605000
    retry after 1.0s :active, 1767225605000, 1767225605964
    attempt 2 failed in 5s :crit, 1767225605964, 1767225610964
  section notify
    attempt 1 failed in 2s :crit, 1767225610964, 1767225612964
```
"""
    )


def test_annotations(mixed: Result) -> None:
    train = mixed.step("train")["run_id"]
    assert step_annotations(mixed.report, mixed.engine.plan, {"train"}) == [
        f"::error file=plan.yaml,line=1,col=1,title=fusion-run%3A step train failed::"
        f"run {train} ended error: OOM | heap"
    ]
    problem = Problem(
        file="a,b.yaml", line=3, column=5, path=("steps", 0), message="100% wrong:\nreally"
    )
    assert problem_annotations([problem]) == [
        "::error file=a%2Cb.yaml,line=3,col=5,title=fusion-run%3A invalid plan::"
        "$.steps[0]: 100%25 wrong:%0Areally"
    ]


def test_annotations_of_a_plan_that_failed_around_its_steps(tmp_path: Path) -> None:
    """Credentials refused mid-run: one annotation at the plan says why fusion-run exits 3, and
    the step whose run was left going has its own; the summary says it too."""
    scenario = jobs(a=runs(RunScript(duration=600)), b=runs(RunScript(duration=10)))
    result = run([step("a"), step("b", "a")], scenario, before=revoke_after(30))
    printed: list[str] = []
    summary = tmp_path / "summary.md"
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    GitHubActions(result.engine.plan, environ, printed.append).finish(result.engine.result)
    refused = (
        "Fusion refused the credentials: GET http://emulated/api/spark/jobs/a: 401 Unauthorized: "
        "unauthorized; this Fusion asks for credentials: set fusion.auth (it is none) and "
        "FUSION_USER and FUSION_PASSWORD, FUSION_API_KEY or FUSION_TOKEN"
    )
    a = result.step("a")["run_id"]
    assert printed == [
        "::error file=plan.yaml,title=fusion-run%3A plan test did not succeed::exit 3: "
        f"{refused}; step 'a' may still be running in Fusion, step 'b' did not run",
        "::error file=plan.yaml,line=1,col=1,title=fusion-run%3A step a left running::"
        f"still running in Fusion (run {a}); {refused}",
    ]
    assert summary.read_text().splitlines()[2] == (
        f"> exit 3: {refused}; step 'a' may still be running in Fusion, step 'b' did not run"
    )


def test_a_mixed_plan_on_the_emulator_in_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A datasource, a Spark job and a task on the emulator: report, JUnit and summary all right."""
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step's summary\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    scenario = EXAMPLES / "scenarios" / "catalog-crawl-errors.yaml"
    plan = EXAMPLES / "catalog-refresh.yaml"
    result = invoke(
        str(plan),
        "--emulate",
        "--scenario",
        str(scenario),
        "--junit",
        "out/junit.xml",
        env=env,
    )
    assert result.exit_code == 1
    report = json.loads(Path("fusion-run-report.json").read_text())
    assert [(s["job"], s["outcome"]) for s in report["steps"]] == [
        ("datasource:products-catalog", "failed"),
        ("spark:products_click_signals_aggregation", "skipped"),
        ("task:warm-query-cache", "skipped"),
    ]
    reason = 'expect extra."counter.failed" == `0` is false (extra."counter.failed": 12)'
    assert report["steps"][0]["reason"] == reason
    assert result.stdout == (
        f"::error file={plan},line=14,col=5,title=fusion-run%3A step crawl failed::{reason}\n"
    )
    suite = ET.parse("out/junit.xml").getroot()[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "2")
    plan_failure = suite.find("testcase[@classname='fusion-run']/failure")
    assert plan_failure is not None
    assert plan_failure.get("message") == "exit 1: step 'crawl' failed"
    failure = suite.find("testcase[@name='crawl']/failure")
    assert failure is not None
    assert failure.get("message") == reason
    written = summary.read_text()
    assert written.startswith(
        "earlier step's summary\n### ❌ fusion-run: plan `catalog-refresh` failed in "
    )
    counted = "indexed 1176, failed 12"
    run_id = report["steps"][0]["run_id"]
    assert f"| crawl | ❌ failed | 3s | `{run_id}` | {counted} | {reason} |" in written
    assert "  class s0 failed\n  class s1,s2 skipped\n```" in written


FAILS = "jobs: {a: {runs: [{duration: 0.2, state: error}]}}"


@pytest.mark.parametrize(
    ("scenario", "after", "code", "failures", "message"),
    [
        (
            "missing: [b]",
            "b",
            2,
            "1",
            "exit 2: 1 job(s) have no configuration in Fusion; step 'b' did not run",
        ),
        (FAILS, "{job: b, run_if: all_done}", 0, "0", None),
        (FAILS, "b", 0, "0", None),
        (FAILS, "{job: b, allowed_failures: fail}", 1, "1", "exit 1: step 'b' was skipped"),
    ],
    ids=[
        "jobs-missing",
        "allowed-failure",
        "allowed-failure-passes-downstream",
        "required-step-skipped-for-an-allowed-failure",
    ],
)
def test_the_exit_code_and_the_junit_agree_on_the_emulator(  # noqa: PLR0917
    write_plan: WritePlan, scenario: str, after: str, code: int, failures: str, message: str | None
) -> None:
    plan = write_plan(f"version: 1\nsteps:\n  - {{job: a, allow_failure: true}}\n  - {after}\n")
    Path("s.yaml").write_text(f"version: 1\n{scenario}\n")
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "--junit", "j.xml")
    assert result.exit_code == code, result.stderr
    root = ET.parse("j.xml").getroot()
    assert (root.get("failures"), root.get("errors")) == (failures, "0")
    plan_case = root.find(".//testcase[@classname='fusion-run']")
    assert plan_case is not None
    failure = plan_case.find("failure")
    assert (None if failure is None else failure.get("message")) == message
    assert root.find(".//property[@name='exit_code']").get("value") == str(code)  # type: ignore[union-attr]


def test_a_required_step_skipped_for_an_allowed_failure_is_annotated_and_said_under_quiet(
    write_plan: WritePlan,
) -> None:
    plan = write_plan(
        "version: 1\nsteps:\n  - {job: a, allow_failure: true}\n"
        "  - {job: b, allowed_failures: fail}\n"
    )
    Path("s.yaml").write_text(f"version: 1\n{FAILS}\n")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "/dev/full"}
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "-q", env=environ)
    assert result.exit_code == 1
    error, warning = result.stdout.splitlines()
    assert error == (
        "::error file=plan.yaml,line=4,col=5,title=fusion-run%3A step b skipped::"
        "upstream 'a' failed"
    )
    run_id = json.loads(Path("fusion-run-report.json").read_text())["steps"][0]["run_id"]
    assert warning == (
        "::warning file=plan.yaml,line=3,col=5,title=fusion-run%3A step a failed::"
        f"allowed to fail; failed: run {run_id} ended error: The job run failed"
    )
    lines = result.stderr.splitlines()
    assert "b skipped: upstream 'a' failed" in lines
    assert "fusion-run: cannot write the GitHub summary /dev/full: No space left on device" in lines


def of_plan(report: dict[str, Any], plan: Path) -> str:
    """`report` as if it were of the plan file `plan`, in JSON."""
    report = copy.deepcopy(report)
    report["plan"]["settings"] = settings(load_plan(str(plan)))
    return json.dumps(report)


def test_graph_coloured_by_an_earlier_report(mixed: Result, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nname: test\nsteps:\n  - job: datasource:web\n    name: crawl\n"
        "  - job: train\n    depends_on: []\n"
        "  - job: publish\n    depends_on: [train]\n  - job: notify\n    depends_on: [train]\n"
    )
    report = tmp_path / "r.json"
    report.write_text(of_plan(mixed.report, plan))
    result = invoke(str(plan), "--graph", "dot", "--report", str(report))
    assert result.exit_code == 0, result.stderr
    assert (
        '"crawl" [label="crawl\\ndatasource:web", style="rounded,filled", fillcolor="#d4edda", color="#28a745"];'
        in result.stdout
    )
    assert (
        '"train" [label="train", style="rounded,filled", fillcolor="#f8d7da", color="#dc3545"];'
        in result.stdout
    )
    plain = invoke(str(plan), "--graph", "dot")
    assert "fillcolor" not in plain.stdout
    broken = invoke(str(plan), "--graph", "mermaid", "--report", str(plan))
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"fusion-run: --report {plan}: not JSON (")
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\nsteps:\n  - job: train\n")
    theirs = f"plan.yaml (plan 'test', sha256 {'0' * 12})"
    for kind in ("mermaid", "dot", "gantt"):
        refused = invoke(str(other), "--graph", kind, "--report", str(report))
        assert refused.exit_code == 2
        assert refused.stderr == (
            f"fusion-run: --report {report} is a report of another plan: {theirs}, not {other} "
            f"(plan 'other', sha256 {_sha(other)}): name test -> other; step crawl removed; "
            "step publish removed; step notify removed; give a report of this plan\n"
        )
    plan.write_text(plan.read_text().replace("depends_on: []", "depends_on: []  # first"))
    assert invoke(str(plan), "--graph", "mermaid", "--report", str(report)).exit_code == 0
    plan.write_text(plan.read_text().replace("name: crawl\n", "name: crawl\n    timeout: 1h\n"))
    assert invoke(str(plan), "--graph", "mermaid", "--report", str(report)).exit_code == 0
    plan.write_text(plan.read_text().replace("timeout: 1h\n", "on_running: adopt\n"))
    edited = invoke(str(plan), "--graph", "mermaid", "--report", str(report))
    assert edited.exit_code == 2
    assert edited.stderr == (
        f"fusion-run: --report {report} is a report of another plan: {theirs}, not {plan} "
        f"(plan 'test', sha256 {_sha(plan)}): step crawl: on_running wait -> adopt; "
        "give a report of this plan\n"
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_graph_gantt_draws_the_runs_of_a_report_as_the_summary_does(
    mixed: Result, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nname: test\nsteps:\n  - job: train\n")
    report = tmp_path / "r.json"
    report.write_text(of_plan(mixed.report, plan))
    result = invoke(str(plan), "--graph", "gantt", "--report", str(report))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == gantt(clean(mixed.report))
    assert "  section train\n    attempt 1 failed in 5s :crit, " in result.stdout
    alone = invoke(str(plan), "--graph", "gantt")
    assert alone.exit_code == 2
    assert alone.stderr == (
        "fusion-run: --graph gantt draws the runs of a report: give the report with --report\n"
    )
    unstarted = copy.deepcopy(mixed.report)
    for entry in unstarted["steps"]:
        entry.update(outcome="not_run", attempts=[], run_id=None, started_at=None, ended_at=None)
    report.write_text(of_plan(unstarted, plan))
    nothing = invoke(str(plan), "--graph", "gantt", "--report", str(report))
    assert nothing.exit_code == 2
    assert (
        nothing.stderr == f"fusion-run: --report {report}: no step of it started: no run to draw\n"
    )


def test_a_report_that_cannot_be_written_at_the_start_still_gets_junit_and_the_summary(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's first write fails (a full disk): nothing starts, exit 3, and JUnit, the
    GitHub summary and the annotation all say why, as the exit code does."""
    from runner.report import journal as reports  # noqa: PLC0415

    def full(path: str, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reports, "write_text_atomically", full)
    plan = write_plan("version: 1\nsteps: [a, b]\n")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "summary.md"}
    result = invoke(plan, "--emulate", "--junit", "j.xml", env=environ)
    why = "cannot write the report fusion-run-report.json: No space left on device"
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (3, f"fusion-run: {why}")
    verdict = f"exit 3: {why}; steps 'a', 'b' did not run"
    case = ET.parse("j.xml").getroot().find(".//testcase[@classname='fusion-run']/failure")
    assert case is not None
    assert case.get("message") == verdict
    assert f"> {verdict}" in Path("summary.md").read_text()
    assert result.stdout.endswith(f"::{verdict}\n")
    assert not Path("fusion-run-report.json").exists()


def test_an_allowed_failure_is_a_warning_in_every_output(write_plan: WritePlan) -> None:
    """One plan, one allowed failure: the exit code, the report, JUnit, the GitHub summary and
    annotations, and the console all tell it as a warning, and the steps after it run."""
    plan = write_plan(
        "version: 1\nname: nightly\nsteps:\n"
        "  - {job: a, allow_failure: true}\n"
        "  - {job: b, depends_on: [a]}\n"
        "  - {job: alert, depends_on: [a], run_if: at_least_one_failed}\n"
    )
    Path("s.yaml").write_text(f"version: 1\n{FAILS}\n")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "summary.md"}
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "--junit", "j.xml", env=environ)
    assert result.exit_code == 0, result.stderr
    report = json.loads(Path("fusion-run-report.json").read_text())
    a, b, alert = report["steps"]
    assert (report["outcome"], report["verdict"]) == ("succeeded", {"exit_code": 0, "why": None})
    assert (a["outcome"], a["allow_failure"], b["outcome"], alert["outcome"]) == (
        "failed",
        True,
        "succeeded",
        "skipped",
    )
    said = f"allowed to fail; failed: run {a['run_id']} ended error: The job run failed"
    root = ET.parse("j.xml").getroot()
    assert (root.get("failures"), root.get("errors")) == ("0", "0")
    case = root.find(".//testcase[@name='a']")
    assert case is not None
    assert case.find("failure") is None
    assert case.find("skipped").get("message") == said  # type: ignore[union-attr]
    plan_case = root.find(".//testcase[@classname='fusion-run']")
    assert plan_case.find("system-out").text.splitlines()[-1] == (  # type: ignore[union-attr]
        "warning: 1 allowed failure: step 'a' failed"
    )
    assert root.find(".//property[@name='allowed_failures']").get("value") == "1"  # type: ignore[union-attr]
    summary = Path("summary.md").read_text().splitlines()
    assert "> ⚠️ 1 allowed failure: step 'a' failed" in summary
    assert f"| a | ⚠️ failed (allowed to fail) | 0.2s | `{a['run_id']}` | " in "\n".join(summary)
    assert result.stdout.splitlines() == [
        f"::warning file=plan.yaml,line=4,col=5,title=fusion-run%3A step a failed::{said}"
    ]
    console = result.stderr.splitlines()
    ended = [line for line in console if " a: warning: allowed to fail; " in line]
    assert len(ended) == 1
    assert ended[0].endswith(
        f" a: warning: allowed to fail; failed in 0.2s: run {a['run_id']} ended error: "
        "The job run failed"
    )
    assert not any(line.startswith("a failed") for line in console)  # not said as a failure
    assert console[-2:] == [
        f"a: warning: {said}",
        "fusion-run: plan nightly succeeded in "
        f"{console[-1].split(' in ', 1)[1].split(':')[0]}: 1 failed (allowed), 1 succeeded, "
        "1 skipped. Report: fusion-run-report.json",
    ]


def test_the_summary_names_each_missing_job_at_its_step(
    write_plan: WritePlan, tmp_path: Path
) -> None:
    """Jobs Fusion does not have stop the plan before it starts: the summary names each, at its
    step, in the console's words, not only how many."""
    Path("s.yaml").write_text("version: 1\nmissing: [trian, evalute]\n")
    plan = write_plan("version: 1\nname: p\nsteps:\n  - crawl\n  - trian\n  - evalute\n")
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", env=env)
    assert result.exit_code == 2
    url = result.stderr.splitlines()[0].rsplit(" ", 1)[-1]
    lines = summary.read_text().splitlines()
    assert lines[2:7] == [
        "> exit 2: 2 job(s) have no configuration in Fusion; steps 'crawl', 'trian', 'evalute' "
        "did not run",
        "",
        f"- **trian**: job 'trian' has no configuration in Fusion at {url}/api",
        f"- **evalute**: job 'evalute' has no configuration in Fusion at {url}/api",
        "",
    ]
    assert read_report()["error_fact"] == {
        "kind": "jobs_missing",
        "count": 2,
        "steps": ["trian", "evalute"],
    }
