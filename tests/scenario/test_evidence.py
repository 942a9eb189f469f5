"""A failed Spark run's driver log, kept as the run ends (`runner.engine.evidence`): asked for
once, only when a run of ours fails, recorded in the attempt, shown in JUnit and the GitHub
summary, and a note in exact words when it cannot be read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from runner import wording
from runner.emulator.scenario import Fault, FaultTarget, RunScript, Scenario, Variant
from runner.engine.evidence import DRIVER_LOG_ROWS, LINE_CHARACTERS
from runner.events import DriverLogKept, Retrying, StepEnded
from runner.redact import Redactor, cleaned
from runner.report.github import summary_markdown
from runner.report.junit import junit_xml
from runner.result import Evidence
from tests.helpers.cli import invoke
from tests.helpers.engine import Result, jobs, run, runs
from tests.helpers.fakes import CREDENTIALS, step

LOG_URL = "GET http://emulated/api/spark/driver/log"
OOM = "java.lang.OutOfMemoryError: Java heap space"


def asked(result: Result) -> list[str]:
    """The ids the driver log was asked by, in order."""
    return [ident for target, ident in result.model.requests if target is FaultTarget.DRIVER_LOG]


def evidence(result: Result, name: str, attempt: int = 0) -> dict[str, object] | None:
    found: dict[str, object] | None = result.step(name)["attempts"][attempt]["evidence"]
    return found


def failing(**kwargs: object) -> Scenario:
    script = runs(RunScript(duration=5, state="error", error=OOM, **kwargs))  # type: ignore[arg-type]
    return jobs(train=script)


def test_a_failed_spark_run_keeps_the_end_of_its_driver_log_and_says_so_after_failing() -> None:
    result = run([step("train")], failing())
    run_id = result.step("train")["run_id"]
    kept = evidence(result, "train")
    assert kept is not None
    assert (kept["log_by"], kept["note"]) == ("run", None)
    log = kept["driver_log"]
    assert isinstance(log, list)
    assert len(log) == 8
    assert log[0] == "26/01/01 00:00:00 INFO SparkContext: Running Spark version 3.4.1"
    assert log[5] == f"org.apache.spark.SparkException: Job aborted due to stage failure: {OOM}"
    assert log[-1].startswith("\tat org.apache.spark.scheduler.DAGScheduler.abortStage")
    assert asked(result) == [run_id]
    assert result.lines(DriverLogKept) == [
        f"train: the last 8 lines of run {run_id}'s driver log are in the report; the last "
        f"error in it: {log[5]}"  # the exception, not the frames of its stack after it
    ]
    ended = next(i for i, e in enumerate(result.events) if isinstance(e, StepEnded))
    said = next(i for i, e in enumerate(result.events) if isinstance(e, DriverLogKept))
    assert said == ended + 1


def test_a_scenario_gives_a_run_its_log_and_only_the_last_rows_are_kept() -> None:
    lines = tuple(f"line {n}" for n in range(DRIVER_LOG_ROWS + 10))
    result = run([step("train")], failing(log=lines))
    assert evidence(result, "train") == {
        "driver_log": list(lines[-DRIVER_LOG_ROWS:]),
        "log_by": "run",
        "note": None,
    }


def test_one_line_of_a_megabyte_is_cut() -> None:
    result = run([step("train")], failing(log=("x" * 2**20, "ERROR boom")))
    kept = evidence(result, "train")
    assert kept is not None
    assert kept["driver_log"] == ["x" * (LINE_CHARACTERS - 1) + "…", "ERROR boom"]
    assert len(junit_xml(result.engine.result)) < 20_000


def test_no_log_is_asked_for_a_success_a_timeout_or_a_datasource() -> None:
    scenario = jobs(
        ok=runs(RunScript(duration=2)),
        slow=runs(RunScript(duration=600)),
        **{
            "datasource:web": runs(
                RunScript(duration=2, state="failed", error="host unknown", result={"n": 3})
            )
        },
    )
    steps = [
        step("ok"),
        step("slow", timeout=30),
        step("crawl", job="datasource:web", states=("success",)),
    ]
    result = run(steps, scenario)
    assert result.outcomes() == {"ok": "succeeded", "slow": "timed_out", "crawl": "failed"}
    assert asked(result) == []
    assert [evidence(result, name) for name in ("ok", "slow", "crawl")] == [None, None, None]
    assert not result.of(DriverLogKept)
    crawl = result.step("crawl")["attempts"][0]
    assert (crawl["error"], crawl["result"]["n"]) == ("host unknown", 3)
    case = ET.fromstring(junit_xml(result.engine.result)).find(".//testcase[@name='crawl']")
    assert case is not None
    err = case.findtext("system-err") or ""
    assert err.splitlines()[:2] == [
        f"attempt 1: error and counters of run {crawl['run_id']}:",
        "error: host unknown",
    ]
    assert err.splitlines()[2].startswith('counters: {"endTime": ')


def test_each_failed_attempt_keeps_its_own_log_and_a_retry_is_said_first() -> None:
    scenario = jobs(train=runs(RunScript(duration=5, state="error"), RunScript(duration=5)))
    result = run([step("train", retries=1, retry_delay=1)], scenario)
    first = result.step("train")["attempts"][0]["run_id"]
    assert result.outcomes() == {"train": "succeeded"}
    assert asked(result) == [first]
    assert evidence(result, "train", 1) is None
    retrying = next(i for i, e in enumerate(result.events) if isinstance(e, Retrying))
    assert isinstance(result.events[retrying + 1], DriverLogKept)


def test_a_log_served_by_the_job_configuration_id_is_found_after_a_404() -> None:
    scenario = failing()
    scenario = Scenario(jobs=scenario.jobs, variant=Variant(driver_log_by="job"))
    result = run([step("train")], scenario)
    assert asked(result) == [result.step("train")["run_id"], "train"]
    kept = evidence(result, "train")
    assert kept is not None
    assert kept["log_by"] == "job"
    assert kept["driver_log"]


def test_a_fusion_with_no_driver_log_gets_a_note_and_the_step_fails_as_it_would() -> None:
    scenario = Scenario(jobs=failing().jobs, variant=Variant(driver_log_by="none"))
    result = run([step("train")], scenario)
    run_id = result.step("train")["run_id"]
    note = (
        f"Fusion has none ({LOG_URL}/train?rows=50: 404 Not Found: No driver pod found for "
        "train): the driver pod is deleted, or this Fusion has no driver log endpoint "
        "(Fusion 4.x)"
    )
    assert evidence(result, "train") == {"driver_log": None, "log_by": None, "note": note}
    assert result.outcomes() == {"train": "failed"}
    assert result.step("train")["reason"] == f"run {run_id} ended error: {OOM}"
    assert result.lines(DriverLogKept) == [
        f"train: no driver log of run {run_id} in the report: {note}"
    ]


def test_a_refused_or_hanging_log_is_a_note_never_a_failure_nor_a_retry() -> None:
    def with_fault(answer: int | str) -> Scenario:
        script = failing().jobs["train"]
        fault = Fault(on=FaultTarget.DRIVER_LOG, answer=answer)
        return jobs(train=runs(*script.runs, faults=(fault,)))

    refused = run([step("train")], with_fault(403))
    run_id = refused.step("train")["run_id"]
    assert evidence(refused, "train") == {
        "driver_log": None,
        "log_by": None,
        "note": f"Fusion refused it ({LOG_URL}/{run_id}?rows=50: 403 Forbidden: injected fault: "
        "403 on driver_log): the credentials may not read Spark driver logs",
    }
    hung = run([step("train")], with_fault("hang"))
    run_id = hung.step("train")["run_id"]
    assert evidence(hung, "train") == {
        "driver_log": None,
        "log_by": None,
        "note": f"it could not be read ({LOG_URL}/{run_id}?rows=50: no answer within 15s)",
    }
    for result in (refused, hung):
        assert result.outcomes() == {"train": "failed"}
        assert len(asked(result)) == 1


HOSTILE = (
    "\x1b[31mERROR\x1b[0m colour\x07 and bell",
    "``````````",
    "``` a fence ```",
    "</details></summary><script>alert(1)</script>",
    "]]> out of CDATA <![CDATA[",
    f"password={CREDENTIALS['FUSION_PASSWORD']} token {CREDENTIALS['FUSION_TOKEN']}",
    f"key {CREDENTIALS['FUSION_API_KEY']} and {'y' * 2**20}",
)


def test_a_hostile_log_breaks_no_output_and_shows_no_credential() -> None:
    result = run([step("train")], failing(log=HOSTILE), redact=Redactor.from_environ(CREDENTIALS))
    report = json.dumps(result.report)
    xml = junit_xml(result.engine.result)
    markdown = summary_markdown(cleaned(result.report), result.engine.plan, "exit 1")
    for output in (report, xml, markdown):
        for name in ("FUSION_PASSWORD", "FUSION_TOKEN", "FUSION_API_KEY"):
            assert CREDENTIALS[name] not in output
    err = ET.fromstring(xml).findtext(".//testcase[@name='train']/system-err") or ""
    shown = err.splitlines()[2:]  # after the title and the error
    assert shown[:5] == [
        "ERROR colour and bell",
        "``````````",
        "``` a fence ```",
        "</details></summary><script>alert(1)</script>",
        "]]> out of CDATA <![CDATA[",
    ]
    assert shown[5] == "password=*** token ***"
    assert shown[6] == "key *** and " + "y" * (LINE_CHARACTERS - 13) + "…"
    block = markdown[markdown.index("<details>") : markdown.index("</details>\n\n```mermaid")]
    lines = block.splitlines()
    assert lines[0] == (
        f"<details><summary>train, attempt 1: driver log of run {result.step('train')['run_id']}"
        " (last 7 lines)</summary>"
    )
    fence = "`" * 11
    assert lines[2] == f"{fence}text"
    assert lines[2:].count(fence) == 1
    assert lines[-2] == fence
    inside = lines[3:-2]
    assert all(not re.fullmatch(r"\s*`{11,}\s*", line) for line in inside)
    assert not re.search("[\x00-\x08\x0b-\x1f]", markdown + xml)


def test_the_report_keeps_evidence_and_reads_it_back() -> None:
    kept = Evidence(driver_log=("a", "b"), log_by="job")
    assert Evidence.from_dict(kept.to_dict()) == kept
    noted = Evidence(note="why")
    assert noted.to_dict() == {"driver_log": None, "log_by": None, "note": "why"}
    assert Evidence.from_dict(None) is None


def test_the_console_words_of_a_kept_log() -> None:
    words = [
        wording.line(DriverLogKept(run_id="r1", lines=1)),
        wording.line(DriverLogKept(run_id="r1", lines=0)),
        wording.line(DriverLogKept(run_id=None, lines=0, note="it could not be read (x)")),
    ]
    assert words == [
        "the last line of run r1's driver log is in the report",
        "the driver log of run r1 is empty",
        "no driver log of its run in the report: it could not be read (x)",
    ]


def test_a_rehearsal_masks_the_environment_s_credentials_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI job that rehearses with --emulate has its real credentials set: a scenario's driver
    log or error that holds them is masked in every output, as Fusion's words are."""
    monkeypatch.chdir(tmp_path)
    password = CREDENTIALS["FUSION_PASSWORD"]
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n  train:\n    runs:\n"
        f"      - {{state: error, error: 'bad {password}', log: ['x {password} y']}}\n"
    )
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [train]\n")
    env = {**CREDENTIALS, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "summary.md"}
    result = invoke("plan.yaml", "--emulate", "--scenario", "s.yaml", "--junit", "j.xml", env=env)
    assert result.exit_code == 1
    outputs = [result.stdout, result.stderr] + [
        (tmp_path / name).read_text() for name in ("fusion-run-report.json", "j.xml", "summary.md")
    ]
    assert all(password not in output for output in outputs)
    assert "x *** y" in (tmp_path / "fusion-run-report.json").read_text()
