"""`fusion-run PLAN --log-format json` as CI runs it: the real command, in processes of its own, on
the real clock, with stderr a pipe (no terminal). Every line of stderr is a JSON object valid
against schemas/events.schema.json, and stdout is empty. (nightly-failures, whose retry waits two
minutes, runs on the fake clock in tests/scenario/test_jsonlog.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema

from runner.schemas import load_schema
from tests.helpers.paths import EXAMPLES, ROOT
from tests.helpers.process import Lines

VALIDATOR = jsonschema.Draft202012Validator(load_schema("events.schema.json"))
RUNS = {  # scenario: (plan, exit code)
    "flaky-gateway": ("quickstart", 0),
    "stuck-crawl": ("stuck-crawl", 1),
    "nightly-search": ("nightly-search", 1),
}


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FUSION_", "GITHUB_"))}
    return {**env, "PYTHONPATH": str(ROOT)}


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_every_line_of_the_example_rehearsals_is_a_valid_object(tmp_path: Path) -> None:
    """The three rehearsals side by side, each with heartbeats every second and --verbose."""
    children = {}
    for scenario, (plan, _) in RUNS.items():
        args = ["--emulate", "--scenario", str(EXAMPLES / "scenarios" / f"{scenario}.yaml")]
        args += ["--log-format", "json", "--heartbeat", "1s", "-v"]
        args += ["--report", str(tmp_path / f"{scenario}.json")]
        children[scenario] = start(str(EXAMPLES / f"{plan}.yaml"), *args, cwd=tmp_path)
    seen: set[str] = set()
    for scenario, child in children.items():
        out, err = child.communicate(timeout=120)
        assert (child.returncode, out) == (RUNS[scenario][1], ""), err
        records = []
        for line in err.splitlines():
            record = json.loads(line)
            assert [e.message for e in VALIDATOR.iter_errors(record)] == [], line
            records.append(record)
        assert records[0]["event"] == "plan_started"
        assert records[-1]["event"] == "plan_ended"
        assert records[-1]["exit_code"] == child.returncode
        report = json.loads((tmp_path / f"{scenario}.json").read_text())
        assert [row["outcome"] for row in records[-1]["results"]] == [
            step["outcome"] for step in report["steps"]
        ]
        seen |= {record["event"] for record in records}
    assert {
        "heartbeat",
        "request",
        "contact_lost",
        "start_answer_lost",
        "run_late",
        "cancelling",
        "driver_log_kept",
        "fusion_may_start",
        "checked",
        "criterion_warned",
    } <= seen


def test_an_invalid_plan_is_one_error_object(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps:\n  - job: crawl\n    retries: -1\n")
    child = start("plan.yaml", "--emulate", "--log-format", "json", cwd=tmp_path)
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out) == (2, "")
    [line] = err.splitlines()
    error = json.loads(line)
    assert [e.message for e in VALIDATOR.iter_errors(error)] == []
    assert (error["event"], error["exit_code"]) == ("error", 2)
    assert error["problems"][0]["line"] == 4


def test_an_interrupt_ends_with_plan_ended_and_exit_130(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("version: 1\njobs:\n  crawl: {runs: [{duration: 60}]}\n")
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [crawl]\n")
    args = ("plan.yaml", "--emulate", "--scenario", "s.yaml", "--log-format", "json")
    child = start(*args, cwd=tmp_path)
    assert child.stderr is not None
    lines = Lines(child.stderr)
    lines.until('"event": "state_changed"')
    child.send_signal(signal.SIGINT)
    rest = lines.rest(timeout=60)
    assert child.wait(timeout=60) == 130
    assert child.stdout is not None
    with child.stdout:
        assert child.stdout.read() == ""
    records = [json.loads(line) for line in lines.seen + rest]
    for record in records:
        assert [e.message for e in VALIDATOR.iter_errors(record)] == [], record
    events = [record["event"] for record in records]
    assert "interrupt_received" in events
    assert "cancelling" in events
    assert records[-1]["event"] == "plan_ended"
    assert (records[-1]["outcome"], records[-1]["exit_code"]) == ("interrupted", 130)
