"""`--push-metrics URL`: the plan's and steps' outcomes pushed to a Prometheus Pushgateway (a
stand-in on 127.0.0.1 that parses what it gets) when the plan ends, on the emulator and a fake
clock. tests/process/test_push_metrics.py has a gateway that never answers, and the interrupt."""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from runner.commands.options import Action, Options
from tests.helpers.cli import invoke
from tests.helpers.fakes import FakeClock
from tests.helpers.paths import WritePlan
from tests.helpers.pushgateway import pushgateway
from tests.helpers.reports import read_report

DAY = 86400.0
SCENARIO = (
    "version: 1\njobs:\n"
    "  crawl: {runs: [{duration: 2, result: {docsWritten: 120}}]}\n"
    "  train: {runs: [{duration: 3, state: %s, error: boom, result: {docsWritten: 0}}]}\n"
)
PLAN = "version: 1\nname: nightly\nsteps: [crawl, train]\n"
STEP_SUCCESS = "fusion_run_step_last_success_timestamp_seconds"


def run(plan: str, url: str, *, train: str = "finished", clock: FakeClock | None = None) -> int:
    Path("s.yaml").write_text(SCENARIO % train)
    result = invoke(plan, "--emulate", "--scenario", "s.yaml", "--push-metrics", url, clock=clock)
    return result.exit_code


def test_a_run_pushes_the_plan_and_each_step_grouped_by_plan(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    with pushgateway() as gateway:
        assert run(plan, gateway.url) == 0
    first, *steps = gateway.requests
    assert (first.method, first.path) == ("POST", "/metrics/job/fusion-run/plan/nightly")
    assert [(r.method, r.path) for r in steps] == [
        ("POST", "/metrics/job/fusion-run/plan/nightly/step/crawl"),
        ("POST", "/metrics/job/fusion-run/plan/nightly/step/train"),
    ]
    report = read_report()
    value = gateway.value
    assert value("fusion_run_plan_outcome", outcome="succeeded") == 1
    assert value("fusion_run_plan_outcome", outcome="failed") == 0
    assert value("fusion_run_plan_outcome", outcome="interrupted") == 0
    assert value("fusion_run_plan_duration_seconds") == report["duration"]
    plan_ended = datetime.fromisoformat(report["ended_at"]).timestamp()
    assert value("fusion_run_plan_last_success_timestamp_seconds") == plan_ended
    assert value("fusion_run_plan_steps", outcome="succeeded") == 2
    assert value("fusion_run_plan_steps", outcome="failed") == 0
    assert value("fusion_run_plan_warnings") == 1  # train did no work
    assert value("fusion_run_step_outcome", step="crawl", fusion_job="crawl", outcome="succeeded")
    assert value("fusion_run_step_outcome", step="crawl", outcome="failed") == 0
    assert value("fusion_run_step_duration_seconds", step="crawl") == 2
    assert value("fusion_run_step_attempts", step="train", fusion_job="train") == 1
    reads = sum(a["status_reads"] for a in report["steps"][1]["attempts"])
    assert value("fusion_run_step_status_reads", step="train") == reads > 0
    assert value("fusion_run_step_documents", step="crawl") == 120
    assert value("fusion_run_step_documents", step="train") == 0
    ended = datetime.fromisoformat(report["steps"][1]["ended_at"]).timestamp()
    assert value(STEP_SUCCESS, step="train", fusion_job="train") == ended
    assert list(steps[1].families) == [STEP_SUCCESS]  # a step's group holds only that
    assert steps[1].group == {"job": "fusion-run", "plan": "nightly", "step": "train"}
    assert STEP_SUCCESS not in first.families


def test_a_failed_night_keeps_the_last_success_times_of_what_failed(
    write_plan: WritePlan,
) -> None:
    plan = write_plan(PLAN)
    with pushgateway() as gateway:
        assert run(plan, gateway.url) == 0
        plan_success = gateway.value("fusion_run_plan_last_success_timestamp_seconds")
        train_success = gateway.value(STEP_SUCCESS, step="train")
        crawl_success = gateway.value(STEP_SUCCESS, step="crawl")
        pushes = len(gateway.requests)
        assert run(plan, gateway.url, train="error", clock=FakeClock(now=DAY)) == 1
    assert [r.path for r in gateway.requests[pushes:]] == [
        "/metrics/job/fusion-run/plan/nightly",
        "/metrics/job/fusion-run/plan/nightly/step/crawl",  # train failed: not pushed
    ]
    assert "fusion_run_plan_last_success_timestamp_seconds" not in gateway.requests[pushes].families
    value = gateway.value
    assert value("fusion_run_plan_last_success_timestamp_seconds") == plan_success
    assert train_success is not None
    assert crawl_success is not None
    assert value(STEP_SUCCESS, step="train") == train_success
    assert value(STEP_SUCCESS, step="crawl") == pytest.approx(crawl_success + DAY)
    assert value("fusion_run_plan_outcome", outcome="failed") == 1
    assert value("fusion_run_plan_outcome", outcome="succeeded") == 0
    assert value("fusion_run_step_outcome", step="train", outcome="failed") == 1
    assert value("fusion_run_step_outcome", step="train", outcome="succeeded") == 0


def test_a_run_of_part_of_the_plan_pushes_no_plan_success_nor_the_steps_it_left_out(
    write_plan: WritePlan,
) -> None:
    """A morning rerun of one step must not reset the alert on the plan's last success."""
    plan = write_plan(PLAN)
    with pushgateway() as gateway:
        assert run(plan, gateway.url, train="error") == 1
        Path("s.yaml").write_text(SCENARIO % "finished")
        args = ("--emulate", "--scenario", "s.yaml", "--select", "train")
        assert invoke(plan, *args, "--push-metrics", gateway.url).exit_code == 0
    partial = gateway.requests[-2]
    assert partial.path == "/metrics/job/fusion-run/plan/nightly"
    assert "fusion_run_plan_last_success_timestamp_seconds" not in partial.families
    assert gateway.value("fusion_run_plan_last_success_timestamp_seconds") is None
    steps = {sample.labels["step"] for sample in partial.families["fusion_run_step_outcome"]}
    assert steps == {"train"}
    assert gateway.requests[-1].path == "/metrics/job/fusion-run/plan/nightly/step/train"


def test_a_step_s_success_time_is_within_the_plan_whatever_fusion_s_clock(
    write_plan: WritePlan,
) -> None:
    plan = write_plan(PLAN)
    Path("s.yaml").write_text(
        "version: 1\nfusion: {clock_offset: 12h}\njobs:\n  crawl: {runs: [{duration: 2}]}\n"
        "  train: {runs: [{duration: 3}]}\n"
    )
    with pushgateway() as gateway:
        args = ("--emulate", "--scenario", "s.yaml", "--push-metrics", gateway.url)
        assert invoke(plan, *args).exit_code == 0
    plan_ended = datetime.fromisoformat(read_report()["ended_at"]).timestamp()
    assert gateway.value(STEP_SUCCESS, step="train") == plan_ended


def test_a_plan_name_with_a_slash_goes_in_the_path_in_base64(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nname: search/nightly run\nsteps: [crawl, train]\n")
    with pushgateway() as gateway:
        assert run(plan, gateway.url) == 0
    encoded = base64.urlsafe_b64encode(b"search/nightly run").decode()
    assert gateway.requests[0].path == f"/metrics/job/fusion-run/plan@base64/{encoded}"
    assert gateway.requests[0].group["plan"] == "search/nightly run"


def test_basic_auth_comes_from_the_environment(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_RUN_PUSHGATEWAY_USER", "pusher")
    monkeypatch.setenv("FUSION_RUN_PUSHGATEWAY_PASSWORD", "s3cret")
    plan = write_plan(PLAN)
    with pushgateway() as gateway:
        assert run(plan, gateway.url) == 0
    expected = "Basic " + base64.b64encode(b"pusher:s3cret").decode()
    assert {request.authorization for request in gateway.requests} == {expected}


def test_the_gateway_password_is_masked_in_the_warning(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_RUN_PUSHGATEWAY_USER", "pusher")
    monkeypatch.setenv("FUSION_RUN_PUSHGATEWAY_PASSWORD", "s3cret")
    plan = write_plan(PLAN)
    with pushgateway(status=401) as gateway:
        gateway.reason = "wrong password s3cret"
        result = invoke(plan, "--emulate", "--push-metrics", gateway.url)
    assert result.exit_code == 0
    assert (
        f"fusion-run: warning: metrics not pushed to the Pushgateway at {gateway.url}: it "
        "answered HTTP 401 wrong password ***; the plan's outcome stands"
    ) in result.stderr.splitlines()
    assert "s3cret" not in result.output


def test_without_credentials_no_authorization_is_sent(write_plan: WritePlan) -> None:
    with pushgateway() as gateway:
        assert run(write_plan(PLAN), gateway.url) == 0
    assert {request.authorization for request in gateway.requests} == {None}


@pytest.mark.parametrize(
    ("train", "code"), [("finished", 0), ("error", 1)], ids=["succeeded", "failed"]
)
def test_a_push_the_gateway_refuses_is_a_warning_and_changes_no_exit_code(
    write_plan: WritePlan, train: str, code: int
) -> None:
    plan = write_plan(PLAN)
    with pushgateway(status=503) as gateway:
        Path("s.yaml").write_text(SCENARIO % train)
        result = invoke(
            plan, "--emulate", "--scenario", "s.yaml", "--push-metrics", gateway.url, "-q"
        )
    assert result.exit_code == code
    warning = (
        f"fusion-run: warning: metrics not pushed to the Pushgateway at {gateway.url}: it "
        "answered HTTP 503 Service Unavailable; the plan's outcome stands"
    )
    lines = result.stderr.splitlines()
    assert lines.count(warning) == 1
    assert lines[-1].startswith("fusion-run: plan nightly ")  # the outcome stays the last line
    assert len(gateway.requests) == 1  # the first refusal ends the push
    report = json.loads(Path("fusion-run-report.json").read_text())
    said = warning.removeprefix("fusion-run: warning: ")
    assert report["warnings"][-1] == {"step": None, "text": said}  # the console's words
    assert report["outcome"] == ("succeeded" if code == 0 else "failed")


def test_a_gateway_that_is_not_there_is_a_warning(write_plan: WritePlan) -> None:
    with pushgateway() as gateway:
        url = gateway.url  # closed when the block ends: nothing listens there any more
    result = invoke(write_plan(PLAN), "--emulate", "--push-metrics", url)
    assert result.exit_code == 0
    assert (
        f"fusion-run: warning: metrics not pushed to the Pushgateway at {url}: the connection "
        "was refused; the plan's outcome stands"
    ) in result.stderr.splitlines()


def test_an_invalid_plan_pushes_nothing(write_plan: WritePlan) -> None:
    with pushgateway() as gateway:
        result = invoke(
            write_plan("version: 1\nsteps: []\n"), "--emulate", "--push-metrics", gateway.url
        )
    assert result.exit_code == 2
    assert gateway.requests == []


def test_the_push_goes_to_a_path_below_the_url(write_plan: WritePlan) -> None:
    """A Pushgateway behind a path prefix (a reverse proxy): the prefix is kept."""
    with pushgateway() as gateway:
        assert run(write_plan(PLAN), gateway.url + "/pushgateway/") == 0
    assert gateway.requests[0].path == "/pushgateway/metrics/job/fusion-run/plan/nightly"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://pusher:s3cret@gateway:9091",
            "fusion-run: --push-metrics: the URL holds credentials; remove them from it and set "
            "FUSION_RUN_PUSHGATEWAY_USER and FUSION_RUN_PUSHGATEWAY_PASSWORD instead",
        ),
        (
            "gateway:9091",
            "fusion-run: --push-metrics gateway:9091: expected the Pushgateway's http:// or "
            "https:// URL, such as http://pushgateway:9091",
        ),
        (
            "http://gateway:port",
            "fusion-run: --push-metrics http://gateway:port: expected the Pushgateway's http:// "
            "or https:// URL, such as http://pushgateway:9091",
        ),
        (
            "http://gateway:9091/?job=x",
            "fusion-run: --push-metrics http://gateway:9091/?job=x: the Pushgateway's URL takes "
            "no query or fragment: remove them",
        ),
    ],
    ids=["credentials", "no-scheme", "bad-port", "query"],
)
def test_a_url_it_cannot_push_to_is_refused_before_anything_runs(
    write_plan: WritePlan, url: str, message: str
) -> None:
    result = invoke(write_plan(PLAN), "--emulate", "--push-metrics", url)
    assert (result.exit_code, result.stderr) == (2, message + "\n")
    assert "s3cret" not in result.output
    assert not Path("fusion-run-report.json").exists()


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            "FUSION_RUN_PUSHGATEWAY_USER",
            "fusion-run: FUSION_RUN_PUSHGATEWAY_USER is set but FUSION_RUN_PUSHGATEWAY_PASSWORD "
            "is not: set both for the Pushgateway's basic auth, or neither",
        ),
        (
            "FUSION_RUN_PUSHGATEWAY_PASSWORD",
            "fusion-run: FUSION_RUN_PUSHGATEWAY_PASSWORD is set but FUSION_RUN_PUSHGATEWAY_USER "
            "is not: set both for the Pushgateway's basic auth, or neither",
        ),
    ],
)
def test_half_the_credentials_are_refused(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch, variable: str, message: str
) -> None:
    monkeypatch.setenv(variable, "s3cret")
    result = invoke(write_plan(PLAN), "--emulate", "--push-metrics", "http://gateway:9091")
    assert (result.exit_code, result.stderr) == (2, message + "\n")


def test_without_prometheus_client_the_option_says_what_to_install(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    result = invoke(write_plan(PLAN), "--emulate", "--push-metrics", "http://gateway:9091")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --push-metrics needs prometheus_client: pip install 'fusion-run[metrics]'\n",
    )


def test_without_the_option_prometheus_client_is_not_imported(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # an import would fail
    assert invoke(write_plan(PLAN), "--emulate").exit_code == 0


def test_push_metrics_goes_with_a_run_only(write_plan: WritePlan) -> None:
    result = invoke(write_plan(PLAN), "--check", "--emulate", "--push-metrics", "http://g:9091")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --push-metrics does nothing with --check: use it with a run\n",
    )


def test_the_resume_command_pushes_too() -> None:
    options = Options(plans=("p.yaml",), action=Action.RUN, push_metrics="http://g:9091")
    assert options.resume_command() == (
        "fusion-run p.yaml --resume fusion-run-report.json --push-metrics http://g:9091"
    )
