"""What CI users run beside fusion-run, as processes: our schemas and the GitHub action checked
by an independent validator (check-jsonschema), and the action's run step."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    assert set(ACTION["outputs"]) == {"report", "outcome", "exit-code", "failed-steps", "summary"}
    for name in ("outcome", "exit-code", "failed-steps", "summary"):
        assert ACTION["outputs"][name]["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    install = ACTION["runs"]["steps"][1]
    assert install["env"]["FUSION_RUN_SOURCE"] == "${{ github.action_path }}"
    assert "${{ secrets." not in (ROOT / "action.yml").read_text()  # no credential as input
    for action_step in ACTION["runs"]["steps"]:  # inputs reach commands through the environment
        assert "${{" not in action_step.get("run", "")


def test_the_action_leaves_the_callers_path_as_it_found_it() -> None:
    """setup-python puts its Python first on PATH for every later step unless told not to; no
    step of the action adds to PATH or to the environment of the steps after it."""
    python, install, run_step = ACTION["runs"]["steps"]
    assert python["uses"].startswith("actions/setup-python@")
    assert python["with"]["update-environment"] is False
    text = (ROOT / "action.yml").read_text()
    assert "GITHUB_PATH" not in text
    assert "GITHUB_ENV" not in text
    assert install["env"]["FUSION_RUN_PYTHON"] == "${{ steps.python.outputs.python-path }}"
    assert run_step["env"]["FUSION_RUN_PYTHON"] == "${{ steps.install.outputs.python }}"
    assert run_step["run"] == 'exec "$FUSION_RUN_PYTHON" -m runner.cli.action'


def _run_step(tmp_path: Path, inputs: dict[str, str]) -> tuple[int, dict[str, str]]:
    """The action's run step, as GitHub runs it (inputs' defaults filled in), with this Python
    as the one the install step made: its exit code and the outputs it wrote."""
    given = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs
    step = ACTION["runs"]["steps"][2]
    env = {
        name: given[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        for name, value in step["env"].items()
        if value.startswith("${{ inputs.")
    }
    written = tmp_path / "github-output"
    written.write_text("")
    done = subprocess.run(
        ["bash", "-c", step["run"]],
        env={
            **env,
            "FUSION_RUN_PYTHON": sys.executable,
            "GITHUB_OUTPUT": str(written),
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = written.read_text().splitlines()
    return done.returncode, dict(line.split("=", 1) for line in lines)


def test_the_action_sets_its_outputs_from_the_run(tmp_path: Path) -> None:
    """A crawl that failed some documents: exit 1, and the outputs say which step failed."""
    code, found = _run_step(
        tmp_path,
        {
            "plan": str(EXAMPLES / "catalog-refresh.yaml"),
            "report": "out/report.json",
            "args": f"--emulate --scenario '{EXAMPLES / 'scenarios' / 'catalog-crawl-errors.yaml'}'",
        },
    )
    assert code == 1
    assert set(found) == {"exit-code", "outcome", "failed-steps", "summary"}
    assert (found["exit-code"], found["outcome"], found["failed-steps"]) == (
        "1", "failed", '["crawl"]'
    )  # fmt: skip
    assert found["summary"].startswith("fusion-run: plan catalog-refresh failed in ")
    assert found["summary"].endswith(": 1 failed, 2 skipped. Report: out/report.json"), found[
        "summary"
    ]


def test_the_action_says_why_a_plan_did_not_run(tmp_path: Path) -> None:
    """An earlier run's green report is replaced by one that says the plan did not run, and the
    outputs say so, not the earlier outcome."""
    (tmp_path / "fusion-run-report.json").write_text("{}")  # an earlier run's: not this one's
    os.utime(tmp_path / "fusion-run-report.json", (0, 0))
    code, found = _run_step(tmp_path, {"plan": "missing.yaml"})
    assert code == 2
    assert found == {
        "exit-code": "2",
        "outcome": "failed",
        "failed-steps": "[]",
        "summary": "fusion-run: plan missing failed: the plan did not run: missing.yaml: cannot "
        "read the plan: no such file. Report: fusion-run-report.json",
    }


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
