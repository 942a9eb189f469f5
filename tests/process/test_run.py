"""`fusion-run PLAN` on the real clock: in processes of its own as CI runs it, for signals and its
exit code, and in process against a port where no Fusion answers."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.clock import SystemClock
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan
from tests.helpers.process import Lines
from tests.helpers.reports import read_report


def test_a_fusion_that_never_answers_exits_3_within_its_first_contact(
    write_plan: WritePlan,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plan = write_plan("version: 1\nfusion:\n  auth: none\n  first_contact: 2s\nsteps: [crawl]\n")
    began = time.monotonic()
    result = invoke(plan, "--url", f"http://127.0.0.1:{port}", clock=SystemClock())
    took = time.monotonic() - began
    assert result.exit_code == 3
    assert took < 4  # the first-contact window, not the 5-minute retry budget
    url = f"http://127.0.0.1:{port}"
    error = f"GET {url}/api/spark/configurations/crawl: cannot connect (Connection refused)"
    lines = result.stderr.splitlines()
    assert lines[1] == f"   0:00 lost contact with Fusion ({error}); trying again"
    assert lines[-1] == (
        f"fusion-run: Fusion at {url} did not answer for 2s (last error: {error}): check that "
        "Fusion is up there, and fusion.url, --url or FUSION_URL (fusion.first_contact sets how "
        "long to try)"
    )
    assert read_report()["error"] == lines[-1].removeprefix("fusion-run: ")


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
    output = Lines(process.stderr)
    try:
        output.until("started run")
        process.send_signal(sig)
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
    rest = output.rest()
    said = " interrupted: cancelling active runs (interrupt again to stop waiting)"
    assert any(line.endswith(said) for line in rest), rest
    data = read_report()
    assert data["outcome"] == "interrupted"
    assert [s["outcome"] for s in data["steps"]] == ["cancelled", "not_run"]
    assert data["steps"][0]["attempts"][0]["state"] == "cancelled"


def test_with_no_terminal_a_plan_timeout_does_not_stall_the_next_step(
    write_plan: WritePlan,
) -> None:
    """As in CI: stderr is a pipe, and the plan has a timeout. The second step starts when the
    first ends (it used to start only when the timeout fired, and then be skipped)."""
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  a: {runs: [{duration: 0.5}]}\n  b: {runs: [{duration: 0.5}]}\n"
    )
    plan = write_plan("version: 1\ntimeout: 1m\nsteps: [a, b]\n")
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "runner", plan, "--emulate", "--scenario", "s.yaml"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=90,
        check=False,
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert took < 15, f"{took:.1f}s for two half-second jobs"
    assert [s["outcome"] for s in read_report()["steps"]] == ["succeeded", "succeeded"]


def test_a_signal_after_the_verdict_does_not_change_the_exit_code(tmp_path: Path) -> None:
    """SIGTERM while the process shuts down, its report final: the exit code is still the
    verdict's (1 here), not the signal's death (143)."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n  a: {runs: [{duration: 0.2, state: error}]}\n"
    )
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [a]\n")
    code = (
        "import atexit, os, signal, sys\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "sys.argv = ['fusion-run', 'plan.yaml', '--emulate', '--scenario', 's.yaml', '-q']\n"
        "from runner.cli import entry\n"
        "entry()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert read_report(tmp_path / "fusion-run-report.json")["outcome"] == "failed"


def test_the_emulator_is_reached_with_the_plans_timeouts(write_plan: WritePlan) -> None:
    """A rehearsal behaves as the plan will against Fusion: a start that hangs is given up
    after the plan's read_timeout (1 s), not the default 60 s, and its run looked for."""
    Path("s.yaml").write_text(
        "version: 1\njobs:\n"
        "  long: {runs: [{duration: 0.5}], faults: [{on: start, answer: hang}]}\n"
    )
    plan = write_plan("version: 1\nfusion: {read_timeout: 1s}\nsteps: [long]\n")
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", plan, "--emulate", "--scenario", "s.yaml"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        Lines(process.stderr).until("no answer within 1s); looking for its run", timeout=20)
        assert time.monotonic() - began < 10  # 1 s, not 60 s, after the process started
        process.send_signal(signal.SIGTERM)
        time.sleep(1)  # two signals at once would be one (POSIX does not queue them)
        process.send_signal(signal.SIGTERM)  # a second: stop looking, the start left open
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
