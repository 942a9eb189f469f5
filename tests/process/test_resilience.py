"""Resilience end to end, with fusion-run in processes of its own on the real clock: killed at any
moment, detached and resumed across processes, a file system that fills up, signals, the resume
command it prints, and a standalone emulator whose history lags."""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.process import Lines, fusion_run_process, standalone_emulator
from tests.helpers.reports import read_report


def test_the_report_is_valid_json_after_kill_9_at_any_moment(tmp_path: Path) -> None:
    """Kill fusion-run at random moments; each time the report on disk parses and validates,
    names the runs that were active, and records every start asked for before it was sent.
    A kill can leave a temporary file beside the report; the next fusion-run removes it."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n" + "".join(f"  {j}: {{runs: [{{duration: 0.4}}]}}\n" for j in "abcd")
    )
    (tmp_path / "plan.yaml").write_text(
        "version: 1\nsteps:\n  - a\n  - job: b\n    depends_on: []\n  - c\n  - d\n"
    )
    command = [sys.executable, "-m", "runner", "plan.yaml", "--emulate", "--scenario", "s.yaml"]
    command += ["--report", "r.json", "-q"]
    rng = random.Random(2026)
    seen: dict[str, int] = {}
    report = tmp_path / "r.json"
    for _ in range(16):
        report.unlink(missing_ok=True)
        process = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if not report.exists():
            seen["no report yet"] = seen.get("no report yet", 0) + 1
            continue
        data = read_report(report)
        seen[data["outcome"]] = seen.get(data["outcome"], 0) + 1
        for step in data["steps"]:
            for attempt in step["attempts"]:
                if attempt["outcome"] is None:  # open: its run, or the intent to start one
                    assert attempt["run_id"] or attempt["requested_at"], step
                    assert attempt["listed_before"] is not None, step
    assert seen.get("running", 0) >= 4  # most kills landed mid-run
    finished = subprocess.run(command, cwd=tmp_path, stderr=subprocess.DEVNULL, check=False)
    assert finished.returncode == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_detach_then_resume_across_two_processes(tmp_path: Path) -> None:
    """Detach leaves the run going in a standalone emulator; --resume follows it to its end."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n  long: {runs: [{duration: 4}]}\n  after: {runs: [{duration: 0.2}]}\n"
    )
    with standalone_emulator(tmp_path) as (url, requests):
        (tmp_path / "plan.yaml").write_text(
            f"version: 1\nfusion:\n  url: {url}\n  auth: none\nsteps: [long, after]\n"
        )
        first = subprocess.Popen(
            [sys.executable, "-m", "runner", "plan.yaml", "--detach"],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert first.stderr is not None
        output = Lines(first.stderr)
        try:
            output.until("started run")
            first.send_signal(signal.SIGINT)
            assert first.wait(timeout=30) == 130
        finally:
            first.kill()
            first.wait()
        assert output.rest()[-1] == (
            "fusion-run: detached; to follow the runs still going: "
            "fusion-run plan.yaml --resume fusion-run-report.json --detach"
        )
        detached = read_report(tmp_path / "fusion-run-report.json")
        assert (detached["outcome"], detached["detached"]) == ("interrupted", True)
        run_id = detached["steps"][0]["run_id"]

        second = fusion_run_process("plan.yaml", "--resume", "fusion-run-report.json", cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        resumed = read_report(tmp_path / "fusion-run-report.json")
        long = resumed["steps"][0]
        [attempt] = long["attempts"]  # the first process's attempt, followed to its end
        assert (long["outcome"], attempt["run_id"], attempt["adopted"]) == (
            "succeeded",
            run_id,
            False,
        )
        assert resumed["resumed_from"] == {
            "path": "fusion-run-report.json",
            "outcome": "interrupted",
        }
    log = requests.seen + requests.rest()
    starts = [line for line in log if line.startswith("POST /api/spark/jobs/long ->")]
    assert starts == ["POST /api/spark/jobs/long -> 200"]  # started once, by the first process


def _scenario(jobs: dict[str, str]) -> str:
    return "version: 1\njobs:\n" + "".join(f"  {job}: {script}\n" for job, script in jobs.items())


def test_a_64k_tmpfs_fills_up_mid_run(tmp_path: Path) -> None:
    """The same, on a real file system that fills up (where the machine lets a test mount one)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        (tmp_path / "s.yaml").write_text(
            _scenario({f"job{i:02d}": "{runs: [{duration: 1}]}" for i in range(60)})
        )
        (tmp_path / "plan.yaml").write_text(
            "version: 1\nmax_parallel: 60\nsteps:\n"
            + "".join(f"  - job: job{i:02d}\n    depends_on: []\n" for i in range(60))
        )
        done = fusion_run_process(
            "plan.yaml",
            "--emulate",
            "--scenario",
            "s.yaml",
            "--report",
            str(disk / "r.json"),
            "-q",
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 3, done.stderr
        assert done.stderr.count("No space left on device; the last good one stays") == 1
        assert done.stderr.splitlines()[-1].endswith("its final state is printed above")
        on_disk = read_report(disk / "r.json")
        for step in on_disk["steps"]:  # every run started is named on disk
            assert all(a["run_id"] or a["requested_at"] for a in step["attempts"]), step
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _started(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], Lines]:
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", *args], cwd=cwd, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    output = Lines(process.stderr)
    output.until("started run")
    return process, output


def test_sigterm_during_a_hanging_status_read_cancels_at_once(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        _scenario(
            {"long": "{runs: [{duration: 3600}], faults: [{on: status, answer: hang, after: 2}]}"}
        )
    )
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [long]\n")
    process, output = _started(["plan.yaml", "--emulate", "--scenario", "s.yaml"], tmp_path)
    try:
        time.sleep(5)  # the third read, at about 4 s (auto: 2 s, then 4 s), hangs
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 130
        took = time.monotonic() - signalled
    finally:
        process.kill()
        process.wait()
    assert took < 5, f"{took:.1f}s to cancel and exit"  # was 45 s: the read's timeout
    data = read_report(tmp_path / "fusion-run-report.json")
    assert data["steps"][0]["outcome"] == "cancelled", output.rest()
    assert data["steps"][0]["attempts"][0]["state"] == "cancelled"


def test_a_second_signal_exits_130_within_two_seconds(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        _scenario({"long": "{runs: [{duration: 3600}], faults: [{on: cancel, answer: hang}]}"})
    )
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [long]\n")
    process, output = _started(["plan.yaml", "--emulate", "--scenario", "s.yaml"], tmp_path)
    try:
        process.send_signal(signal.SIGINT)
        output.until("cancelling run")
        time.sleep(0.5)  # the cancel is sent, and hangs
        signalled = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        took = time.monotonic() - signalled
    finally:
        process.kill()
        process.wait()
    assert took < 2, f"{took:.1f}s after the second signal"
    step = read_report(tmp_path / "fusion-run-report.json")["steps"][0]
    assert step["outcome"] == "running"  # never claimed cancelled: named for --resume
    assert step["reason"].endswith(
        "interrupted again before Fusion confirmed the cancel: "
        f"run {step['run_id']} may still be going"
    )


def test_a_burst_of_signals_still_exits_130_with_a_valid_report(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(_scenario({"long": "{runs: [{duration: 3600}]}"}))
    (tmp_path / "plan.yaml").write_text("version: 1\nsteps: [long, after]\n")
    for _ in range(3):
        process, _ = _started(["plan.yaml", "--emulate", "--scenario", "s.yaml"], tmp_path)
        try:
            for _ in range(50):
                os.kill(process.pid, signal.SIGTERM)
            assert process.wait(timeout=30) == 130
        finally:
            process.kill()
            process.wait()
        data = read_report(tmp_path / "fusion-run-report.json")
        assert data["outcome"] == "interrupted"


def test_the_printed_resume_command_works_when_pasted(tmp_path: Path) -> None:
    """Against a standalone fusion-emulator, which outlives the first fusion-run as Fusion does
    (an --emulate rehearsal's emulator goes with its process, and its runs with it)."""
    (tmp_path / "s.yaml").write_text(
        _scenario({"long": "{runs: [{duration: 3}]}", "after": "{runs: [{duration: 0.2}]}"})
    )
    with standalone_emulator(tmp_path) as (url, _):
        # A plan whose name starts with "-" is given after "--"; the resume names it ./-plan.yaml.
        (tmp_path / "-plan.yaml").write_text(
            f"version: 1\nfusion: {{url: '{url}', auth: none}}\n"
            "variables: {FIRST: null}\nsteps:\n  - job: ${FIRST}\n  - after\n"
        )
        args = ["--var", "FIRST=long", "--report", "out dir/r.json", "--max-parallel", "2"]
        args += ["--detach", "--", "-plan.yaml"]
        process, output = _started(args, tmp_path)
        try:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 130
        finally:
            process.kill()
            process.wait()
        printed = output.rest()[-1].removeprefix(
            "fusion-run: detached; to follow the runs still going: "
        )
        assert shlex.split(printed) == [
            "fusion-run", "./-plan.yaml", "--resume", "out dir/r.json",
            "--report", "out dir/r.json",
            "--var", "FIRST=long", "--max-parallel", "2", "--detach",
        ]  # fmt: skip
        shell = printed.replace("fusion-run", f"{shlex.quote(sys.executable)} -m runner", 1)
        pasted = subprocess.run(
            ["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
    assert pasted.returncode == 0, pasted.stderr
    assert read_report(tmp_path / "out dir" / "r.json")["outcome"] == "succeeded"


def test_no_false_success_on_a_fusion_whose_history_has_no_run_ids_and_lags(
    tmp_path: Path,
) -> None:
    """Against the standalone fusion-emulator, as the Jobs API reference's history shows runs (no
    runId) and late: the job's earlier run succeeded, its new run fails. fusion-run must say
    failed (exit 1), having started it once."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\nfusion: {history_run_ids: false, history_lag: 3}\njobs:\n"
        "  datasource:movies-db:\n    runs:\n"
        "      - {duration: 1, state: success}\n"
        "      - {duration: 2, state: failed, error: connector crashed}\n"
    )
    with standalone_emulator(tmp_path) as (url, requests):
        import requests as http  # noqa: PLC0415

        by_hand = http.post(
            f"{url}/api/jobs/datasource:movies-db/actions", json={"action": "start"}, timeout=5
        )
        assert by_hand.json()["accepted"] is True
        time.sleep(1.5)  # the earlier run succeeds
        (tmp_path / "plan.yaml").write_text(
            f"version: 1\nfusion: {{url: '{url}', auth: none}}\n"
            "steps:\n  - job: datasource:movies-db\n    name: movies\n"
        )
        done = fusion_run_process("plan.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    [movies] = read_report(tmp_path / "fusion-run-report.json")["steps"]
    assert movies["outcome"] == "failed"
    assert movies["reason"].endswith("ended failed: connector crashed")
    log = requests.seen + requests.rest()
    starts = [
        line for line in log if line.startswith("POST /api/jobs/datasource:movies-db/actions")
    ]
    assert len(starts) == 2  # the earlier run, by hand, and fusion-run's one start
