from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import __version__, cli
from tests.helpers.cli import invoke
from tests.helpers.paths import EXAMPLES, INVALID, WritePlan


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_validates(example: Path) -> None:
    result = invoke(str(example), "--validate")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"{example}: valid, ")


def test_several_plans_validate_together() -> None:
    plans = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    result = invoke(*plans, "--validate")
    assert result.exit_code == 0
    assert len(result.stderr.splitlines()) == len(plans)


@pytest.mark.parametrize("plan", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_invalid_plan_gives_exactly_its_expected_lines(
    plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(INVALID)
    result = invoke(plan.name, "--validate")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == plan.with_suffix(".expected").read_text(encoding="utf-8")


def test_every_invalid_plan_has_its_expected_output() -> None:
    plans = {p.stem for p in INVALID.glob("*.yaml")}
    expected = {p.stem for p in INVALID.glob("*.expected")}
    assert plans == expected
    assert len(plans) >= 20


def test_problems_of_several_plans_are_all_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = invoke(
        "cycle.yaml", str(EXAMPLES / "quickstart.yaml"), "self_dependency.yaml", "--validate"
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "cycle.yaml:4:17: $.steps[0].depends_on: dependency cycle: train -> evaluate -> train",
        f"{EXAMPLES / 'quickstart.yaml'}: valid, 3 step(s)",
        "self_dependency.yaml:4:18: $.steps[0].depends_on[0]: step 'crawl' cannot depend on itself",
    ]


def test_validate_json_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    result = invoke("unknown_dependency.yaml", "--validate", "--format", "json")
    assert result.exit_code == 2
    assert result.stderr == ""
    assert json.loads(result.stdout) == [
        {
            "file": "unknown_dependency.yaml",
            "line": 7,
            "column": 18,
            "path": "$.steps[2].depends_on[0]",
            "message": "unknown step 'trian' (did you mean 'train'?)",
        },
        {
            "file": "unknown_dependency.yaml",
            "line": 7,
            "column": 25,
            "path": "$.steps[2].depends_on[1]",
            "message": "unknown step 'aggregate-signal' (did you mean 'aggregate-signals'?)",
        },
    ]


def test_validate_json_format_when_valid() -> None:
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--validate", "--format", "json")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "[]\n", "")


def test_missing_plan_is_one_line(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "missing.yaml"), "--validate")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'missing.yaml'}: cannot read the plan: no such file\n"


def test_directory_as_plan_is_one_line(tmp_path: Path) -> None:
    result = invoke(str(tmp_path), "--validate")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path}: cannot read the plan: it is a directory, not a file\n"


def test_variables_from_the_command_line_win_over_the_environment(write_plan: WritePlan) -> None:
    plan = write_plan(
        "version: 1\nsteps:\n  - job: crawl-${SITE}\n    retries: ${RETRIES:-1}\n"
        "variables: {SITE: null, RETRIES: null}\n"
    )
    result = invoke(plan, "--dry-run", "--var", "SITE=docs", env={"SITE": "shop", "RETRIES": "3"})
    assert result.exit_code == 0, result.stderr
    assert "  crawl-docs\n" in result.stdout
    assert "retries 3, 30s apart" in result.stdout


@pytest.mark.parametrize("bad", ["NOEQUALS", "=value", "1X=2", "A B=1"])
def test_malformed_var_is_a_usage_error(bad: str) -> None:
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--dry-run", "--var", bad)
    assert result.exit_code == 2
    assert f"Invalid value for --var: expected NAME=VALUE, got '{bad}'" in result.stderr


def test_dry_run_of_the_quickstart() -> None:
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--dry-run")
    assert result.exit_code == 0, result.stderr
    sha = result.stdout.split("sha256 ", 1)[1][:12]
    assert (
        result.stdout
        == f"""\
plan quickstart ({EXAMPLES / "quickstart.yaml"}, sha256 {sha})
fusion: http://127.0.0.1:8764/api (from the plan); auth basic; TLS verified
at most 4 runs at once; fail_fast off; plan timeout none

steps:
  my-python-job
    waits for: nothing
    timeout 30m; polls at most 5s apart; retries 0
    success: state in [finished, skipped]
    on_running wait: a run of its job already going is waited for, then the step starts its own
  aggregate-signals (job products_click_signals_aggregation)
    waits for: my-python-job, the step listed before it; runs if all succeed
    timeout 30m; polls at most 5s apart; retries 0
    success: state in [finished, skipped]
    on_running wait: a run of its job already going is waited for, then the step starts its own
  rewrite-queries (job products_query_rewrite)
    waits for: aggregate-signals, the step listed before it; runs if all succeed
    timeout 30m; polls at most 5s apart; retries 0
    success: state in [finished, skipped]; result.docsWritten > `0`
    on_running wait: a run of its job already going is waited for, then the step starts its own

start order, if every step succeeds:
  1. my-python-job
  2. aggregate-signals
  3. rewrite-queries
"""
    )
    assert result.stderr == ""


def test_url_precedence_in_dry_run() -> None:
    plan = str(EXAMPLES / "quickstart.yaml")
    env = {"FUSION_URL": "https://env.example.com/"}
    from_env = invoke(plan, "--dry-run", env=env).stdout.splitlines()[1]
    assert (
        from_env
        == "fusion: https://env.example.com/api (from FUSION_URL); auth basic; TLS verified"
    )
    from_flag = invoke(plan, "--dry-run", "--url", "https://flag.example.com", env=env).stdout
    assert "fusion: https://flag.example.com/api (from --url);" in from_flag


def test_credentials_in_url_flag_are_refused_without_echoing_them() -> None:
    result = invoke(
        str(EXAMPLES / "quickstart.yaml"), "--dry-run", "--url", "https://u:pw@h.example"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "fusion-run: --url: credentials may not be part of the URL: set them in the environment "
        "instead\n"
    )


def test_graph_mermaid_and_dot() -> None:
    plan = str(EXAMPLES / "quickstart.yaml")
    mermaid = invoke(plan, "--graph", "mermaid")
    assert mermaid.exit_code == 0
    assert mermaid.stdout.startswith("flowchart LR\n")
    dot = invoke(plan, "--graph", "dot")
    assert dot.stdout.startswith('digraph "quickstart" {\n')


def test_one_plan_only_for_dry_run() -> None:
    plan = str(EXAMPLES / "quickstart.yaml")
    result = invoke(plan, plan, "--dry-run")
    assert (result.exit_code, result.stderr) == (2, "fusion-run: give one plan to dry-run, not 2\n")


def test_actions_are_exclusive() -> None:
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--dry-run", "--validate")
    assert result.exit_code == 2
    assert "Error: choose one of --validate, --dry-run" in result.stderr


def test_plan_is_required() -> None:
    result = invoke("--validate")
    assert result.exit_code == 2
    assert "Missing argument 'PLAN...'" in result.stderr


def test_version() -> None:
    assert invoke("--version").stdout == f"fusion-run, version {__version__}\n"


def test_help_documents_exit_codes() -> None:
    result = invoke("--help")
    for line in (
        "0    the plan succeeded",
        "1    the plan failed: a step not allowed to fail ended other than succeeded",
        "or excluded by run_if, or a step's run was left going (even with",
        "allow_failure); losing Fusion mid-run fails the steps it cuts off",
        "2    invalid plan or usage, credentials missing from the environment, or a",
        "job that Fusion does not have (found before anything starts)",
        "3    Fusion out of reach before anything started, credentials refused, the",
        "final report not written, or an unexpected internal error",
        "130  interrupted",
    ):
        assert line in result.stdout


def test_internal_error_is_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "execute", broken)
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--validate")
    assert result.exit_code == 3
    assert result.stderr == (
        "fusion-run: internal error: RuntimeError: boom (run again with --traceback for details)\n"
    )
    traced = invoke(str(EXAMPLES / "quickstart.yaml"), "--validate", "--traceback")
    assert traced.exit_code == 3
    assert "Traceback (most recent call last)" in traced.stderr
    assert traced.stderr.endswith("fusion-run: internal error: RuntimeError: boom\n")


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "execute", interrupted)
    result = invoke(str(EXAMPLES / "quickstart.yaml"), "--dry-run")
    assert (result.exit_code, result.stderr) == (130, "fusion-run: interrupted\n")


def test_heartbeat_takes_a_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def captured(options: object, **_: object) -> int:
        seen.append(options.heartbeat)  # type: ignore[attr-defined]
        return 0

    monkeypatch.setattr(cli, "execute", captured)
    plan = str(EXAMPLES / "quickstart.yaml")
    for given in ([], ["--heartbeat", "90s"], ["--heartbeat", "0"], ["--heartbeat", "120"]):
        assert invoke(plan, *given).exit_code == 0
    assert seen == [300.0, 90.0, 0.0, 120.0]
    wrong = invoke(plan, "--heartbeat", "soon")
    assert wrong.exit_code == 2
    assert wrong.stderr.splitlines()[-1] == (
        "Error: Invalid value for --heartbeat: expected a duration such as 5m, 90s or 0, got 'soon'"
    )
    help_text = " ".join(invoke("--help").stdout.split())
    assert (
        "--heartbeat DURATION Without a terminal (CI logs), print a line for each active run at "
        "the first status read after every DURATION of its age, with Fusion's state and "
        "counters; 0 turns it off. [default: 5m]"
    ) in help_text
    assert (
        "--verbose Also print each request to Fusion with its HTTP status and how long it took, "
        "and each run's final status as Fusion returned it."
    ) in help_text


def test_a_list_given_as_one_variable_is_refused_when_the_variable_is_set(
    write_plan: WritePlan,
) -> None:
    plan = write_plan(
        "version: 1\nsteps:\n  - a\n  - job: b\n    depends_on: ${DEPS}\nvariables: {DEPS: null}\n"
    )
    for env in ({"DEPS": "a"}, {"DEPS": "[a]"}, {}):
        result = invoke(plan, "--validate", env=env)
        assert (result.exit_code, result.stderr) == (
            2,
            "plan.yaml:5:17: $.steps[1].depends_on: a variable stands for one value, not a list: "
            "write the list, with variables in its items\n",
        ), env


def test_dry_run_says_what_warns_and_what_counts_as_stalled() -> None:
    result = invoke(str(EXAMPLES / "nightly-search.yaml"), "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    catalog = lines.index("  crawl-catalog (job datasource:products-catalog)")
    assert lines[catalog + 3 : catalog + 5] == [
        "    success: state in [success]",
        "    warns: unless ratio(documents, previous.documents) >= `0.7`; "
        "if it runs longer than 2x its last good run",
    ]
    reviews = lines.index("  crawl-reviews (job datasource:products-reviews)")
    assert lines[reviews + 4] == "    stalled when no counter moved for 6s: cancels it"
    train = lines.index("  train (job products_recs_als)")
    assert lines[train + 3] == "    success: state in [finished]; at least 1 document"


def test_dry_run_says_which_steps_count_an_allowed_failure_as_failed(write_plan: WritePlan) -> None:
    plan = write_plan(
        "version: 1\ndefaults:\n  allowed_failures: fail\nsteps:\n"
        "  - {job: crawl, allow_failure: true}\n"
        "  - {job: alert, run_if: at_least_one_failed}\n"
        "  - {job: aggregate, depends_on: [crawl], allowed_failures: pass}\n"
    )
    result = invoke(plan, "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[lines.index("  alert") + 1] == (
        "    waits for: crawl, the step listed before it; runs if at least one fails "
        "(a failure allowed upstream counts as failed)"
    )
    assert lines[lines.index("  aggregate") + 1] == "    waits for: crawl; runs if all succeed"
