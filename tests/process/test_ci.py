"""What CI users run beside fusion-run, as processes: our schemas and the GitHub action checked
by an independent validator (check-jsonschema), and the action's run step."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.ci import CI_PLAN
from tests.helpers.cli import invoke
from tests.helpers.paths import DOCS, EXAMPLES, ROOT


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


def test_check_jsonschema_accepts_the_examples_against_our_schemas() -> None:
    plans = sorted(str(p.relative_to(ROOT)) for p in EXAMPLES.glob("*.yaml"))
    result = check_jsonschema("--schemafile", "schemas/plan.schema.json", *plans)
    assert result.returncode == 0, result.stdout + result.stderr
    scenarios = sorted(str(p.relative_to(ROOT)) for p in EXAMPLES.glob("scenarios/*.yaml"))
    result = check_jsonschema("--schemafile", "schemas/scenario.schema.json", *scenarios)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_refuses_what_we_refuse() -> None:
    result = check_jsonschema(
        "--schemafile", "schemas/plan.schema.json", "tests/plans/invalid/unknown_keys.yaml"
    )
    assert result.returncode == 1
    assert "Additional properties are not allowed" in result.stdout


ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())


def test_the_action_is_a_valid_action() -> None:
    result = check_jsonschema("--builtin-schema", "vendor.github-actions", "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"plan", "url", "report", "junit", "args", "python-version"}
    assert [name for name, spec in ACTION["inputs"].items() if spec.get("required")] == ["plan"]
    install = ACTION["runs"]["steps"][1]
    assert install["env"] == {"FUSION_RUN_SOURCE": "${{ github.action_path }}"}
    assert "${{ secrets." not in (ROOT / "action.yml").read_text()  # no credential as input
    for action_step in ACTION["runs"]["steps"]:  # inputs reach commands through the environment
        assert "${{" not in action_step.get("run", "")


@pytest.mark.parametrize(
    ("inputs", "argv"),
    [
        ({"plan": "plans/nightly.yaml"}, ["plans/nightly.yaml"]),
        ({"plan": "plans/nightly.yaml", "args": "--check"}, ["plans/nightly.yaml", "--check"]),
        (
            {
                "plan": "plans/my plan.yaml",
                "url": "https://fusion.example.com",
                "report": "out/r.json",
                "junit": "out/j.xml",
                "args": "--var 'LABEL=a b' --max-parallel 2",
            },
            [
                "plans/my plan.yaml", "--report", "out/r.json", "--url", "https://fusion.example.com",
                "--junit", "out/j.xml", "--var", "LABEL=a b", "--max-parallel", "2",
            ],
        ),
    ],
    ids=["plan-only", "check", "every-input"],
)  # fmt: skip
def test_the_action_runs_fusion_run_with_its_inputs(
    tmp_path: Path, inputs: dict[str, str], argv: list[str]
) -> None:
    """The action's run step, with its inputs as GitHub passes them (defaults filled in), runs
    `fusion-run` with one argument per input: a stand-in prints what it was given."""
    stand_in = tmp_path / "fusion-run"
    stand_in.write_text('#!/bin/sh\nfor word in "$@"; do echo "[$word]"; done\nexit 3\n')
    stand_in.chmod(0o755)
    given = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs
    step = ACTION["runs"]["steps"][2]
    assert step["shell"] == "python"
    env = {
        name: given[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        for name, value in step["env"].items()
    }
    done = subprocess.run(
        [sys.executable, "-c", step["run"]],
        env={**env, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3  # fusion-run's exit code is the step's
    assert done.stdout.splitlines() == [f"[{word}]" for word in argv]


def test_the_github_workflow_example_is_a_valid_workflow_that_uses_the_action() -> None:
    result = check_jsonschema(
        "--builtin-schema", "vendor.github-workflows", "examples/ci/github-workflow.yml"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workflow: dict[str, Any] = yaml.safe_load((EXAMPLES / "ci" / "github-workflow.yml").read_text())
    [step] = [
        s
        for s in workflow["jobs"]["run-plan"]["steps"]
        if s.get("uses", "").startswith("your-org/fusion-run@")
    ]
    assert set(step["with"]) <= set(ACTION["inputs"])
    assert step["with"]["plan"] == "plans/nightly.yaml"
    assert set(step["env"]) == {"FUSION_URL", "FUSION_USER", "FUSION_PASSWORD"}
    options = [word for word in shlex.split(step["with"]["args"]) if word.startswith("--")]
    help_text = invoke("--help").stdout
    assert all(option in help_text for option in options)
    guide = (DOCS / "guides" / "ci.md").read_text()
    github = guide[guide.index("## GitHub Actions") : guide.index("## GitLab CI")]
    assert "uses: your-org/fusion-run@v0.1.0" in github


def test_check_jsonschema_passes_a_plan_whose_variables_ci_sets(ci_plan: str) -> None:
    path = str(Path(ci_plan).resolve())
    result = check_jsonschema("--schemafile", "schemas/plan.schema.json", path)
    assert result.returncode == 0, result.stdout + result.stderr
    Path(path).write_text(CI_PLAN.replace("${RETRIES:-2}", "two"))
    result = check_jsonschema("--schemafile", "schemas/plan.schema.json", path)
    assert result.returncode == 1  # what is not a whole reference is still checked
    assert "$.steps[0].retries" in result.stdout
