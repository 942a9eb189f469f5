"""What the README shows fusion-run print when it runs a plan, on a fake clock: the console, a CI
log's heartbeat, --check."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript, load_scenario
from runner.emulator.server import Emulator
from runner.report.console import Console
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, plan_of, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.readme import README, block_starting


def test_the_console_example_is_what_a_run_prints() -> None:
    """The example under "Running a plan": a 40-second job, then one that fails after 2m30s
    with its skipped dependent, followed on a fake clock against the emulator's model."""
    block = block_starting("fusion-run: plan nightly: 3 step(s) against ")
    out = io.StringIO()
    console = Console(out, live=False)
    steps = [step("aggregate"), step("train", "aggregate"), step("evaluate", "train")]
    plan = dataclasses.replace(plan_of(steps), name="nightly")
    console.header(plan, "https://fusion.example.com", emulated=False)
    oom = "Py4JJavaError: ... OutOfMemoryError"
    run(
        steps,
        jobs(
            aggregate=runs(RunScript(duration=40)),
            train=runs(RunScript(duration=150, state="error", error=oom)),
        ),
        reporter=console,
    )
    printed = out.getvalue().splitlines()
    assert printed[: len(block.lines)] == block.lines


def test_the_heartbeat_example_is_what_a_ci_log_shows() -> None:
    """The heartbeat line under "In CI", but for the counters: the emulator shows a crawl's
    counters only once it ends."""
    [example] = re.findall(r"`( +\d+:\d\d crawl: still running [^`]*)`", README)
    out = io.StringIO()
    crawl = step("crawl", job="datasource:web", states=("success",))
    scenario = jobs(**{"datasource:web": runs(RunScript(duration=700, state="success"))})
    run([crawl], scenario, reporter=Console(out, live=False))
    beats = [line for line in out.getvalue().splitlines() if "still running" in line]
    assert beats == [
        "   5:03 crawl: still running (run 41pjso2krv, 5m3s)",  # 5 minutes, then the next read
        example.split(": counter.input ")[0],
    ]


CHECKED = """\
version: 1
name: nightly
fusion:
  auth: none
steps:
  - job: datasource:web
    name: crawl
  - job: products_recs_als
    name: train
"""


def test_the_check_example_is_what_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl started at 01:55 is running; on a fake clock, it stays so."""
    monkeypatch.chdir(tmp_path)
    block = block_starting("crawl (datasource:web): ")
    Path("plan.yaml").write_text(CHECKED)
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  datasource:web:\n    runs: [{duration: 1h, state: success}]\n"
        "  products_recs_als: {}\n"
    )
    model = EmulatedFusion(load_scenario("s.yaml"), clock=FakeClock(), epoch=EPOCH + 6900)
    model.start("datasource:web")
    with Emulator(model) as emulator:
        result = invoke("plan.yaml", "--check", "--url", emulator.url)
        expected = block.body.replace("https://fusion.example.com", emulator.url)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", expected)
