"""`targets:` and `--target NAME`: Fusion settings and variable values for one place the plan
runs in, over the plan's own; the report records the target, and --resume keeps to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.commands.options import Action, Options
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan

PLAN = """\
version: 1
variables:
  MIN_DOCS: 10
  SITE: null
fusion:
  url: https://fusion.example.com
  api: /api
targets:
  dev:
    fusion: {url: "https://dev.example.com"}
    variables: {MIN_DOCS: 1}
  prod:
    fusion: {url: "https://prod.example.com", api: /api/apollo}
    variables: {MIN_DOCS: 100000, SITE: shop}
steps:
  - job: crawl-${SITE:-docs}
    success:
      min_documents: ${MIN_DOCS}
"""


def dry_run(plan: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = invoke(plan, "--dry-run", *args, env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_target_sets_fusion_settings_and_variables_over_the_plan_s(
    write_plan: WritePlan,
) -> None:
    plan = write_plan(PLAN)
    prod = dry_run(plan, "--target", "prod")
    assert prod.splitlines()[:2] == [
        "plan plan (plan.yaml, sha256 8da41c47f818, target prod)",
        "fusion: https://prod.example.com/api/apollo (from the plan with target prod); auth auto; "
        "TLS verified",
    ]
    assert "  crawl-shop\n" in prod
    assert "at least 100000 documents" in prod
    dev = dry_run(plan, "--target", "dev")
    assert "https://dev.example.com/api" in dev
    assert "  crawl-docs\n" in dev
    assert "at least 1 document\n" in dev


def test_var_wins_over_the_target_which_wins_over_the_environment(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    env = {"SITE": "env", "MIN_DOCS": "5"}
    assert "crawl-var\n" in dry_run(plan, "--target", "prod", "--var", "SITE=var", env=env)
    assert "crawl-shop\n" in dry_run(plan, "--target", "prod", env=env)
    assert "crawl-env\n" in dry_run(plan, "--target", "dev", env=env)
    assert "at least 1 document\n" in dry_run(plan, "--target", "dev", env=env)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (),
            "plan.yaml has targets (dev, prod) and no default_target: "
            "choose one with --target NAME",
        ),
        (
            ("--target", "prd"),
            "--target prd: plan.yaml has no such target (did you mean prod?); it has dev, prod",
        ),
        (("--target", "test"), "--target test: plan.yaml has no such target; it has dev, prod"),
    ],
    ids=["none", "did-you-mean", "unknown"],
)
@pytest.mark.parametrize("action", ["--dry-run", "--graph=dot", "--check", "--emulate"])
def test_a_target_must_be_chosen_and_known(
    write_plan: WritePlan, args: tuple[str, ...], message: str, action: str
) -> None:
    plan = write_plan(PLAN)
    result = invoke(plan, action, *args)
    assert (result.exit_code, result.stderr) == (2, f"fusion-run: {message}\n")
    if action == "--emulate":  # a run: its report says the plan did not run, and why
        report = json.loads(Path("fusion-run-report.json").read_text())
        refused = ("failed", f"the plan did not run: {message}")
        assert (report["outcome"], report["error"]) == refused
    else:
        assert not Path("fusion-run-report.json").exists()


def test_a_plan_of_many_targets_lists_ten_and_counts_the_rest(write_plan: WritePlan) -> None:
    names = [f"t{number:02}" for number in range(30)]
    targets = "".join(f"  {name}: {{}}\n" for name in names)
    plan = write_plan(f"version: 1\ntargets:\n{targets}steps: [crawl]\n")
    first = ", ".join(names[:10])
    result = invoke(plan, "--dry-run")
    assert (result.exit_code, result.stderr) == (
        2,
        f"fusion-run: plan.yaml has targets ({first} and 20 more) and no default_target: "
        "choose one with --target NAME\n",
    )
    result = invoke(plan, "--dry-run", "--target", "prod")
    assert result.stderr == (
        f"fusion-run: --target prod: plan.yaml has no such target; it has {first} and 20 more\n"
    )


def test_a_target_for_a_plan_without_targets_is_refused(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    for action in ("--dry-run", "--validate"):
        result = invoke(plan, action, "--target", "prod")
        assert (result.exit_code, result.stderr) == (
            2,
            "fusion-run: --target prod: plan.yaml has no targets: remove --target, "
            "or add targets: to the plan\n",
        )


def test_default_target_is_used_when_none_is_given(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN.replace("targets:", "default_target: prod\ntargets:"))
    assert "crawl-shop\n" in dry_run(plan)
    assert "crawl-docs\n" in dry_run(plan, "--target", "dev")


def test_what_a_target_names_must_exist(write_plan: WritePlan) -> None:
    text = PLAN.replace("targets:", "default_target: prd\ntargets:")
    plan = write_plan(text.replace("{MIN_DOCS: 1}", "{MIN_DOC: 1}"))
    result = invoke(plan, "--validate")
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        [
            "plan.yaml:8:17: $.default_target: no such target (did you mean prod?): "
            "the plan has dev, prod",
            "plan.yaml:12:17: $.targets.dev.variables.MIN_DOC: MIN_DOC is not declared (did you "
            "mean MIN_DOCS?): add MIN_DOC under variables:, or remove it here",
        ],
    )


def test_a_default_target_needs_targets(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\ndefault_target: prod\nsteps: [crawl]\n")
    result = invoke(plan, "--validate")
    assert (result.exit_code, result.stderr) == (
        2,
        "plan.yaml:2:17: $.default_target: no such target: the plan has no targets: add "
        "targets:, or remove default_target\n",
    )


def test_a_target_s_fusion_settings_are_checked(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN.replace('"https://dev.example.com"', '"https://dev.example.com:99999"'))
    result = invoke(plan, "--validate", "--target", "prod")
    assert (result.exit_code, result.stderr) == (
        2,
        "plan.yaml:10:19: $.targets.dev.fusion.url: port 99999 is out of range: "
        "write a port from 1 to 65535\n",
    )


def test_validate_without_a_target_checks_the_plan_with_each(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN.replace("MIN_DOCS: 100000", "MIN_DOCS: many"))
    result = invoke(plan, "--validate")
    assert (result.exit_code, result.stderr) == (
        2,
        "plan.yaml:18:22: $.steps[0].success.min_documents: ${MIN_DOCS} gives a value that is "
        "not an integer: set MIN_DOCS to an integer (--target prod)\n",
    )
    assert invoke(plan, "--validate", "--target", "dev").exit_code == 0
    fine = write_plan(PLAN)
    result = invoke(fine, "--validate")
    assert (result.exit_code, result.stderr) == (0, "plan.yaml: valid, 1 step(s)\n")


def test_the_report_records_the_target_and_resume_keeps_to_it(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN.replace("min_documents: ${MIN_DOCS}", "min_documents: 0"))
    result = invoke(plan, "--emulate", "--target", "dev")
    assert result.exit_code == 0, result.stderr
    report = json.loads(Path("fusion-run-report.json").read_text())
    assert report["plan"]["target"] == "dev"
    Path("dev.json").write_text(json.dumps(report))
    resumed = invoke(plan, "--emulate", "--target", "prod", "--resume", "dev.json")
    assert (resumed.exit_code, resumed.stderr) == (
        2,
        "fusion-run: --resume dev.json: that report's run had target dev, not prod: resume with "
        "--target dev, or run the plan afresh\n",
    )
    again = invoke(plan, "--emulate", "--target", "dev", "--resume", "dev.json")
    assert again.exit_code == 0, again.stderr
    untargeted = write_plan("version: 1\nsteps: [crawl]\n")
    assert invoke(untargeted, "--emulate").exit_code == 0
    assert json.loads(Path("fusion-run-report.json").read_text())["plan"]["target"] is None


def test_resume_without_the_report_s_target_is_refused(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps: [crawl]\n")
    assert invoke(plan, "--emulate", "--report", "none.json").exit_code == 0
    targeted = write_plan(PLAN.replace("min_documents: ${MIN_DOCS}", "min_documents: 0"))
    result = invoke(targeted, "--emulate", "--target", "dev", "--resume", "none.json", "--force")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --resume none.json: that report's run had no target, and this one has "
        "target dev: run the plan afresh\n",
    )


def test_the_resume_command_names_the_target() -> None:
    options = Options(plans=("p.yaml",), action=Action.RUN, target="prod")
    assert options.resume_command() == (
        "fusion-run p.yaml --resume fusion-run-report.json --target prod"
    )


def test_graph_of_a_report_of_another_target_names_the_target(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN.replace("min_documents: ${MIN_DOCS}", "min_documents: 0"))
    assert invoke(plan, "--emulate", "--target", "dev", "--report", "dev.json").exit_code == 0
    drawn = invoke(plan, "--graph", "mermaid", "--report", "dev.json", "--target", "prod")
    assert (drawn.exit_code, drawn.stderr) == (
        2,
        "fusion-run: --report dev.json: that report's run had target dev, not prod: draw it "
        "with --target dev\n",
    )
    again = invoke(plan, "--graph", "mermaid", "--report", "dev.json", "--target", "dev")
    assert again.exit_code == 0, again.stderr
