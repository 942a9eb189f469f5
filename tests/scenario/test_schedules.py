"""Fusion's own schedules, read before the first start: warned of, failing the plan with
fusion.schedules: fail, not read with off, and a read that fails is a warning."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion, Reply, error_body
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobSchedule,
    JobScript,
    RunScript,
    Scenario,
)
from runner.engine import Engine, ScheduledByFusion
from runner.events import FusionMayStart, SchedulesUnreadable
from runner.outcomes import PlanOutcome
from runner.plan import Gate, Schedules
from runner.plan.loader import load_plan
from runner.redact import Redactor
from runner.result import PlanResult
from tests.helpers.cli import invoke
from tests.helpers.engine import Recorder, plan_of, run
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.paths import WritePlan
from tests.helpers.reports import valid

CRON = {"type": "cron", "enabled": True, "expression": "0 0 6 ? * MON-FRI", "type ": "cron"}
CHAIN = {"triggerType": "ON_SUCCESS", "otherJob": "spark:crawl", "enabled": True}
STEPS = [step("crawl", timeout=3600), step("train", "crawl", timeout=3600)]
CRON_WORDS = (
    "Fusion's own scheduler may start job train during the plan: its cron trigger "
    "(0 0 6 ? * MON-FRI) starts it next at 2026-01-01T00:30:00.000Z, inside the plan's expected "
    "window; disable that trigger in Fusion, since the plan starts the job itself"
)
CHAIN_WORDS = (
    "Fusion's own scheduler may start job train during the plan: its chain trigger (after job "
    "spark:crawl succeeds) follows another job of the plan; disable that trigger in Fusion, "
    "since the plan orders its jobs itself"
)


def scheduled(*triggers: dict[str, Any], next_start: float | None = 1800, **more: Any) -> Scenario:
    schedule = JobSchedule(triggers=triggers, next_start=next_start, **more)
    return Scenario(jobs={"train": JobScript(schedule=schedule)})


def engine_of(
    scenario: Scenario, schedules: Schedules, **settings: Any
) -> tuple[Engine, EmulatedFusion, Recorder]:
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=["crawl", "train"])
    recorder = Recorder()
    plan = plan_of(STEPS, fusion={"schedules": schedules}, **settings)
    engine = Engine(
        plan, ModelFusion(model), clock, url="http://emulated", rng=random.Random(1),
        reporter=recorder,
    )  # fmt: skip
    return engine, model, recorder


def test_a_trigger_that_may_start_a_plan_job_is_a_warning_and_in_the_report() -> None:
    result = run(STEPS, scheduled(CRON, CHAIN))
    assert result.outcome is PlanOutcome.SUCCEEDED  # a warning changes nothing
    found = [event for event in result.events if isinstance(event, FusionMayStart)]
    assert [(event.step, event.at) for event in found] == [("train", 0.0), ("train", 0.0)]
    report = result.reports[-1]
    assert report["warnings"] == [
        {"step": "train", "text": CRON_WORDS},
        {"step": "train", "text": CHAIN_WORDS},
    ]
    assert report["schedules"] == [
        {
            "step": "train",
            "job": "train",
            "trigger": "cron",
            "says": "0 0 6 ? * MON-FRI",
            "next_start": "2026-01-01T00:30:00.000Z",
            "finding": CRON_WORDS,
        },
        {
            "step": "train",
            "job": "train",
            "trigger": "chain",
            "says": "after job spark:crawl succeeds",
            "next_start": None,
            "finding": CHAIN_WORDS,
        },
    ]
    assert PlanResult.from_dict(valid(report)).to_dict() == report


def test_a_schedule_that_starts_nothing_during_the_plan_is_silent() -> None:
    for scenario in (
        scheduled(CRON, next_start=7201),  # two steps of an hour: after the window
        scheduled(CRON, CHAIN, enabled=False),
        scheduled({**CRON, "enabled": False}, {**CHAIN, "enabled": "false"}),
        Scenario(),  # no trigger
    ):
        result = run(STEPS, scenario)
        assert result.reports[-1]["schedules"] == []
        assert result.reports[-1]["warnings"] == []


def test_the_plan_s_timeout_is_its_window() -> None:
    assert run(STEPS, scheduled(CRON, next_start=7200)).reports[-1]["warnings"] == [
        {"step": "train", "text": CRON_WORDS.replace("00:30", "02:00")}
    ]
    assert run(STEPS, scheduled(CRON, next_start=7200), timeout=3600).reports[-1]["warnings"] == []


def test_fail_stops_the_plan_before_anything_starts() -> None:
    engine, model, _ = engine_of(scheduled(CRON), Schedules.FAIL)
    with pytest.raises(ScheduledByFusion) as raised:
        engine.preflight()
    assert [found.says for found in raised.value.found] == ["0 0 6 ? * MON-FRI"]
    assert [found.says for found in engine.result.schedules] == ["0 0 6 ? * MON-FRI"]
    assert engine.result.warnings == []  # an error, not a warning
    assert model.starts("crawl") == model.starts("train") == 0
    assert {target for target, _ in model.requests} == {
        FaultTarget.CONFIGURATION,
        FaultTarget.SCHEDULE,
        FaultTarget.STATUS,  # the view of train, for its next start
    }


def test_off_reads_no_schedule() -> None:
    engine, model, _ = engine_of(scheduled(CRON), Schedules.OFF)
    engine.preflight()
    assert engine.execute() is PlanOutcome.SUCCEEDED
    assert FaultTarget.SCHEDULE not in {target for target, _ in model.requests}
    assert engine.result.schedules == []
    assert engine.result.warnings == []


def test_a_schedule_refused_is_one_warning_and_the_plan_goes_on() -> None:
    engine, model, recorder = engine_of(scheduled(CRON), Schedules.FAIL)

    def refused(job_id: str) -> Any:
        model.requests.append((FaultTarget.SCHEDULE, job_id))
        raise Reply(403, error_body(403, "Forbidden"))

    model.schedule = refused  # type: ignore[method-assign]
    engine.preflight()
    assert engine.execute() is PlanOutcome.SUCCEEDED
    assert [event for event in recorder.events if isinstance(event, SchedulesUnreadable)] == [
        SchedulesUnreadable(
            job="crawl",
            error="GET http://emulated/api/jobs/spark:crawl/schedule: 403 Forbidden: Forbidden",
        )
    ]
    assert model.requests.count((FaultTarget.SCHEDULE, "train")) == 0  # one warning, no more
    assert engine.result.schedules == []


def test_a_schedule_out_of_reach_after_the_retry_budget_is_a_warning() -> None:
    fault = Fault(on=FaultTarget.SCHEDULE, answer=503, times=10_000)
    scenario = Scenario(jobs={"crawl": JobScript(faults=(fault,))})
    result = run(STEPS, scenario, fusion={"retry_budget": 60})
    assert result.outcome is PlanOutcome.SUCCEEDED
    assert result.reports[-1]["warnings"][-1]["text"] == (
        "Fusion's schedule of job crawl cannot be read (lost contact with Fusion for 1m (last "
        "error: GET http://emulated/api/jobs/spark:crawl/schedule: 503 Service Unavailable: "
        "injected fault: 503 on schedule)), so fusion-run cannot tell whether Fusion may start "
        "the plan's jobs itself; set fusion.schedules: off to skip this check"
    )


# --- from the command line ------------------------------------------------------------------------

SCENARIO = """version: 1
jobs:
  train:
    schedule:
      next_start: 30m
      triggers:
        - {type: cron, enabled: true, expression: "0 0 6 ? * MON-FRI"}
        - {triggerType: ON_SUCCESS, otherJob: "spark:crawl"}
"""


def _port(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


def test_check_prints_each_trigger_with_the_steps(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(SCENARIO)
    plan = write_plan("version: 1\nname: nightly\ndefaults: {timeout: 1h}\nsteps: [crawl, train]\n")
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml")
    assert result.exit_code == 0
    assert _port(result.stderr).splitlines() == [
        "crawl (crawl): exists; not running",
        "train (train): exists; not running",
        f"train (train): {CRON_WORDS}",
        f"train (train): {CHAIN_WORDS}",
        "requests to Fusion: at most 10 a second, all steps together "
        "(fusion.max_requests_per_second)",
        "fusion-run: plan nightly is ready: its 2 job(s) exist in the emulator at "
        "http://127.0.0.1:PORT, 0 running now; nothing was started",
    ]
    quiet = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml", "-q")
    assert _port(quiet.stderr).splitlines() == [
        line for line in _port(result.stderr).splitlines()[2:] if not line.startswith("requests")
    ]


def test_check_with_fail_is_not_ready(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(SCENARIO)
    plan = write_plan(
        "version: 1\nname: nightly\nfusion: {schedules: fail}\nsteps: [crawl, train]\n"
    )
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml", "-q")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"train (train): {CRON_WORDS}",
        f"train (train): {CHAIN_WORDS}",
        "fusion-run: plan nightly is not ready: 2 trigger(s) of Fusion's own scheduler may start "
        "the plan's jobs during the plan (fusion.schedules: fail); nothing was started",
    ]


def test_check_with_off_says_nothing_of_schedules(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(SCENARIO)
    plan = write_plan(
        "version: 1\nname: nightly\nfusion: {schedules: off}\nsteps: [crawl, train]\n"
    )
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml")
    assert result.exit_code == 0
    assert "scheduler" not in result.stderr


def test_a_run_with_fail_exits_2_at_the_step_with_nothing_started(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(SCENARIO)
    plan = write_plan(
        "version: 1\nname: nightly\nfusion:\n  schedules: fail\nsteps:\n  - crawl\n  - train\n"
    )
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "summary.md"}
    args = ("--emulate", "--scenario", "s.yaml", "-q", "--junit", "fusion-run.xml")
    result = invoke(plan, *args, env=github)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-2:] == [  # at the step, in the order of their words
        f"{plan}:7:5: $.steps[1]: {CHAIN_WORDS} (fusion.schedules: fail stops the plan before "
        "anything starts)",
        f"{plan}:7:5: $.steps[1]: {CRON_WORDS} (fusion.schedules: fail stops the plan before "
        "anything starts)",
    ]
    report = valid(json.loads(Path("fusion-run-report.json").read_text(encoding="utf-8")))
    assert report["error"] == (
        "2 trigger(s) of Fusion's own scheduler may start the plan's jobs during the plan "
        "(fusion.schedules: fail)"
    )
    assert report["error_fact"] == {"kind": "triggers_found", "count": 2}
    assert [s["attempts"] for s in report["steps"]] == [[], []]
    assert [s["finding"] for s in report["schedules"]] == [CRON_WORDS, CHAIN_WORDS]
    # every output says exit 2, as the process does
    junit = ET.fromstring(Path("fusion-run.xml").read_text(encoding="utf-8"))
    assert junit.find(".//property[@name='exit_code']").get("value") == "2"  # type: ignore[union-attr]
    summary = Path("summary.md").read_text(encoding="utf-8")
    assert "> exit 2: 2 trigger(s) of Fusion's own scheduler" in summary


def test_check_says_each_trigger_on_one_line_whatever_fusion_wrote(write_plan: WritePlan) -> None:
    """A trigger's words are Fusion's: a newline in them never starts a line of its own, where
    a CI would read `::error::` as a command."""
    Path("s.yaml").write_text(
        SCENARIO.replace('"0 0 6 ? * MON-FRI"', '"0 0 6 ? * MON-FRI\\n::error::injected"')
    )
    plan = write_plan("version: 1\nname: nightly\ndefaults: {timeout: 1h}\nsteps: [crawl, train]\n")
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml", "-q")
    assert result.exit_code == 0
    assert not any(line.startswith("::") for line in result.stderr.splitlines())
    assert "MON-FRI \u21b5 ::error::injected" in result.stderr


def test_a_rehearsal_warns_and_runs(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(SCENARIO)
    plan = write_plan("version: 1\nname: nightly\nsteps: [crawl, train]\n")
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "-q")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:2] == [
        f"   0:00 train: warning: {CRON_WORDS}",
        f"   0:00 train: warning: {CHAIN_WORDS}",
    ]


def test_the_scenario_s_runs_are_unchanged_by_a_schedule() -> None:
    script = JobScript(runs=(RunScript(duration=5),), schedule=JobSchedule(triggers=(CRON,)))
    assert run(STEPS, Scenario(jobs={"train": script})).outcome is PlanOutcome.SUCCEEDED


@pytest.mark.parametrize(
    ("setting", "read"),
    [
        ("", Schedules.WARN),
        ("  schedules: fail\n", Schedules.FAIL),
        ("  schedules: off\n", Schedules.OFF),
    ],
)
def test_the_setting(write_plan: WritePlan, setting: str, read: Schedules) -> None:
    plan = load_plan(write_plan(f"version: 1\nfusion:\n  api: /api\n{setting}steps: [crawl]\n"))
    assert plan.fusion.schedules is read


# --- the client -----------------------------------------------------------------------------------


def test_the_client_reads_the_view_only_for_a_timed_trigger_and_masks_fusion_s_words() -> None:
    secret = "Pa55-w0rd-for-tests"
    jobs = {
        "train": JobScript(schedule=JobSchedule(triggers=(CRON,), next_start=60)),
        "datasource:web": JobScript(
            schedule=JobSchedule(triggers=({**CHAIN, "otherJob": f"spark:{secret}"},))
        ),
    }
    model = EmulatedFusion(Scenario(jobs=jobs), clock=FakeClock(), epoch=EPOCH)
    fusion = ModelFusion(model, redact=Redactor([secret]))
    timed = fusion.schedule("train")
    assert timed is not None
    assert timed.next_start == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    chained = fusion.schedule("datasource:web")
    assert chained is not None
    assert [t.other_job for t in chained.triggers] == ["spark:***"]
    assert model.requests == [
        (FaultTarget.SCHEDULE, "train"),
        (FaultTarget.STATUS, "train"),  # the view, for the next start
        (FaultTarget.SCHEDULE, "datasource:web"),  # a chain has no next start: no view
    ]
    assert fusion.schedule("unknown") is None  # 404: no schedule


def test_a_require_step_s_job_is_fusion_s_to_start_and_its_schedule_is_not_read() -> None:
    """A job the plan only checks (`require:`) is meant to be on Fusion's schedule: no warning,
    no read. A chain on a plan job that follows it is still found: it starts a job the plan does."""
    checked = replace(step("train", "crawl"), gate=Gate(succeeded_within=3600))
    scenario = Scenario(
        jobs={
            "train": JobScript(schedule=JobSchedule(triggers=(CRON,), next_start=1800)),
            "crawl": JobScript(
                schedule=JobSchedule(triggers=({**CHAIN, "otherJob": "spark:train"},))
            ),
        }
    )
    result = run([step("crawl"), checked], scenario)
    assert (FaultTarget.SCHEDULE, "train") not in result.model.requests
    assert [(w["step"], w["text"].split(":")[1]) for w in result.reports[-1]["warnings"]] == [
        ("crawl", " its chain trigger (after job spark")
    ]
