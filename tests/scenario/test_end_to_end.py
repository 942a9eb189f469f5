"""Plans run end to end through the real HTTP client, replayed from cassettes/test_end_to_end/.

Recorded against the emulator with one fake clock shared by the engine and the emulator, so a
replay makes exactly the recorded requests. Re-record: `pytest --record-mode=rewrite
tests/scenario/test_end_to_end.py`.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from runner.engine import Engine
from runner.fusion.client import FusionClient
from runner.plan import Auth
from runner.plan.loader import load_plan
from runner.report import Reporters
from runner.report.console import Console
from runner.report.journal import Journal, write_atomically
from tests.helpers.fakes import FakeClock
from tests.helpers.paths import WritePlan
from tests.helpers.recording import RECORDED_URL
from tests.helpers.reports import valid

Serve = Callable[..., AbstractContextManager[str]]


def run_plan(
    serve: Serve,
    env: dict[str, str],
    plan_path: str,
    scenario: Scenario,
    *,
    interrupts: Callable[[float], int] = lambda _: 0,
    auth: Auth = Auth.BASIC,
) -> tuple[dict[str, Any], list[str]]:
    """Run the plan; return its final report (read back from disk) and the console's lines, the
    emulator's URL in them as the cassettes hold it (it has a port of its own while recording)."""
    clock = FakeClock()
    plan = load_plan(plan_path)
    out = io.StringIO()
    console = Console(out, live=False, report="report.json")
    report_path = str(Path(plan_path).with_name("report.json"))
    written: list[int] = []

    def write(report: dict[str, Any]) -> None:
        write_atomically(report_path, valid(report))
        written.append(1)

    with serve(scenario, clock=clock, extra_jobs=[step.job for step in plan.steps]) as url:
        fusion = FusionClient(url=url, api=plan.fusion.api, auth=auth, environ=env)
        engine = Engine(
            plan,
            fusion,
            clock,
            url=url,
            rng=random.Random(1),
            reporter=Reporters(Journal(write), console),
            interrupts=lambda: interrupts(clock.now),
        )
        console.header(plan, url, emulated=False)
        engine.preflight()
        engine.execute()
        console.finish(engine.result)
    assert len(written) > 2
    lines = out.getvalue().replace(url, RECORDED_URL).splitlines()
    return json.loads(Path(report_path).read_text(encoding="utf-8")), lines


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {step["name"]: step["outcome"] for step in report["steps"]}


@pytest.mark.vcr
def test_a_sequence_that_succeeds(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    plan = write_plan("version: 1\nname: seq\nsteps:\n  - my-python-job\n  - crawl\n  - index\n")
    scenario = Scenario(jobs={"crawl": JobScript(runs=(RunScript(duration=12),))})
    report, lines = run_plan(emulator_for_recording, fusion_env, plan, scenario)
    assert report["outcome"] == "succeeded"
    assert outcomes(report) == dict.fromkeys(["my-python-job", "crawl", "index"], "succeeded")
    assert [a["duration"] for s in report["steps"] for a in s["attempts"]] == [2.0, 12.0, 2.0]
    assert lines[0] == f"fusion-run: plan seq: 3 step(s) against {RECORDED_URL}/api"
    assert lines[-1] == "fusion-run: plan seq succeeded in 20s: 3 succeeded. Report: report.json"


@pytest.mark.vcr
def test_a_failure_skips_its_dependents(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    plan = write_plan(
        "version: 1\nname: recs\nsteps:\n  - train\n  - evaluate\n  - publish\n"
        "  - job: cleanup\n    depends_on: [train, evaluate]\n    run_if: all_done\n"
    )
    error = "Py4JJavaError: java.lang.OutOfMemoryError: Java heap space"
    scenario = Scenario(
        jobs={"train": JobScript(runs=(RunScript(duration=5, state="error", error=error),))}
    )
    report, lines = run_plan(emulator_for_recording, fusion_env, plan, scenario)
    assert report["outcome"] == "failed"
    assert outcomes(report) == {
        "train": "failed", "evaluate": "skipped", "publish": "skipped", "cleanup": "succeeded",
    }  # fmt: skip
    run_id = report["steps"][0]["run_id"]
    assert f"train failed: run {run_id} ended error: {error}" in lines
    assert "   0:05 evaluate: skipped: upstream 'train' failed" in lines
    assert "   0:05 publish: skipped: upstream 'evaluate' was skipped" in lines


@pytest.mark.vcr
def test_a_retry_that_succeeds(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    plan = write_plan("version: 1\nsteps:\n  - job: train\n    retries: 2\n    retry_delay: 30s\n")
    runs = (RunScript(duration=4, state="error", error="executor lost"), RunScript(duration=4))
    report, _ = run_plan(
        emulator_for_recording, fusion_env, plan, Scenario(jobs={"train": JobScript(runs=runs)})
    )
    [train] = report["steps"]
    assert train["outcome"] == "succeeded"
    assert [(a["number"], a["state"], a["error"]) for a in train["attempts"]] == [
        (1, "error", "executor lost"),
        (2, "finished", None),
    ]


@pytest.mark.vcr
def test_a_timeout_that_cancels(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    plan = write_plan("version: 1\nsteps:\n  - job: stuck\n    timeout: 45s\n  - after\n")
    scenario = Scenario(jobs={"stuck": JobScript(runs=(RunScript(duration=7200),))})
    report, lines = run_plan(emulator_for_recording, fusion_env, plan, scenario)
    stuck = report["steps"][0]
    assert (stuck["outcome"], stuck["attempts"][0]["state"]) == ("timed_out", "cancelled")
    assert stuck["reason"] == f"the step's timeout of 45s passed; run {stuck['run_id']} cancelled"
    assert any(
        line.endswith(f"stuck: cancelling run {stuck['run_id']}: the step's timeout of 45s passed")
        for line in lines
    )
    assert outcomes(report)["after"] == "skipped"


@pytest.mark.vcr
def test_an_interrupt_that_cancels(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    plan = write_plan("version: 1\nsteps:\n  - long\n  - later\n")
    scenario = Scenario(jobs={"long": JobScript(runs=(RunScript(duration=3600),))})
    report, lines = run_plan(
        emulator_for_recording, fusion_env, plan, scenario, interrupts=lambda now: int(now >= 20)
    )
    assert report["outcome"] == "interrupted"
    assert outcomes(report) == {"long": "cancelled", "later": "not_run"}
    assert report["steps"][0]["attempts"][0]["state"] == "cancelled"
    assert any(
        line.endswith("interrupted: cancelling active runs (interrupt again to stop waiting)")
        for line in lines
    )


@pytest.mark.vcr
def test_stale_status_after_a_start(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    # Both steps run the same job: right after the second start, Fusion still shows the first run.
    plan = write_plan(
        "version: 1\nsteps:\n  - job: agg\n    name: first\n  - job: agg\n    name: second\n"
    )
    runs = (RunScript(duration=3), RunScript(duration=20))
    report, _ = run_plan(
        emulator_for_recording,
        fusion_env,
        plan,
        Scenario(jobs={"agg": JobScript(runs=runs, stale_reads=2)}),
    )
    first, second = report["steps"]
    assert first["run_id"] != second["run_id"]
    assert (second["outcome"], second["attempts"][0]["duration"]) == ("succeeded", 20.0)


@pytest.mark.vcr
def test_an_expect_that_fails_shows_its_actual_value(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan
) -> None:
    plan = write_plan(
        "version: 1\nsteps:\n  - job: evaluate\n    success:\n      expect:\n"
        '        - "result.docsWritten > `1000`"\n'
    )
    scenario = Scenario(
        jobs={"evaluate": JobScript(runs=(RunScript(duration=6, result={"docsWritten": 12}),))}
    )
    report, lines = run_plan(emulator_for_recording, fusion_env, plan, scenario)
    [evaluate] = report["steps"]
    reason = "expect result.docsWritten > `1000` is false (result.docsWritten: 12)"
    assert evaluate["reason"] == reason
    assert f"evaluate failed: {reason}" in lines
    criterion = evaluate["attempts"][0]["criteria"][1]
    assert (criterion["expected"], criterion["actual"], criterion["passed"]) == (
        "result.docsWritten > `1000`",
        False,
        False,
    )


@pytest.mark.vcr
def test_transient_faults_on_status_reads_are_ridden_out(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan, vcr: Any
) -> None:
    faults = tuple(
        Fault(
            on=FaultTarget.STATUS,
            answer=answer,
            after=2 * index,
            retry_after=2 if answer in (429, 503) else None,
        )
        for index, answer in enumerate([429, 502, 503, 504])
    )
    jobs = {
        job: JobScript(runs=(RunScript(duration=15),), faults=faults) for job in ("crawl", "index")
    }
    plan = write_plan("version: 1\nsteps: [crawl, index]\n")
    report, lines = run_plan(emulator_for_recording, fusion_env, plan, Scenario(jobs=jobs))
    assert outcomes(report) == {"crawl": "succeeded", "index": "succeeded"}
    starts = [r.path for r in vcr.requests if r.method == "POST"]
    assert starts == ["/api/spark/jobs/crawl", "/api/spark/jobs/index"]  # one start each
    assert sum("lost contact with Fusion" in line for line in lines) == 8


@pytest.mark.vcr
def test_an_expired_session_logs_in_again_mid_plan(
    emulator_for_recording: Serve, fusion_env: dict[str, str], write_plan: WritePlan, vcr: Any
) -> None:
    plan = write_plan("version: 1\nfusion:\n  auth: session\nsteps: [crawl]\n")
    scenario = Scenario(
        jobs={"crawl": JobScript(runs=(RunScript(duration=30),))}, session_expires_after=4
    )
    report, _ = run_plan(emulator_for_recording, fusion_env, plan, scenario, auth=Auth.SESSION)
    assert outcomes(report) == {"crawl": "succeeded"}
    logins = [r for r in vcr.requests if r.path == "/api/session"]
    assert len(logins) >= 3
