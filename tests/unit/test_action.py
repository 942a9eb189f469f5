"""The GitHub Action's run step (`runner.cli.action`): fusion-run's command from the inputs, and
the outputs from the run's report."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from runner.cli.action import command, outputs
from runner.emulator.scenario import RunScript
from tests.helpers.engine import jobs, run, runs
from tests.helpers.fakes import step


@pytest.mark.parametrize(
    ("inputs", "argv"),
    [
        ({"FUSION_RUN_PLAN": "plans/nightly.yaml"}, ["plans/nightly.yaml"]),
        (
            {"FUSION_RUN_PLAN": "plans/nightly.yaml", "FUSION_RUN_ARGS": "--check"},
            ["plans/nightly.yaml", "--check"],
        ),
        (
            {
                "FUSION_RUN_PLAN": "plans/my plan.yaml",
                "FUSION_RUN_URL": "https://fusion.example.com",
                "FUSION_RUN_REPORT": "out/r.json",
                "FUSION_RUN_JUNIT": "out/j.xml",
                "FUSION_RUN_ARGS": "--var 'LABEL=a b' --max-parallel 2",
            },
            [
                "plans/my plan.yaml", "--report", "out/r.json", "--url", "https://fusion.example.com",
                "--junit", "out/j.xml", "--var", "LABEL=a b", "--max-parallel", "2",
            ],
        ),
    ],
    ids=["plan-only", "check", "every-input"],
)  # fmt: skip
def test_fusion_run_gets_one_argument_per_input(inputs: dict[str, str], argv: list[str]) -> None:
    empty = dict.fromkeys(("FUSION_RUN_URL", "FUSION_RUN_REPORT", "FUSION_RUN_JUNIT"), "")
    assert command({**empty, **inputs}) == [sys.executable, "-m", "runner", *argv]


def test_the_outputs_name_the_steps_that_failed(tmp_path: Path) -> None:
    scenario = jobs(
        train=runs(RunScript(duration=5, state="error", error="OOM")),
        notify=runs(RunScript(duration=1, state="error", error="SMTP down")),
    )
    steps = [step("crawl"), step("train", "crawl"), step("notify", allow_failure=True)]
    report = run(steps, scenario).report
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    found = outputs(1, str(path), since=0)
    assert found == {
        "exit-code": "1",
        "outcome": "failed",
        "failed-steps": '["train"]',
        "summary": f"fusion-run: plan test failed in {found['summary'].split(' in ')[1]}",
    }
    assert found["summary"].endswith(
        ": 1 succeeded, 1 failed, 1 failed (allowed). Report: " + str(path)
    )
    os.utime(path, (100, 100))  # written before this run began: another run's
    assert outputs(2, str(path), since=200)["outcome"] == "not_run"
