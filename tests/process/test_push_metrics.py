"""`--push-metrics` on the real clock, in processes of its own: a Pushgateway that accepts and
never answers costs a few seconds at most, and an interrupted plan pushes what its final report
says. tests/scenario/test_push_metrics.py has the metrics themselves."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.report.push import DEADLINE
from tests.helpers.paths import WritePlan
from tests.helpers.process import Lines, fusion_run_process
from tests.helpers.pushgateway import pushgateway
from tests.helpers.reports import read_report

FAST = "version: 1\njobs:\n  crawl: {runs: [{duration: 0.2}]}\n"


def test_a_gateway_that_never_answers_costs_a_few_seconds_and_no_exit_code(
    write_plan: WritePlan, tmp_path: Path
) -> None:
    Path("s.yaml").write_text(FAST)
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    with socket.socket() as silent:  # accepts connections (its backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        done = fusion_run_process(
            plan, "--emulate", "--scenario", "s.yaml", "--push-metrics", url, cwd=tmp_path
        )
        took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert (
        f"fusion-run: warning: metrics not pushed to the Pushgateway at {url}: no answer within "
        "5s; the plan's outcome stands"
    ) in done.stderr.splitlines()
    assert DEADLINE <= took < DEADLINE + 10, f"{took:.1f}s"
    assert read_report()["outcome"] == "succeeded"


def test_a_silent_gateway_and_a_silent_collector_cost_one_wait_and_plan_ended_comes_last(
    write_plan: WritePlan, tmp_path: Path
) -> None:
    """Both sent side by side: the slower bounds the wait, not their sum; the JSON log's
    plan_ended is its last line and no earlier than the warnings before it."""
    Path("s.yaml").write_text(FAST)
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    with socket.socket() as gateway, socket.socket() as collector:
        for silent in (gateway, collector):
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
        url = f"http://127.0.0.1:{gateway.getsockname()[1]}"
        endpoint = f"http://127.0.0.1:{collector.getsockname()[1]}"
        began = time.monotonic()
        done = fusion_run_process(
            plan,
            *("--emulate", "--scenario", "s.yaml", "--push-metrics", url, "--log-format", "json"),
            cwd=tmp_path,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
        )
        took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    warnings = [r["text"] for r in records if r["event"] == "warning"]
    assert sorted(warnings) == [
        f"fusion-run: warning: metrics not pushed to the Pushgateway at {url}: no answer within "
        "5s; the plan's outcome stands",
        f"fusion-run: warning: trace not exported to the collector at {endpoint}/v1/traces: no "
        "answer within 5s; the plan's outcome stands",
    ]
    assert records[-1]["event"] == "plan_ended"
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)
    assert DEADLINE <= took < 2 * DEADLINE, f"{took:.1f}s"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_plan_pushes_what_its_report_says(
    write_plan: WritePlan, sig: signal.Signals
) -> None:
    Path("slow.yaml").write_text("version: 1\njobs:\n  long:\n    runs: [{duration: 3600}]\n")
    plan = write_plan("version: 1\nname: nightly\nsteps: [long, after]\n")
    with pushgateway() as gateway:
        args = [plan, "--emulate", "--scenario", "slow.yaml", "--push-metrics", gateway.url]
        process = subprocess.Popen(
            [sys.executable, "-m", "runner", *args],
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
    output.rest()
    assert [r.path for r in gateway.requests] == ["/metrics/job/fusion-run/plan/nightly"]
    assert read_report()["outcome"] == "interrupted"
    value = gateway.value
    assert value("fusion_run_plan_outcome", outcome="interrupted") == 1
    assert value("fusion_run_plan_outcome", outcome="succeeded") == 0
    assert value("fusion_run_plan_last_success_timestamp_seconds") is None
    assert value("fusion_run_step_outcome", step="long", outcome="cancelled") == 1
    assert value("fusion_run_step_outcome", step="after", outcome="not_run") == 1
    assert value("fusion_run_plan_steps", outcome="cancelled") == 1
