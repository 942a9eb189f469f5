"""Where CI users look, without running a plan: annotations of invalid plans, the pre-commit hook,
and a plan whose variables CI sets, validated with and without them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.helpers.ci import NOTE
from tests.helpers.cli import invoke
from tests.helpers.paths import EXAMPLES, INVALID, ROOT


def test_invalid_plans_are_annotated_in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = invoke("unknown_dependency.yaml", "--validate", env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "::error file=unknown_dependency.yaml,line=7,col=18,title=fusion-run%3A invalid plan::"
        "$.steps[2].depends_on[0]: unknown step 'trian' (did you mean 'train'?)",
        "::error file=unknown_dependency.yaml,line=7,col=25,title=fusion-run%3A invalid plan::"
        "$.steps[2].depends_on[1]: unknown step 'aggregate-signal' (did you mean 'aggregate-signals'?)",
    ]
    elsewhere = invoke("unknown_dependency.yaml", "--validate", env={})
    assert elsewhere.stdout == ""


def test_pre_commit_hook() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["language"], hook["entry"]) == (
        "fusion-run-validate",
        "python",
        "fusion-run --validate",
    )
    files = re.compile(hook["files"])
    for path in ("plans/nightly.yaml", "ops/plans/recs.yml", "nightly.plan.yaml", "a/b/x.plan.yml"):
        assert files.search(path), path
    for path in (".github/workflows/ci.yml", "docker-compose.yaml", "plans.txt"):
        assert not files.search(path), path
    entry = [
        *shlex.split(hook["entry"]),
        str(EXAMPLES / "quickstart.yaml"),
        str(INVALID / "cycle.yaml"),
    ]
    result = invoke(*entry[1:])
    assert result.exit_code == 2
    assert "dependency cycle: train -> evaluate -> train" in result.stderr


# --- a plan whose variables CI sets (tests.helpers.ci) ------------------------------------------


def test_a_plan_whose_variables_ci_sets_validates_without_them(ci_plan: str) -> None:
    result = invoke(ci_plan, "--validate")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.splitlines() == [
        f"plans/nightly.yaml:3:8: $.fusion.url: ${{FUSION_URL}} {NOTE}",
        f"plans/nightly.yaml:5:11: $.fusion.verify: ${{FUSION_CA}} {NOTE}",
        f"plans/nightly.yaml:8:10: $.steps[0].job: ${{SITE}} {NOTE}",
        f"plans/nightly.yaml:10:14: $.steps[0].timeout: ${{CRAWL_TIMEOUT}} {NOTE}",
        "plans/nightly.yaml: valid, 2 step(s)",
    ]
    as_json = invoke(ci_plan, "--validate", "--format", "json")
    assert (as_json.exit_code, as_json.stdout) == (0, "[]\n")
    assert as_json.stderr == result.stderr.rsplit("plans/", 1)[0]  # the notes, on stderr


def test_with_its_variables_set_their_values_are_checked(ci_plan: str) -> None:
    right = {"FUSION_URL": "https://fusion.example.com", "FUSION_CA": "ca.pem", "SITE": "docs"}
    right["CRAWL_TIMEOUT"] = "90m"
    result = invoke(ci_plan, "--validate", env=right)
    assert (result.exit_code, result.stderr) == (0, "plans/nightly.yaml: valid, 2 step(s)\n")
    wrong = {"FUSION_URL": "fusion.example.com", "FUSION_AUTH": "basik", "FUSION_CA": "ca.pen"}
    wrong |= {"MAX_PARALLEL": "four", "SITE": "docs", "CRAWL_TIMEOUT": "400d", "RUN_IF": "sucess"}
    result = invoke(ci_plan, "--validate", env={**wrong, "RETRIES": "1.5"})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "plans/nightly.yaml:3:8: $.fusion.url: ${FUSION_URL} gives a value that does not fit "
        "(expected an http:// or https:// URL with no credentials, query or fragment): "
        "set FUSION_URL to another value",
        "plans/nightly.yaml:4:9: $.fusion.auth: ${FUSION_AUTH:-basic} gives a value that is not "
        "one of: auto, basic, session, oauth2, api-key, bearer, none: set FUSION_AUTH to one of "
        "them",
        "plans/nightly.yaml:5:11: $.fusion.verify: ${FUSION_CA} gives a value that is not true, "
        "false or the path of a CA bundle file: set FUSION_CA to true, false or the path of a CA "
        "bundle file",
        "plans/nightly.yaml:6:15: $.max_parallel: ${MAX_PARALLEL:-4} gives a value that is not an "
        "integer: set MAX_PARALLEL to an integer",
        "plans/nightly.yaml:9:14: $.steps[0].retries: ${RETRIES:-2} gives a value that is not an "
        "integer: set RETRIES to an integer",
        "plans/nightly.yaml:10:14: $.steps[0].timeout: ${CRAWL_TIMEOUT} gives a value that is not "
        "a duration of at most 365d: set CRAWL_TIMEOUT to a duration of at most 365d",
        "plans/nightly.yaml:11:13: $.steps[0].run_if: ${RUN_IF:-all_success} gives a value that "
        "is not one of: all_success, all_done, at_least_one_success, none_failed, "
        "at_least_one_failed, all_failed: set RUN_IF to one of them",
    ]
    for value in wrong.values():  # no message quotes a value a variable gave
        assert f"'{value}'" not in result.stderr


def test_when_the_plan_runs_an_unset_variable_is_still_an_error(ci_plan: str) -> None:
    result = invoke(ci_plan, "--dry-run", env={"FUSION_CA": "ca.pem", "SITE": "docs"})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "plans/nightly.yaml:3:8: $.fusion.url: undefined variable FUSION_URL: pass --var "
        "FUSION_URL=VALUE, set it in the environment, or write ${FUSION_URL:-default}",
        "plans/nightly.yaml:10:14: $.steps[0].timeout: undefined variable CRAWL_TIMEOUT: pass "
        "--var CRAWL_TIMEOUT=VALUE, set it in the environment, or write ${CRAWL_TIMEOUT:-default}",
    ]


def test_a_reference_left_in_a_value_is_not_a_value(ci_plan: str) -> None:
    """The schema takes `${X}` for editors and other validators; fusion-run takes what it becomes."""
    Path(ci_plan).write_text(
        "version: 1\nvariables: {RETRIES: 1}\nsteps:\n  - job: a\n    retries: $${RETRIES}\n"
    )
    result = invoke(ci_plan, "--validate", env={"RETRIES": "${X}"})
    assert (result.exit_code, result.stderr) == (
        2,
        "plans/nightly.yaml:5:14: $.steps[0].retries: expected an integer, got the string "
        "'${RETRIES}'\n",
    )


def test_the_pre_commit_hook_passes_a_plan_whose_variables_ci_sets(ci_plan: str) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert re.search(hook["files"], ci_plan)
    result = invoke(*[*shlex.split(hook["entry"]), ci_plan][1:])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(NOTE) == 4


def test_steps_named_by_unset_variables_are_not_judged(ci_plan: str) -> None:
    """A dependency may name the step whose name CI gives; an unset one may name any step."""
    Path(ci_plan).write_text(
        "version: 1\nsteps:\n  - job: train\n    name: ${MODEL}\n  - job: publish\n"
        "    depends_on: [train-v2, '${UPSTREAM}']\n    success:\n      expect: ['${CHECK}']\n"
        "variables: {MODEL: null, UPSTREAM: null, CHECK: null}\n"
    )
    result = invoke(ci_plan, "--validate", env={})
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(NOTE) == 3
