"""`for_each` and `templates:`/`extends:`: a step written once, settings written once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from runner.engine.carry import plan_result
from runner.plan import RunIf
from runner.plan.expand import MAX_FROM_ONE
from runner.plan.loader import load_plan, validate_file
from runner.plan.problems import InvalidPlan
from runner.plan.variables import interpolate
from runner.report.journal import read_report
from runner.result import PlanResult
from runner.schemas import load_schema
from tests.helpers.cli import invoke
from tests.helpers.paths import ROOT, WritePlan

CRAWLS = """\
version: 1
steps:
  - setup
  - name: crawl
    job: datasource:${{ item }}
    for_each: [products, articles, faq]
    success:
      expect: ["'${{ item }}' != 'x'"]
  - aggregate
  - job: report
    depends_on: [crawl]
"""


def problems(write_plan: WritePlan, text: str) -> list[str]:
    with pytest.raises(InvalidPlan) as raised:
        load_plan(write_plan(text))
    return [str(problem) for problem in raised.value.problems]


def test_a_list_of_values_makes_one_step_each_named_after_its_value(
    write_plan: WritePlan,
) -> None:
    plan = load_plan(write_plan(CRAWLS))
    by_name = {step.name: step for step in plan.steps}
    assert list(by_name) == [
        "setup",
        *("crawl-products", "crawl-articles", "crawl-faq"),
        "aggregate",
        "report",
    ]
    assert by_name["crawl-articles"].job == "datasource:articles"
    assert by_name["crawl-articles"].success.expect == ("'articles' != 'x'",)
    # side by side after the step listed before, and the step listed after waits for them all
    assert {by_name[f"crawl-{v}"].depends_on for v in ("products", "articles", "faq")} == {
        ("setup",)
    }
    fan_in = ("crawl-products", "crawl-articles", "crawl-faq")
    assert by_name["aggregate"].depends_on == fan_in
    assert by_name["report"].depends_on == fan_in  # depends_on: [crawl] names them all
    assert {by_name["crawl-faq"].line, by_name["crawl-faq"].column} == {4, 5}


def test_a_matrix_takes_every_combination_in_the_order_written(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan(
            """\
version: 1
steps:
  - name: train
    job: "spark:train-${{ item.site }}-${{ item.env }}"
    depends_on: []
    for_each: {site: [shop, docs], env: [dev, prod]}
"""
        )
    )
    assert [(s.name, s.job) for s in plan.steps] == [
        ("train-shop-dev", "spark:train-shop-dev"),
        ("train-shop-prod", "spark:train-shop-prod"),
        ("train-docs-dev", "spark:train-docs-dev"),
        ("train-docs-prod", "spark:train-docs-prod"),
    ]


def test_mapping_values_and_a_placeholder_alone_keeps_the_value_as_written(
    write_plan: WritePlan,
) -> None:
    plan = load_plan(
        write_plan(
            """\
version: 1
steps:
  - name: crawl
    job: datasource:${{ item.id }}
    retries: ${{ item.retries }}
    for_each:
      - {id: web, retries: 2}
      - {id: wiki, retries: 0}
"""
        )
    )
    assert [(s.name, s.job, s.retries) for s in plan.steps] == [
        ("crawl-web-2", "datasource:web", 2),
        ("crawl-wiki-0", "datasource:wiki", 0),
    ]


def test_a_step_with_no_name_is_named_by_its_job(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan("version: 1\nsteps:\n  - job: datasource:${{ item }}\n    for_each: [a, b]\n")
    )
    assert [s.name for s in plan.steps] == ["datasource:a", "datasource:b"]


def test_validate_counts_the_steps_for_each_made(write_plan: WritePlan) -> None:
    checked = validate_file(write_plan(CRAWLS))
    assert (checked.steps, checked.from_for_each) == (6, 3)
    result = invoke("plan.yaml", "--validate")
    assert result.stderr == "plan.yaml: valid, 6 step(s) (3 from for_each)\n"
    write_plan("version: 1\nsteps:\n  - a\n")
    assert invoke("plan.yaml", "--validate").stderr == "plan.yaml: valid, 1 step(s)\n"


def test_dry_run_and_graph_show_each_expanded_step(write_plan: WritePlan) -> None:
    write_plan(CRAWLS)
    dry_run = invoke("plan.yaml", "--dry-run").stdout
    assert (
        "  crawl-faq (job datasource:faq)\n    waits for: setup; runs if all succeed\n" in dry_run
    )
    assert "  2. crawl-products, crawl-articles, crawl-faq\n" in dry_run
    graph = invoke("plan.yaml", "--graph", "mermaid").stdout
    assert 's3["crawl-faq<br/>datasource:faq"]' in graph
    assert "  s3 --> s4\n" in graph


def test_placeholders_are_left_to_for_each_by_variables() -> None:
    resolved = interpolate("a-${{ item }}-${X}", ({"X": "x"},), declared=frozenset({"X"}))
    assert (resolved.text, resolved.problems) == ("a-${{ item }}-x", [])


def test_a_placeholder_where_no_for_each_gives_it_a_value(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        """\
version: 1
defaults:
  timeout: ${{ item }}
steps:
  - name: x-${{ item }}
    job: a
  - job: b
    for_each: ["${{ item }}"]
""",
    ) == [
        "plan.yaml:3:12: $.defaults.timeout: ${{ item }} is a for_each placeholder, "
        "which only a step's values may hold: remove it",
        "plan.yaml:5:11: $.steps[0].name: ${{ item }} is a for_each placeholder, "
        "and this step has no for_each: add one, or remove it",
        "plan.yaml:8:16: $.steps[1].for_each[0]: ${{ item }} is a for_each placeholder, "
        "and for_each's own values are not replaced",
    ]


def test_a_placeholder_that_names_no_value(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        """\
version: 1
steps:
  - job: a-${{ item.site }}
    for_each: [x]
    success: {expect: ["${{ items }}"]}
  - job: b-${{ item }}
    for_each: {site: [x]}
  - job: c-${{ item.sit }}
    for_each: [{site: x, env: z}]
""",
    ) == [
        "plan.yaml:3:10: $.steps[0].job: ${{ item.site }}: the for_each values are single "
        "values: write ${{ item }}",
        "plan.yaml:5:24: $.steps[0].success.expect[0]: ${{ items }} is not a for_each "
        "placeholder: write ${{ item }}, or ${{ item.KEY }} for a mapping or a matrix",
        "plan.yaml:6:10: $.steps[1].job: ${{ item }}: the for_each values are mappings: "
        "write ${{ item.KEY }} with KEY one of site",
        "plan.yaml:8:10: $.steps[2].job: ${{ item.sit }}: a for_each value has no key 'sit' "
        "(did you mean 'site'?); it has site, env",
    ]


def test_a_for_each_of_the_wrong_shape(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        """\
version: 1
steps:
  - job: a
    for_each: []
  - job: b
    for_each: {x: [1, [2]], y: 3}
  - job: c
    for_each: text
  - job: d
    for_each: [{}, null]
""",
    ) == [
        "plan.yaml:4:15: $.steps[0].for_each: for_each is empty: list one value or more",
        "plan.yaml:6:23: $.steps[1].for_each.x[1]: "
        "a for_each value must be a string, a number or true/false",
        "plan.yaml:6:32: $.steps[1].for_each.y: a matrix key takes a list of one value or more",
        "plan.yaml:8:15: $.steps[2].for_each: for_each takes a list of values, a list of "
        "mappings, or a mapping of lists (a matrix), e.g. for_each: [products, articles]",
        "plan.yaml:10:16: $.steps[3].for_each[0]: an empty mapping: give it keys",
        "plan.yaml:10:20: $.steps[3].for_each[1]: "
        "a for_each value must be a string, a number or true/false",
    ]


def test_an_expansion_is_bounded(write_plan: WritePlan) -> None:
    values = ", ".join(str(i) for i in range(40))
    assert problems(
        write_plan,
        f"version: 1\nsteps:\n  - job: a-${{{{ item.x }}}}\n"
        f"    for_each: {{x: [{values}], y: [{values}]}}\n",
    ) == [
        f"plan.yaml:4:15: $.steps[0].for_each: for_each would make 1600 steps, more than the "
        f"{MAX_FROM_ONE} one step may make: list fewer values, or split it into several steps"
    ]


def test_a_problem_in_expanded_steps_is_said_once_at_the_for_each_step(
    write_plan: WritePlan,
) -> None:
    assert problems(
        write_plan,
        """\
version: 1
steps:
  - name: crawl
    job: datasource:${{ item }}
    for_each: [products, "", faq, x]
    timout: 1h
  - job: agg
    depends_on: [crawl-fax]
  - name: crawl-x
    job: x
""",
    ) == [
        "plan.yaml:4:10: $.steps[0].job: for_each step 'crawl-': 'datasource:' has no job id "
        "after its type: write datasource:<id>",
        "plan.yaml:6:5: $.steps[0].timout: for_each steps 'crawl-products', 'crawl-', "
        "'crawl-faq' and 1 more: unknown key 'timout' (did you mean 'timeout'?)",
        "plan.yaml:8:18: $.steps[1].depends_on[0]: unknown step 'crawl-fax' "
        "(did you mean 'crawl-faq'?)",
        "plan.yaml:9:11: $.steps[2].name: duplicate step name 'crawl-x' (first at line 3): "
        "give one of them a distinct 'name:'",
    ]


def test_a_for_each_name_is_one_no_other_step_may_have(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        "version: 1\nsteps:\n  - name: crawl\n    job: a-${{ item }}\n    for_each: [x]\n"
        "  - name: crawl\n    job: b\n",
    ) == [
        "plan.yaml:6:11: $.steps[1].name: duplicate step name 'crawl' (first at line 3): "
        "give one of them a distinct 'name:'"
    ]


def test_a_step_after_a_for_each_with_the_name_of_one_of_its_steps_is_a_duplicate_alone(
    write_plan: WritePlan,
) -> None:
    assert problems(
        write_plan,
        "version: 1\nsteps:\n  - name: crawl\n    job: a-${{ item }}\n    for_each: [x, z]\n"
        "  - name: crawl-x\n    job: b\n",
    ) == [
        "plan.yaml:6:11: $.steps[1].name: duplicate step name 'crawl-x' (first at line 3): "
        "give one of them a distinct 'name:'"
    ]


# --- templates: and extends: ---------------------------------------------------------------------

TEMPLATES = """\
version: 1
templates:
  crawl: {timeout: 1h, retries: 2, run_if: all_done, success: {states: [success, failed]}}
  slow: {timeout: 3h, success: {max_duration: 2h}}
defaults:
  retries: 1
  poll_interval: 5s
  success: {expect: ["a"]}
steps:
  - job: datasource:a
    extends: crawl
  - job: datasource:b
    extends: [crawl, slow]
    retries: 4
  - require: {job: datasource:c, succeeded_within: 1d}
    extends: crawl
  - job: spark:d
"""


def test_a_setting_resolves_from_the_step_its_templates_defaults_then_built_in(
    write_plan: WritePlan,
) -> None:
    a, b, gate, d = load_plan(write_plan(TEMPLATES)).steps
    assert (a.timeout, a.retries, a.poll_interval, a.run_if) == (3600, 2, 5, RunIf.ALL_DONE)
    assert (a.success.states, a.success.expect, a.success.max_duration) == (
        ("success", "failed"),
        ("a",),
        None,
    )
    # the last template named wins over the one before it; the step's own over both
    assert (b.timeout, b.retries, b.success.max_duration) == (10800, 4, 7200)
    assert b.success.states == ("success", "failed")
    # a check takes run_if, allow_failure and success.states, as from defaults
    assert (gate.run_if, gate.success.states, gate.retries) == (
        RunIf.ALL_DONE,
        ("success", "failed"),
        0,
    )
    assert (d.timeout, d.retries, d.run_if) == (7200, 1, RunIf.ALL_SUCCESS)


def test_an_unknown_template(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        TEMPLATES.replace(
            "extends: crawl\n  - job: datasource:b", "extends: crwal\n  - job: x"
        ).replace("[crawl, slow]", "[slow, nope]"),
    ) == [
        "plan.yaml:11:14: $.steps[0].extends: unknown template 'crwal' (did you mean 'crawl'?)",
        "plan.yaml:13:21: $.steps[1].extends[1]: unknown template 'nope' "
        "(expected one of: crawl, slow)",
    ]
    assert problems(write_plan, "version: 1\nsteps:\n  - job: a\n    extends: crawl\n") == [
        "plan.yaml:4:14: $.steps[0].extends: unknown template 'crawl': define it under 'templates:'"
    ]


def test_a_template_state_the_job_never_ends_in(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        "version: 1\ntemplates:\n  t: {success: {states: [finished]}}\n"
        "steps:\n  - job: datasource:a\n    extends: t\n",
    ) == [
        "plan.yaml:3:26: $.templates.t.success.states[0]: a datasource job never ends "
        "'finished': it ends success, failed, aborted (step 'datasource:a' takes it from "
        "template 't')"
    ]


def test_for_each_and_templates_together(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan(
            """\
version: 1
templates:
  small: {retries: 1}
  big: {retries: 3}
steps:
  - name: crawl
    job: datasource:${{ item.id }}
    extends: ${{ item.size }}
    for_each: [{id: a, size: small}, {id: b, size: big}]
"""
        )
    )
    assert [(s.name, s.retries) for s in plan.steps] == [("crawl-a-small", 1), ("crawl-b-big", 3)]


# --- where a step came from, in the plan and its report ------------------------------------------


def test_each_step_a_for_each_made_names_it_in_the_plan_and_the_report(
    write_plan: WritePlan,
) -> None:
    plan = load_plan(write_plan(CRAWLS))
    assert {step.name: step.for_each for step in plan.steps} == {
        "setup": None,
        "crawl-products": "crawl",
        "crawl-articles": "crawl",
        "crawl-faq": "crawl",
        "aggregate": None,
        "report": None,
    }
    result = plan_result(plan, "http://f", datetime(2026, 1, 1, tzinfo=UTC), None)
    records = result.to_dict()["steps"]
    assert [record["for_each"] for record in records] == [None, *["crawl"] * 3, None, None]
    schema = load_schema("report.schema.json")
    Draft202012Validator(schema).validate(result.to_dict())
    assert [s.for_each for s in PlanResult.from_dict(result.to_dict()).steps] == [
        step.for_each for step in plan.steps
    ]
    unnamed = "version: 1\nsteps:\n  - job: datasource:${{ item }}\n    for_each: [a]\n"
    assert load_plan(write_plan(unnamed)).steps[0].for_each == "datasource:${{ item }}"


def test_a_report_of_format_4_had_no_for_each() -> None:
    earlier = read_report(str(ROOT / "tests" / "fixtures" / "report-4" / "run-if.json"), "report")
    assert {step["for_each"] for step in earlier["steps"]} == {None}


def test_a_value_listed_twice_would_name_two_steps_alike(write_plan: WritePlan) -> None:
    assert problems(
        write_plan,
        """\
version: 1
steps:
  - job: a-${{ item }}
    for_each: [x, w, x]
  - job: b-${{ item.k }}
    for_each: {k: [1, 2, 1]}
  - job: c-${{ item.k }}
    for_each: [{k: 1}, {k: 1}]
""",
    ) == [
        "plan.yaml:4:22: $.steps[0].for_each[2]: the same value as at line 4, column 16: "
        "two steps would have one name; list each value once",
        "plan.yaml:6:26: $.steps[1].for_each.k[2]: the same value as at line 6, column 20: "
        "two steps would have one name; list each value once",
        "plan.yaml:8:24: $.steps[2].for_each[1]: the same value as at line 8, column 16: "
        "two steps would have one name; list each value once",
    ]


def test_a_value_whose_variable_is_not_set_here_is_checked_when_the_plan_runs(
    write_plan: WritePlan,
) -> None:
    text = (
        "version: 1\nvariables: {SITE: null}\nsteps:\n  - name: s\n    job: j-${{ item }}\n"
        "    for_each: [a, '${SITE}']\n"
    )
    checked = validate_file(write_plan(text))
    assert (checked.steps, checked.from_for_each) == (2, 2)
    assert [str(note) for note in checked.notes] == [
        "plan.yaml:6:19: $.steps[0].for_each[1]: ${SITE} is not set here: "
        "its value is checked when the plan runs"
    ]
    plan = load_plan(write_plan(text), variables={"SITE": "docs"})
    assert [(s.name, s.job) for s in plan.steps] == [("s-a", "j-a"), ("s-docs", "j-docs")]


def test_every_for_each_of_a_plan_together_is_bounded(
    write_plan: WritePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runner.plan.expand.MAX_FROM_ALL", 5)
    assert problems(
        write_plan,
        "version: 1\nsteps:\n  - job: a-${{ item }}\n    for_each: [1, 2, 3]\n"
        "  - job: b-${{ item }}\n    for_each: [1, 2, 3]\n",
    ) == [
        "plan.yaml:6:15: $.steps[1].for_each: the for_each steps would make more than 5 steps "
        "in all: list fewer values"
    ]


def test_a_for_each_refused_is_said_with_every_other_problem_of_the_plan(
    write_plan: WritePlan,
) -> None:
    assert problems(
        write_plan,
        """\
version: 1
max_paralel: 2
steps:
  - name: crawl
    job: datasource:${{ item }}
    for_each: []
    timout: 1h
  - job: b-${{ item.k }}
    for_each: [x]
  - job: agg
    depends_on: [crawl, trian]
""",
    ) == [
        "plan.yaml:2:1: $.max_paralel: unknown key 'max_paralel' (did you mean 'max_parallel'?)",
        "plan.yaml:6:15: $.steps[0].for_each: for_each is empty: list one value or more",
        "plan.yaml:8:10: $.steps[1].job: ${{ item.k }}: the for_each values are single values: "
        "write ${{ item }}",
        "plan.yaml:11:25: $.steps[2].depends_on[1]: unknown step 'trian'",
    ]
