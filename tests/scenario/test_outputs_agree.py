"""One run, every output: the console, the report, JUnit, the GitHub summary and the HTML page
say the same durations and the same warnings."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from runner.durations import format_duration
from tests.helpers.cli import invoke
from tests.helpers.paths import EXAMPLES, WritePlan

PLAN = """\
version: 1
name: night
steps:
  - job: train
    retries: 1
    retry_delay: 3s
  - job: datasource:web
    name: crawl
    depends_on: []
    success: {states: [success]}
"""
SCENARIO = """\
version: 1
jobs:
  train:
    runs:
      - {duration: 5s, state: error, error: "java.lang.OutOfMemoryError: Java heap space"}
      - {duration: 7s, state: finished, result: {docsWritten: 1200}}
  datasource:web:
    runs:
      - duration: 4s
        state: success
        result: {counter.output: 60, counter.failed: 2, counter.deleted: 0}
"""


def test_a_step_has_one_duration_in_every_output(
    write_plan: WritePlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step retried after an out-of-memory error: its duration spans both runs and the wait
    between, and the console (event line and table), the report, JUnit, the summary and the page
    all give it; the suite's time is the plan's wall time."""
    plan = write_plan(PLAN)
    Path("s.yaml").write_text(SCENARIO)
    summary = tmp_path / "summary.md"
    result = invoke(
        plan,
        "--emulate",
        "--scenario",
        "s.yaml",
        "--junit",
        "j.xml",
        "--html",
        "r.html",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(Path("fusion-run-report.json").read_text())
    train, crawl = report["steps"]
    assert len(train["attempts"]) == 2
    first, last = train["attempts"]
    assert train["duration"] > first["duration"] + last["duration"]  # the wait too
    suite = ET.parse("j.xml").getroot()[0]
    markdown, page = summary.read_text(), Path("r.html").read_text()
    story = "succeeded on attempt 2; attempt 1 failed: java.lang.OutOfMemoryError: Java heap space"
    for step, counters in ((train, "docsWritten 1200"), (crawl, "indexed 58, failed 2, deleted 0")):
        took = format_duration(step["duration"])
        name = step["name"]
        assert f"{name}: succeeded in {took} (run {step['run_id']})" in result.stderr
        [row] = [line for line in result.stderr.splitlines() if line.startswith(f"{name}  ")]
        assert row.split()[2] == took
        case = suite.find(f"testcase[@name='{name}']")
        assert case is not None
        assert case.get("time") == f"{step['duration']:.3f}"
        assert f"| {name} | ✅ succeeded | {took} | `{step['run_id']}` | {counters} |" in markdown
        assert re.search(f">{name}</a></td><td>.*?</td><td>{re.escape(took)}</td>", page)
        assert f"<td>{counters}</td>" in page
    assert suite.get("time") == f"{report['duration']:.3f}"
    assert report["duration"] < train["duration"] + crawl["duration"]  # side by side
    assert f"train {story}" in result.stderr.splitlines()
    assert f"| {story} |" in markdown
    assert f"<td>{story}</td>" in page


def test_every_warning_the_console_prints_is_in_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fusion's own schedule, a run late, a warn criterion, and metrics not pushed after the
    plan ended: the report's warnings are the console's, each in the same words, about the same
    step."""
    monkeypatch.chdir(tmp_path)
    with socket.socket() as closed:  # a port nothing listens on once the block ends
        closed.bind(("127.0.0.1", 0))
        gateway = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = invoke(
        str(EXAMPLES / "nightly-search.yaml"),
        "--emulate",
        "--scenario",
        str(EXAMPLES / "scenarios" / "nightly-search.yaml"),
        "--push-metrics",
        gateway,
    )
    assert result.exit_code == 1
    printed = set()
    for line in result.stderr.splitlines():
        said = re.fullmatch(r" *\d+:\d\d (\S+): warning: (.*)", line)
        if said:
            printed.add((said.group(1), said.group(2)))
        elif line.startswith(("fusion-run: warning: ", "fusion-run: cannot write the ")):
            printed.add((None, line.removeprefix("fusion-run: ").removeprefix("warning: ")))
    report = json.loads(Path("fusion-run-report.json").read_text())
    kept = [(w["step"], w["text"]) for w in report["warnings"]]
    # an allowed failure is kept as its step: failed, allowed to fail, and why
    [(name, text)] = [(name, text) for name, text in printed if text.startswith("allowed to fail")]
    [reviews] = [step for step in report["steps"] if step["name"] == name]
    assert (reviews["outcome"], reviews["allow_failure"]) == ("failed", True)
    assert text.endswith(reviews["reason"])
    printed.discard((name, text))
    assert set(kept) == printed
    assert len(kept) == len(printed) == 4
    assert {step for step, _ in kept} == {"crawl-catalog", None}
    assert (
        None,
        f"metrics not pushed to the Pushgateway at {gateway}: the connection was refused; "
        "the plan's outcome stands",
    ) in kept
