"""A selection previewed: --dry-run and --graph with --select, --exclude, --from and
--max-parallel show what a run with the same options would do; --dry-run --format json."""

from __future__ import annotations

import json

import jsonschema

from runner.schemas import load_schema
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan

PLAN = """\
version: 1
name: nightly
fusion:
  url: https://fusion.example.com
steps:
  - job: datasource:docs
    name: crawl-docs
    tags: [crawl]
    depends_on: []
    retries: 2
    retry_delay: 1m
    retry_on: [timeout, state]
  - job: datasource:shop
    name: crawl-shop
    tags: [crawl]
    depends_on: []
    on_running: adopt
    retry_backoff: 1
    retries: 1
  - job: aggregate
    depends_on: [crawl-docs, crawl-shop]
  - job: notify
    depends_on: [aggregate]
    run_if: at_least_one_failed
    on_running: fail
  - job: page
    depends_on: [notify]
  - job: cleanup
    depends_on: [aggregate, notify]
    run_if: all_done
"""


def dry_run(write_plan: WritePlan, *args: str) -> str:
    plan = write_plan(PLAN)
    result = invoke(plan, "--dry-run", *args)
    assert (result.exit_code, result.stderr) == (0, "")
    return result.stdout.split("\n", 1)[1]  # after the line with the plan's sha256


def test_the_dry_run_shows_every_setting_and_where_failure_handlers_run(
    write_plan: WritePlan,
) -> None:
    assert dry_run(write_plan) == (
        "fusion: https://fusion.example.com/api (from the plan); auth auto; TLS verified\n"
        "at most 4 runs at once; fail_fast off; plan timeout none\n"
        "\n"
        "steps:\n"
        "  crawl-docs (job datasource:docs)\n"
        "    waits for: nothing\n"
        "    timeout 2h; polls at most 10s apart; retries 2, 1m apart, x2 each time, after state "
        "or timeout\n"
        "    success: state in [success]\n"
        "    on_running wait: a run of its job already going is waited for, then the step starts "
        "its own\n"
        "  crawl-shop (job datasource:shop)\n"
        "    waits for: nothing\n"
        "    timeout 2h; polls at most 10s apart; retries 1, 30s apart, after state\n"
        "    success: state in [success]\n"
        "    on_running adopt: a run of its job already going is adopted as the step's run\n"
        "  aggregate\n"
        "    waits for: crawl-docs, crawl-shop; runs if all succeed\n"
        "    timeout 2h; polls at most 10s apart; retries 0\n"
        "    success: state in [finished, skipped]\n"
        "    on_running wait: a run of its job already going is waited for, then the step starts "
        "its own\n"
        "  notify\n"
        "    waits for: aggregate; runs if at least one fails\n"
        "    timeout 2h; polls at most 10s apart; retries 0\n"
        "    success: state in [finished, skipped]\n"
        "    on_running fail: a run of its job already going fails the step\n"
        "  page\n"
        "    waits for: notify; runs if all succeed\n"
        "    timeout 2h; polls at most 10s apart; retries 0\n"
        "    success: state in [finished, skipped]\n"
        "    on_running wait: a run of its job already going is waited for, then the step starts "
        "its own\n"
        "  cleanup\n"
        "    waits for: aggregate, notify; runs once all are done, however they end\n"
        "    timeout 2h; polls at most 10s apart; retries 0\n"
        "    success: state in [finished, skipped]\n"
        "    on_running wait: a run of its job already going is waited for, then the step starts "
        "its own\n"
        "\n"
        "start order, if every step succeeds:\n"
        "  1. crawl-docs, crawl-shop\n"
        "  2. aggregate\n"
        "  3. cleanup\n"
        "\n"
        "started only if a step fails (failure handlers, and the steps that wait for them):\n"
        "  notify: waits for aggregate; runs if at least one fails\n"
        "  page: waits for notify; runs if all succeed\n"
    )


def test_the_dry_run_of_a_selection_shows_the_steps_left_out(write_plan: WritePlan) -> None:
    text = dry_run(write_plan, "--select", "tag:crawl+", "--exclude", "cleanup")
    lines = text.splitlines()
    assert lines[1:3] == [
        "at most 4 runs at once; fail_fast off; plan timeout none",
        "selected: 5 of 6 steps; the others are not run, and count as succeeded for the steps "
        "after them",
    ]
    assert lines[lines.index("  cleanup") + 1] == "    not selected"
    assert text.endswith(
        "start order, if every step succeeds:\n"
        "  1. crawl-docs, crawl-shop\n"
        "  2. aggregate\n"
        "\n"
        "started only if a step fails (failure handlers, and the steps that wait for them):\n"
        "  notify: waits for aggregate; runs if at least one fails\n"
        "  page: waits for notify; runs if all succeed\n"
    )


def test_from_and_max_parallel_in_the_dry_run(write_plan: WritePlan) -> None:
    text = dry_run(write_plan, "--from", "agg*", "--max-parallel", "1")
    assert text.splitlines()[1:3] == [
        "at most 1 runs at once (--max-parallel); fail_fast off; plan timeout none",
        "selected: 4 of 6 steps; the others are not run, and count as succeeded for the steps "
        "after them",
    ]
    assert text.endswith(
        "start order, if every step succeeds:\n  1. aggregate\n  2. cleanup\n\n"
        "started only if a step fails (failure handlers, and the steps that wait for them):\n"
        "  notify: waits for aggregate; runs if at least one fails\n"
        "  page: waits for notify; runs if all succeed\n"
    )
    wide = dry_run(write_plan, "--select", "tag:crawl", "--max-parallel", "1")
    assert wide.endswith(
        "start order, if every step succeeds:\n  1. crawl-docs, crawl-shop (1 at a time)\n"
    )


def test_a_selection_of_no_step_is_refused_by_the_dry_run(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    result = invoke(plan, "--dry-run", "--select", "crwl-*")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "fusion-run: --select crwl-*: no step name matches 'crwl-*' (the closest: 'crawl-shop', "
        "'crawl-docs')\n",
    )


def test_the_dry_run_as_json(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    result = invoke(
        plan, "--dry-run", "--format", "json", "--select", "tag:crawl+", "--max-parallel", "2"
    )
    assert (result.exit_code, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    schema = jsonschema.Draft202012Validator(load_schema("dry-run.schema.json"))
    schema.validate(document)
    assert list(document) == [
        "format",
        "version",
        "plan",
        "fusion",
        "max_parallel",
        "fail_fast",
        "timeout",
        "selected",
        "steps",
        "start_order",
        "on_failure",
    ]
    assert (document["format"], document["version"]) == ("fusion-run-dry-run", 1)
    assert document["plan"]["name"] == "nightly"
    assert document["plan"]["file"] == plan
    assert len(document["plan"]["sha256"]) == 64
    assert document["fusion"] == {
        "url": "https://fusion.example.com",
        "url_source": "the plan",
        "api": "/api",
        "auth": "auto",
        "verify": True,
    }
    assert (document["max_parallel"], document["fail_fast"], document["timeout"]) == (
        2,
        False,
        None,
    )
    assert document["selected"] == [
        "crawl-docs",
        "crawl-shop",
        "aggregate",
        "notify",
        "page",
        "cleanup",
    ]
    assert document["start_order"] == [["crawl-docs", "crawl-shop"], ["aggregate"], ["cleanup"]]
    assert document["on_failure"] == ["notify", "page"]
    assert document["steps"][0] == {
        "name": "crawl-docs",
        "job": "datasource:docs",
        "selected": True,
        "checks_only": False,
        "succeeded_within": None,
        "tags": ["crawl"],
        "depends_on": [],
        "implicit_dependency": False,
        "run_if": "all_success",
        "timeout": 7200,
        "poll_interval": 10,
        "poll_auto": True,
        "retries": 2,
        "retry_delay": 60,
        "retry_backoff": 2.0,
        "retry_on": ["state", "timeout"],
        "on_running": "wait",
        "allow_failure": False,
        "success": {
            "states": ["success"],
            "max_duration": None,
            "expect": [],
            "warn": [],
            "min_documents": None,
        },
        "warn_after": None,
        "stall_after": None,
        "on_stall": "warn",
        "allowed_failures": "pass",
        "call": None,
    }
    assert [(s["name"], s["selected"], s["on_running"]) for s in document["steps"][1:4]] == [
        ("crawl-shop", True, "adopt"),
        ("aggregate", True, "wait"),
        ("notify", True, "fail"),
    ]
    none = json.loads(invoke(plan, "--dry-run", "--format", "json").stdout)
    schema.validate(none)
    assert (none["selected"], none["max_parallel"]) == (None, 4)
    text = invoke(plan, "--dry-run", "--format", "text")
    assert text.stdout.startswith("plan nightly (")


def test_the_graph_of_a_selection_labels_the_steps_left_out(write_plan: WritePlan) -> None:
    plan = write_plan(PLAN)
    result = invoke(plan, "--graph", "mermaid", "--from", "aggregate", "--max-parallel", "2")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "flowchart LR\n"
        "  %% at most 2 runs at once (--max-parallel)\n"
        '  s0["crawl-docs<br/>datasource:docs<br/>not selected"]\n'
        '  s1["crawl-shop<br/>datasource:shop<br/>not selected"]\n'
        '  s2["aggregate"]\n'
        '  s3["notify"]\n'
        '  s4["page"]\n'
        '  s5["cleanup"]\n'
        "  s0 --> s2\n"
        "  s1 --> s2\n"
        "  s2 -.->|at_least_one_failed| s3\n"
        "  s3 --> s4\n"
        "  s2 -.->|all_done| s5\n"
        "  s3 -.->|all_done| s5\n"
        "  classDef not_run fill:#e2e3e5,stroke:#6c757d\n"
        "  class s0,s1 not_run\n"
    )
    dot = invoke(plan, "--graph", "dot", "--exclude", "tag:crawl", "--max-parallel", "3").stdout
    assert dot.splitlines()[3:5] == [
        "  // at most 3 runs at once (--max-parallel)",
        '  "crawl-docs" [label="crawl-docs\\ndatasource:docs\\nnot selected", '
        'style="rounded,filled", fillcolor="#e2e3e5", color="#6c757d"];',
    ]
