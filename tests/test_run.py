"""`fusion-run PLAN` from the command line, on the built-in emulator and the real clock."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from runner import cli
from runner.schemas import load_schema
from tests.conftest import EXAMPLES, WritePlan

REPORTS = Draft202012Validator(load_schema("report.schema.json"))


def fast(**states: str) -> str:
    """A scenario where crawl, index and train each take 0.2 s, ending as `states` says."""
    return "version: 1\njobs:\n" + "".join(
        f"  {job}:\n    runs: [{{duration: 0.2, state: {states.get(job, 'finished')}, "
        "error: boom}]\n"
        for job in ("crawl", "index", "train")
    )


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)


def report(path: str = "fusion-run-report.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    assert list(REPORTS.iter_errors(data)) == []
    return data


def test_the_readme_quickstart_runs_on_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(str(EXAMPLES / "quickstart.yaml"), "--emulate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "fusion-run: plan quickstart: 3 step(s) against the emulator at http://127.0.0.1:"
    )
    assert lines[-1].startswith("fusion-run: plan quickstart succeeded in ")
    assert lines[-1].endswith(": 3 succeeded. Report: fusion-run-report.json")
    assert report()["outcome"] == "succeeded"


def test_a_failing_plan_exits_1_with_its_reasons(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast(train="error"))
    plan = write_plan("version: 1\nname: nightly\nsteps: [crawl, train, index]\n")
    result = run(plan, "--emulate", "--scenario", "fast.yaml", "--report", "out/r.json")
    assert result.exit_code == 1
    data = report("out/r.json")
    run_id = data["steps"][1]["run_id"]
    assert f"train failed: run {run_id} ended error: boom" in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1].startswith("fusion-run: plan nightly failed in ")
    assert [s["outcome"] for s in data["steps"]] == ["succeeded", "failed", "skipped"]


def test_quiet(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast())
    result = run(
        write_plan("version: 1\nsteps: [crawl]\n"), "--emulate", "--scenario", "fast.yaml", "-q"
    )
    assert result.exit_code == 0
    [line] = result.stderr.splitlines()
    assert line.startswith("fusion-run: plan plan succeeded in ")


def test_max_parallel_flag(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast())
    plan = write_plan(
        "version: 1\nsteps:\n"
        + "".join(f"  - job: {j}\n    depends_on: []\n" for j in ("crawl", "index", "train"))
    )
    result = run(plan, "--emulate", "--scenario", "fast.yaml", "--max-parallel", "1")
    assert result.exit_code == 0
    events = [
        line.split(": ")[1].split()[0]
        for line in result.stderr.splitlines()
        if line.startswith("   ")
    ]
    assert events == ["started", "succeeded"] * 3  # one at a time


def test_unknown_jobs_exit_2_before_anything_starts(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text("version: 1\nmissing: [trian, evalute]\n")
    plan = write_plan("version: 1\nsteps:\n  - crawl\n  - trian\n  - evalute\n")
    result = run(plan, "--emulate", "--scenario", "s.yaml")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[1].startswith(
        "plan.yaml:4:5: $.steps[1]: job 'trian' has no configuration in Fusion at http://127.0.0.1:"
    )
    assert lines[2].startswith(
        "plan.yaml:5:5: $.steps[2]: job 'evalute' has no configuration in Fusion at "
    )
    data = report()
    assert data["outcome"] == "failed"
    assert data["error"] == "2 job(s) have no configuration in Fusion"
    assert {s["outcome"] for s in data["steps"]} == {"not_run"}


def test_unreachable_fusion_exits_3_and_leaves_a_report(write_plan: WritePlan) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plan = write_plan("version: 1\nfusion:\n  auth: none\n  retry_budget: 1s\nsteps: [crawl]\n")
    result = run(plan, "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[1] == (
        f"   0:00 lost contact with Fusion (GET http://127.0.0.1:{port}/api/spark/configurations/"
        "crawl: cannot connect (Connection refused)); trying again"
    )
    message = lines[-1].removeprefix("fusion-run: ")
    assert message.startswith("lost contact with Fusion for ")
    assert message.endswith(
        f"s (last error: GET http://127.0.0.1:{port}/api/spark/configurations/crawl: "
        "cannot connect (Connection refused))"
    )
    assert report()["error"] == message


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            (),
            {},
            "fusion-run: no Fusion URL: set fusion.url in the plan, FUSION_URL, or --url "
            "(or rehearse on the emulator with --emulate)",
        ),
        (
            ("--url", "https://f.example.com"),
            {},
            "fusion-run: FUSION_USER is not set: "
            "fusion.auth basic needs FUSION_USER and FUSION_PASSWORD in the environment",
        ),
        (
            ("--scenario", "s.yaml"),
            {},
            "fusion-run: --scenario scripts the emulator: use it with --emulate",
        ),
    ],
)
def test_usage_errors_exit_2(
    write_plan: WritePlan, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = run(write_plan("version: 1\nsteps: [crawl]\n"), *args, env=env)
    assert (result.exit_code, result.stderr) == (2, message + "\n")
    assert not Path("fusion-run-report.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_active_runs_and_exits_130(
    write_plan: WritePlan, sig: signal.Signals
) -> None:
    Path("slow.yaml").write_text("version: 1\njobs:\n  long:\n    runs: [{duration: 3600}]\n")
    plan = write_plan("version: 1\nsteps: [long, after]\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", plan, "--emulate", "--scenario", "slow.yaml"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        deadline = time.monotonic() + 30
        while "started run" not in process.stderr.readline():
            assert time.monotonic() < deadline
        process.send_signal(sig)
        assert process.wait(timeout=30) == 130
        rest = process.stderr.read()
    finally:
        process.kill()
        process.stderr.close()
    assert "interrupted: cancelling active runs (interrupt again to stop waiting)" in rest
    data = report()
    assert data["outcome"] == "interrupted"
    assert [s["outcome"] for s in data["steps"]] == ["cancelled", "not_run"]
    assert data["steps"][0]["attempts"][0]["state"] == "cancelled"


def test_a_report_that_cannot_be_written_is_one_line(write_plan: WritePlan) -> None:
    Path("fast.yaml").write_text(fast())
    Path("taken").write_text("a file, not a folder")
    result = run(
        write_plan("version: 1\nsteps: [crawl]\n"),
        "--emulate",
        "--scenario",
        "fast.yaml",
        "--report",
        "taken/r.json",
    )
    assert result.exit_code == 3
    assert (
        result.stderr.splitlines()[-1]
        == "fusion-run: cannot write the report taken/r.json: File exists"
    )
