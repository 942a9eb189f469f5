"""Resilience end to end, live against the emulator: faults, secrets, kills, detach and resume."""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.client import FusionClient
from runner.emulator.model import EmulatedFusion
from runner.emulator.server import Emulator
from runner.engine import Engine
from runner.loader import load_plan, load_scenario
from runner.report import Journal
from runner.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from tests.helpers.cli import invoke
from tests.helpers.fakes import CREDENTIALS, EPOCH, FakeClock
from tests.helpers.paths import EXAMPLES, WritePlan
from tests.helpers.process import Lines
from tests.helpers.recording import full_access
from tests.helpers.reports import read_report, valid


def fusion_run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = invoke(*args, env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    scenario = Scenario(
        jobs={
            "crawl": JobScript(runs=(RunScript(duration=0.3),)),
            "train": JobScript(
                runs=(RunScript(duration=0.3, state="error", error="out of memory"),)
            ),
        }
    )
    with Emulator(EmulatedFusion(scenario), access=full_access()) as running:
        yield running


def secret_forms() -> list[str]:
    pair = f"{CREDENTIALS['FUSION_USER']}:{CREDENTIALS['FUSION_PASSWORD']}".encode()
    forms = [value for name, value in CREDENTIALS.items() if name != "FUSION_USER"]
    forms += [
        base64.b64encode(pair).decode(),
        base64.b64encode(CREDENTIALS["FUSION_PASSWORD"].encode()).decode(),
    ]
    return forms


@pytest.mark.slow
@pytest.mark.parametrize("auth", ["basic", "session", "api-key", "bearer"])
@pytest.mark.parametrize("steps", ["[crawl]", "[crawl, train]"], ids=["succeeds", "fails"])
def test_no_credential_is_ever_shown_or_written(
    emulator: Emulator, write_plan: WritePlan, auth: str, steps: str
) -> None:
    plan = write_plan(f"version: 1\nfusion:\n  auth: {auth}\nsteps: {steps}\n")
    code, out, err = fusion_run(plan, "--url", emulator.url, "-v", env=CREDENTIALS)
    assert code == (0 if steps == "[crawl]" else 1), err
    assert "GET " in err  # verbose: every request is shown
    written = Path("fusion-run-report.json").read_text()
    for text in (out, err, written):
        for secret in secret_forms():
            assert secret not in text


@pytest.mark.slow
def test_refused_credentials_mid_plan_exit_3_without_showing_them(
    emulator: Emulator, write_plan: WritePlan
) -> None:
    wrong = {**CREDENTIALS, "FUSION_PASSWORD": "Wr0ng-but-also-secret"}
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    code, _, err = fusion_run(plan, "--url", emulator.url, "-v", env=wrong)
    assert code == 3
    assert err.splitlines()[-1] == (
        f"fusion-run: GET {emulator.url}/api/spark/configurations/crawl: "
        "401 Unauthorized: unauthorized"
    )
    for text in (err, Path("fusion-run-report.json").read_text()):
        assert "Wr0ng-but-also-secret" not in text
        assert base64.b64encode(b"fusion-admin:Wr0ng-but-also-secret").decode() not in text


STATUS_FAULTS: list[int | str] = [429, 502, 503, 504, "reset"]


def run_live(
    model: EmulatedFusion, clock: FakeClock, plan_text: str, tmp_path: Path
) -> dict[str, Any]:
    """Engine and real HTTP client against the live emulator, both on one fake clock."""
    path = tmp_path / "plan.yaml"
    path.write_text(plan_text)
    plan = load_plan(str(path))
    reports: list[dict[str, Any]] = []
    with Emulator(model) as running:
        fusion = FusionClient(url=running.url, api=plan.fusion.api)
        engine = Engine(
            plan,
            fusion,
            clock,
            url=running.url,
            rng=random.Random(5),
            reporter=Journal(lambda report: reports.append(valid(report))),
        )
        engine.preflight()
        engine.execute()
    return reports[-1]


def test_every_status_fault_still_succeeds_with_one_start_per_attempt(tmp_path: Path) -> None:
    """Every fault the emulator injects on status reads, on each job, in one plan."""
    faults = tuple(
        Fault(
            on=FaultTarget.STATUS,
            answer=answer,
            after=2 * index,
            retry_after=1 if answer in (429, 503) else None,
        )
        for index, answer in enumerate(STATUS_FAULTS)
    )
    jobs = {
        job: JobScript(runs=(RunScript(duration=20),), faults=faults, stale_reads=1) for job in "ab"
    }
    clock = FakeClock()
    model = EmulatedFusion(Scenario(jobs=jobs), clock=clock, epoch=EPOCH)
    report = run_live(model, clock, "version: 1\nsteps: [a, b]\n", tmp_path)
    assert report["outcome"] == "succeeded"
    for step in report["steps"]:
        assert model.starts(step["job"]) == len(step["attempts"]) == 1


def test_the_flaky_gateway_example_succeeds(tmp_path: Path) -> None:
    scenario = load_scenario(str(EXAMPLES / "scenarios" / "flaky-gateway.yaml"))
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    text = (EXAMPLES / "quickstart.yaml").read_text().replace("auth: basic", "auth: none")
    report = run_live(model, clock, text, tmp_path)
    assert report["outcome"] == "succeeded"
    assert {s["job"]: model.starts(s["job"]) for s in report["steps"]} == {
        "my-python-job": 1,
        # its start's answer was lost: followed, not repeated
        "products_click_signals_aggregation": 1,
        "products_query_rewrite": 1,
    }


@pytest.mark.slow
def test_the_report_is_valid_json_after_kill_9_at_any_moment(tmp_path: Path) -> None:
    """Kill fusion-run at random moments; each time the report on disk parses and validates, and
    names the runs that were active."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n" + "".join(f"  {j}: {{runs: [{{duration: 0.4}}]}}\n" for j in "abcd")
    )
    (tmp_path / "plan.yaml").write_text(
        "version: 1\nsteps:\n  - a\n  - job: b\n    depends_on: []\n  - c\n  - d\n"
    )
    rng = random.Random(2026)
    seen: dict[str, int] = {}
    for _ in range(16):
        report = tmp_path / "r.json"
        report.unlink(missing_ok=True)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner",
                "plan.yaml",
                "--emulate",
                "--scenario",
                "s.yaml",
                "--report",
                "r.json",
                "-q",
            ],
            cwd=tmp_path,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if not report.exists():
            seen["no report yet"] = seen.get("no report yet", 0) + 1
            continue
        data = read_report(report)
        seen[data["outcome"]] = seen.get(data["outcome"], 0) + 1
        for step in data["steps"]:
            if step["outcome"] == "running" and step["attempts"]:
                assert step["run_id"]
        assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert seen.get("running", 0) >= 4  # most kills landed mid-run


@pytest.mark.slow
def test_detach_then_resume_across_two_processes(tmp_path: Path) -> None:
    """Detach leaves the run going in a standalone emulator; --resume follows it to its end."""
    (tmp_path / "s.yaml").write_text(
        "version: 1\njobs:\n  long: {runs: [{duration: 4}]}\n  after: {runs: [{duration: 0.2}]}\n"
    )
    emulator = subprocess.Popen(
        [sys.executable, "-m", "runner.emulator", "--port", "0", "--scenario", "s.yaml"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("FUSION_")},
    )
    assert emulator.stderr is not None
    requests = Lines(emulator.stderr)
    try:
        banner = requests.until("serving Fusion's API at ")
        url = banner.rsplit(" ", 1)[1].strip().removesuffix("/api")
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
        output.until("started run")
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=30) == 130
        assert output.rest()[-1] == (
            "fusion-run: detached; to follow the runs still going: "
            "fusion-run plan.yaml --resume fusion-run-report.json"
        )
        detached = read_report(tmp_path / "fusion-run-report.json")
        assert (detached["outcome"], detached["detached"]) == ("interrupted", True)
        run_id = detached["steps"][0]["run_id"]

        second = subprocess.run(
            [sys.executable, "-m", "runner", "plan.yaml", "--resume", "fusion-run-report.json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        resumed = read_report(tmp_path / "fusion-run-report.json")
        long = resumed["steps"][0]
        assert (long["outcome"], long["run_id"], long["attempts"][0]["adopted"]) == (
            "succeeded",
            run_id,
            True,
        )
        assert resumed["resumed_from"] == {
            "path": "fusion-run-report.json",
            "outcome": "interrupted",
        }
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    log = requests.seen + requests.rest()
    starts = [line for line in log if line.startswith("POST /api/spark/jobs/long ->")]
    assert starts == ["POST /api/spark/jobs/long -> 200"]  # started once, by the first process
