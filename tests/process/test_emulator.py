"""The fusion-emulator command, in a process of its own: it serves its scenario, and refuses a bad
one."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.helpers.process import Lines

EMULATOR = [sys.executable, "-m", "runner.cli.emulator"]  # what the fusion-emulator script runs


def test_fusion_emulator_command(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\njobs:\n  crawl: {}\n")
    process = subprocess.Popen(
        [*EMULATOR, "--port", "0", "--scenario", str(scenario)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    output = Lines(process.stderr)
    try:
        banner = output.until("fusion-emulator: serving Fusion's API at ")
        assert banner.startswith("fusion-emulator: serving Fusion's API at http://127.0.0.1:")
        url = banner.rsplit(" ", 1)[1].strip()
        assert requests.post(f"{url}/spark/jobs/crawl", timeout=5).json()["state"] == "starting"
        assert output.until("POST ") == "POST /api/spark/jobs/crawl -> 200"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_fusion_emulator_command_rejects_a_bad_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 2\n")
    result = subprocess.run(
        [*EMULATOR, "--port", "0", "--scenario", str(scenario)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stderr) == (
        2,
        f"{scenario}:1:10: $.version: unsupported version 2: this fusion-run reads version 1\n",
    )


def test_fusion_emulator_start_up_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    def start(*args: str) -> tuple[int, str]:
        result = subprocess.run(
            [*EMULATOR, *args], capture_output=True, text=True, timeout=30, check=False
        )
        return result.returncode, result.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert start("--port", str(port)) == (
            2,
            f"fusion-emulator: --port {port}: cannot serve on 127.0.0.1:{port} (Address already "
            "in use): give another --port, or 0 for any free one\n",
        )
    assert start("--port", "70000") == (
        2,
        "fusion-emulator: --port 70000: not a port: give one from 1 to 65535, or 0\n",
    )
    missing = tmp_path / "missing.yaml"
    assert start("--port", "0", "--scenario", str(missing)) == (
        2,
        f"{missing}: cannot read the scenario: no such file\n",
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_fusion_emulator_stops_on_a_signal_even_started_with_sigint_ignored(
    signum: signal.Signals,
) -> None:
    """A shell script's background job (`fusion-emulator &`) starts with SIGINT ignored; the
    script's `kill -INT` must still stop it, as the tests' and CI's own stop do."""
    process = subprocess.Popen(
        [*EMULATOR, "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    assert process.stderr is not None
    try:
        Lines(process.stderr).until("fusion-emulator: serving Fusion's API at ")
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait(timeout=10)
