"""A plan reads only the variables it declares under `variables:`, and no message quotes the value
a variable gave."""

from __future__ import annotations

import pytest

from runner.plan.problems import InvalidPlan
from runner.plan.source import parse
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan

SECRET = "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI"


def problems_of(text: str, **given: dict[str, str]) -> list[str]:
    with pytest.raises(InvalidPlan) as caught:
        parse(text, "p.yaml", **given)  # type: ignore[arg-type]
    return [str(problem) for problem in caught.value.problems]


def test_a_reference_to_a_name_not_declared_is_refused_at_its_place() -> None:
    text = "variables: {SITE: docs}\na: ${SIET}\nb: x-${REGION:-eu}\nc: ${SITE}\n"
    assert problems_of(text) == [
        "p.yaml:2:4: $.a: ${SIET} is not declared (did you mean SITE?): add SIET under variables:",
        "p.yaml:3:4: $.b: ${REGION} is not declared: add REGION under variables:",
    ]


def test_the_environment_is_read_only_for_declared_names() -> None:
    environ = {"GITHUB_TOKEN": SECRET, "SITE": "shop"}
    [problem] = problems_of("variables: {SITE: null}\nname: ${GITHUB_TOKEN}\n", environ=environ)
    assert problem == (
        "p.yaml:2:7: $.name: ${GITHUB_TOKEN} is not declared: add GITHUB_TOKEN under variables:"
    )
    doc = parse("variables: {SITE: null}\nname: ${SITE}\n", "p.yaml", environ=environ)
    assert doc.data["name"] == "shop"


def test_var_then_environment_then_declared_default_then_the_reference_default() -> None:
    text = (
        "variables:\n  A: 1\n  B: {default: 2, description: the second}\n  C: null\n  D: 4\n"
        "values:\n  - ${A}\n  - ${B}\n  - ${C:-3}\n  - ${D:-9}\n"
    )
    doc = parse(text, "p.yaml", variables={"A": "10"}, environ={"A": "20", "B": "30"})
    assert doc.data["values"] == [10, 30, 3, 4]
    assert doc.declared == {"A", "B", "C", "D"}
    assert doc.data["variables"]["B"] == {"default": 2, "description": "the second"}


def test_declarations_are_taken_as_written() -> None:
    doc = parse("variables: {A: '${B}'}\na: ${A}\n", "p.yaml")
    assert doc.data["variables"] == {"A": "${B}"}
    assert doc.data["a"] == "${B}"


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "FUSION_PASSWORD: null",
            "p.yaml:1:13: $.variables.FUSION_PASSWORD: FUSION_PASSWORD is a credential: "
            "fusion-run reads it from the environment itself, and it may not appear in a plan",
        ),
        (
            "1X: null",
            "p.yaml:1:13: $.variables[\"1X\"]: '1X' cannot name a variable: use letters, "
            "digits and '_', not starting with a digit",
        ),
    ],
)
def test_a_name_that_cannot_be_declared(declaration: str, message: str) -> None:
    assert problems_of(f"variables: {{{declaration}}}\n") == [message]


# --- no message quotes a value a variable gave ----------------------------------------------------


HOSTILE = """\
version: 1
variables: {V: null, NAME: null}
fusion:
  url: ${V}
  verify: ${V}
  auth: ${V}
max_parallel: ${V}
timeout: ${V}
steps:
  - job: spark:${V}
    name: ${NAME}
    retries: ${V}
    retry_on: ["${V}"]
    on_running: ${V}
    success:
      states: ["${V}"]
      expect: ["${V}"]
      min_documents: ${V}
  - job: ${V}
    name: ${NAME}
    depends_on: ["${V}"]
"""


@pytest.mark.parametrize(
    "value",
    [SECRET, f"https://{SECRET}.example.com:99999", ".nan", f"{SECRET}:x", "succeeded"],
    ids=["word", "url", "nan", "job", "state"],
)
def test_no_problem_quotes_the_value_of_a_variable(write_plan: WritePlan, value: str) -> None:
    plan = write_plan(HOSTILE)
    for args in (("--validate",), ("--validate", "--format", "json"), ("--dry-run",)):
        result = invoke(plan, *args, env={"V": value, "NAME": value})
        assert result.exit_code == 2
        assert "} gives a " in result.stderr + result.stdout
        assert value not in result.stderr + result.stdout, args
        assert SECRET[:8] not in result.stderr + result.stdout, args


def test_a_value_refused_is_said_by_its_reference(write_plan: WritePlan) -> None:
    plan = write_plan(
        "version: 1\nvariables: {RETRIES: null, MODE: null}\nsteps:\n  - job: a\n"
        "    retries: ${RETRIES}\n    on_running: ${MODE:-wait}\n"
    )
    result = invoke(plan, "--validate", env={"RETRIES": SECRET, "MODE": SECRET})
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        [
            "plan.yaml:5:14: $.steps[0].retries: ${RETRIES} gives a value that is not an integer: "
            "set RETRIES to an integer",
            "plan.yaml:6:17: $.steps[0].on_running: ${MODE:-wait} gives a value that is not one "
            "of: wait, adopt, fail: set MODE to one of them",
        ],
    )


def test_names_a_variable_gave_are_said_by_their_reference(write_plan: WritePlan) -> None:
    plan = write_plan(
        "version: 1\nvariables: {A: null}\nsteps:\n  - job: a\n    name: ${A}\n"
        "  - job: b\n    name: ${A}\n  - job: c\n    depends_on: ['${A}-x']\n"
    )
    result = invoke(plan, "--validate", env={"A": SECRET})
    assert result.stderr.splitlines() == [
        "plan.yaml:7:11: $.steps[1].name: duplicate step name ${A} (first at line 5): give one "
        "of them a distinct 'name:'",
        "plan.yaml:9:18: $.steps[2].depends_on[0]: unknown step ${A}-x",
    ]


def test_a_var_given_twice_is_refused_without_its_values(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nvariables: {A: null}\nsteps: [a]\n")
    result = invoke(plan, "--dry-run", "--var", f"A={SECRET}", "--var", "A=other")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --var A is given twice: give it once\n",
    )
