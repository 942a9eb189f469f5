"""`--check`: the plan against Fusion, with nothing started and no report written."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.commands.check import plan_line, step_line
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript, Scenario
from runner.emulator.server import Access, Emulator
from runner.engine.preflight import Readiness, survey
from runner.events import Event
from runner.fusion import ErrorKind, FusionError
from runner.fusion.status import RunStatus
from runner.schemas import load_schema
from tests.helpers.cli import invoke
from tests.helpers.engine import plan_of, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.paths import EXAMPLES, WritePlan

WHERE = "Fusion at http://f/api"


def surveyed(
    fusion: Any, steps: list[Any], clock: FakeClock
) -> tuple[list[Readiness], list[Event]]:
    said: list[Event] = []
    found = survey(
        plan_of(steps),
        fusion,
        clock,
        rng=random.Random(1),
        interrupts=lambda: 0,
        emit=said.append,
        warn=said.append,
    )
    return found, said


def test_each_step_says_whether_its_job_exists_and_what_on_running_would_do() -> None:
    clock = FakeClock()
    long = runs(RunScript(duration=600))
    scenario = Scenario(jobs={"crawl": long, "train": long, "datasource:web": long})
    model = EmulatedFusion(
        scenario, clock=clock, epoch=EPOCH, extra_jobs=["crawl", "train", "datasource:web"]
    )
    fusion = ModelFusion(model)
    crawl = fusion.start("crawl").run_id
    fusion.start("datasource:web")  # a Jobs API start names no run: its start time will
    clock.advance(5)
    steps = [
        step("crawl"),
        step("index", job="crawl", on_running="adopt"),
        step("web", job="datasource:web", on_running="fail", states=("success",)),
        step("train"),
        step("trian", "train"),
    ]
    model.jobs.pop("trian", None)  # the job no one configured
    found, said = surveyed(fusion, steps, clock)
    assert [step_line(readiness) for readiness in found] == [
        f"crawl (crawl): exists; running now (run {crawl}): on_running wait would wait for it "
        "to end",
        f"index (crawl): exists; running now (run {crawl}): on_running adopt would adopt it as "
        "the step's run",
        "web (datasource:web): exists; running now (run started 2026-01-01T00:00:00.000Z): "
        "on_running fail would fail the step",
        "train (train): exists; not running",
        "trian (trian): no configuration in Fusion",
    ]
    assert plan_line("nightly", found, WHERE) == (
        "plan nightly is not ready: 1 of 4 job(s) have no configuration in Fusion at "
        "http://f/api; nothing was started"
    )
    assert said == []
    assert (model.starts("crawl"), model.starts("train")) == (1, 0)  # the survey started none
    assert plan_line("nightly", found[:4], WHERE) == (
        "plan nightly is ready: its 3 job(s) exist in Fusion at http://f/api, 2 running now; "
        "nothing was started"
    )


def test_faults_are_ridden_out_and_unreadable_configurations_are_a_warning() -> None:
    class Forbidden(ModelFusion):
        failures = 2

        def configuration(self, job: str) -> dict[str, Any] | None:
            if self.failures:
                self.failures -= 1
                raise FusionError(method="GET", url=job, kind=ErrorKind.TRANSIENT, what="503")
            raise FusionError(
                method="GET", url=job, kind=ErrorKind.CREDENTIALS, status=403, what="403"
            )

    clock = FakeClock()
    model = EmulatedFusion(clock=clock, epoch=EPOCH, extra_jobs=["crawl"])
    found, said = surveyed(Forbidden(model), [step("crawl")], clock)
    assert [type(event).__name__ for event in said] == ["ContactLost", "ConfigurationsUnreadable"]
    assert clock.now > 0  # it waited between tries
    assert step_line(found[0]) == (
        "crawl (crawl): not known to exist (configurations unreadable); not running"
    )
    assert plan_line("p", found, WHERE) == (
        "plan p may be ready: Fusion at http://f/api would not show the configurations of its "
        "1 job(s); 0 running now; nothing was started"
    )


def test_a_run_without_an_id_is_named_by_its_start_or_not_at_all() -> None:
    readiness = Readiness(
        index=0,
        step=step("a"),
        exists=True,
        active=RunStatus(job="a", run_id=None, state="running"),
    )
    assert step_line(readiness) == (
        "a (a): exists; running now: on_running wait would wait for it to end"
    )


# --- from the command line ------------------------------------------------------------------------


def _port(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


def test_check_on_the_emulator_is_ready_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  products_recs_als:\n"
        "    faults: [{on: configuration, answer: 503, retry_after: 0}]\n"
    )
    plan = str(EXAMPLES / "nightly-recommendations.yaml")
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml")
    assert (result.exit_code, result.stdout) == (0, "")
    assert _port(result.stderr).splitlines() == [
        "fusion-run: lost contact with Fusion (GET http://127.0.0.1:PORT/api/apps/ecommerce/spark/"
        "configurations/products_recs_als: 503 Service Unavailable: injected fault: 503 on "
        "configuration); trying again",
        "aggregate-clicks (products_click_signals_aggregation): exists; not running",
        "aggregate-carts (products_cart_signals_aggregation): exists; not running",
        "train (products_recs_als): exists; not running",
        "evaluate (products_recs_ranking_metrics): exists; not running",
        "cleanup (products_recs_cleanup): exists; not running",
        "requests to Fusion: at most 10 a second, all steps together "
        "(fusion.max_requests_per_second)",
        "fusion-run: plan nightly-recommendations is ready: its 5 job(s) exist in the emulator "
        "at http://127.0.0.1:PORT, 0 running now; nothing was started",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # no report


def test_check_with_a_job_missing_exits_2_and_quiet_says_only_the_last_line(
    write_plan: WritePlan,
) -> None:
    Path("s.yaml").write_text("version: 1\nmissing: [train]\n")
    plan = write_plan("version: 1\nname: nightly\nsteps: [crawl, train]\n")
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml")
    assert result.exit_code == 2
    assert _port(result.stderr).splitlines() == [
        "crawl (crawl): exists; not running",
        "train (train): no configuration in Fusion",
        "requests to Fusion: at most 10 a second, all steps together "
        "(fusion.max_requests_per_second)",
        "fusion-run: plan nightly is not ready: 1 of 2 job(s) have no configuration in the "
        "emulator at http://127.0.0.1:PORT; nothing was started",
    ]
    quiet = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml", "-q")
    assert quiet.exit_code == 2
    assert _port(quiet.stderr) == _port(result.stderr).splitlines(keepends=True)[-1]
    assert not Path("fusion-run-report.json").exists()


def test_check_with_credentials_refused_exits_3(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_USER", "admin")
    monkeypatch.setenv("FUSION_PASSWORD", "wrong")
    plan = write_plan("version: 1\nfusion:\n  auth: basic\nsteps: [crawl]\n")
    model = EmulatedFusion(extra_jobs=["crawl"])
    with Emulator(model, access=Access(user="admin", password="right")) as emulator:
        result = invoke(plan, "--check", "--url", emulator.url)
    assert result.exit_code == 3
    assert _port(result.stderr) == (
        "fusion-run: GET http://127.0.0.1:PORT/api/spark/configurations/crawl: 401 Unauthorized: "
        "unauthorized; check FUSION_USER and FUSION_PASSWORD (fusion.auth basic)\n"
    )
    assert not Path("fusion-run-report.json").exists()


def test_check_with_fusion_out_of_reach_exits_3(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nfusion:\n  auth: none\n  first_contact: 1s\nsteps: [crawl]\n")
    result = invoke(plan, "--check", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == (
        "fusion-run: Fusion at http://127.0.0.1:9 did not answer for 1s (last error: GET "
        "http://127.0.0.1:9/api/spark/configurations/crawl: cannot connect (Connection refused)): "
        "check that Fusion is up there, and fusion.url, --url or FUSION_URL (fusion.first_contact "
        "sets how long to try)"
    )
    assert not Path("fusion-run-report.json").exists()


def test_check_as_json_with_a_selection(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text("version: 1\nmissing: [train]\n")
    plan = write_plan(
        "version: 1\nname: nightly\nsteps:\n  - job: crawl\n    tags: [crawl]\n"
        "  - job: train\n    on_running: adopt\n  - evaluate\n"
    )
    args = ("--check", "--emulate", "--scenario", "s.yaml", "--format", "json")
    result = invoke(plan, *args, "--select", "tag:crawl")
    assert (result.exit_code, result.stderr) == (0, "")
    document = json.loads(_port(result.stdout))
    schema = jsonschema.Draft202012Validator(load_schema("check.schema.json"))
    schema.validate(document)
    assert document == {
        "format": "fusion-run-check",
        "version": 1,
        "plan": {"name": "nightly", "file": plan, "sha256": document["plan"]["sha256"]},
        "url": "http://127.0.0.1:PORT",
        "ready": True,
        "steps": [
            {
                "name": "crawl",
                "job": "crawl",
                "selected": True,
                "exists": True,
                "running": None,
                "on_running": "wait",
                "text": "crawl (crawl): exists; not running",
            },
            {
                "name": "train",
                "job": "train",
                "selected": False,
                "exists": None,
                "running": None,
                "on_running": "adopt",
                "text": "train (train): not selected",
            },
            {
                "name": "evaluate",
                "job": "evaluate",
                "selected": False,
                "exists": None,
                "running": None,
                "on_running": "wait",
                "text": "evaluate (evaluate): not selected",
            },
        ],
        "schedules": [],
        "max_requests_per_second": 10,
        "text": "plan nightly is ready: its 1 selected job(s) exist in the emulator at "
        "http://127.0.0.1:PORT, 0 running now; nothing was started",
    }
    missing = invoke(plan, *args, "--from", "train")
    assert (missing.exit_code, missing.stderr) == (2, "")
    found = json.loads(_port(missing.stdout))
    schema.validate(found)
    assert (found["ready"], [s["exists"] for s in found["steps"]]) == (False, [None, False, True])
    assert found["text"] == (
        "plan nightly is not ready: 1 of 2 job(s) have no configuration in the emulator at "
        "http://127.0.0.1:PORT; nothing was started"
    )
