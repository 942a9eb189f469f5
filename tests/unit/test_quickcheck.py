"""`runner.plan.quickcheck` says a document fits only when jsonschema finds nothing wrong with it.

It must know every keyword the schemas use (or it could pass what a keyword refuses), agree with
the validator of `runner.plan.keywords` on documents near validity, prove the plans people write (or
it saves nothing), and spare a valid plan's --validate the import of jsonschema. The property tests
at full breadth, and the runs of --validate in a process, are in tests/process/test_quickcheck.py.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.cli import validate_only
from runner.commands.options import Action, Options
from runner.plan import quickcheck
from runner.plan import values as values_module
from runner.plan.expand import expand
from runner.plan.problems import InvalidPlan
from runner.plan.quickcheck import fits
from runner.plan.source import parse
from runner.plan.variables import Unset
from runner.schemas import checking_schema, load_schema
from tests.helpers.documents import (
    PLAN,
    SCENARIO,
    SCHEMAS,
    VALIDATORS,
    Count,
    proven,
)
from tests.helpers.paths import EXAMPLES, ROOT


def checked_schemas() -> Iterator[str]:
    """The name given to each call of `schema_problems` in runner/: each a literal."""
    for path in sorted((ROOT / "runner").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "schema_problems":
                name = node.args[1] if len(node.args) > 1 else None
                assert isinstance(name, ast.Constant), f"{path}:{node.lineno}: name the schema"
                yield str(name.value)


# The schemas not checked through `schema_problems`, so never through quickcheck, and why.
NOT_QUICKCHECKED = {
    "report.schema.json": "the report's journal reads reports with jsonschema itself",
    "report-2.schema.json": "the same, for reports of the formats before",
    "report-3.schema.json": "the same",
    "report-4.schema.json": "the same",
    "events.schema.json": "fusion-run writes these lines and reads none: the tests validate them",
    "dry-run.schema.json": "fusion-run writes this document and reads none: the tests validate it",
    "check.schema.json": "the same",
}


def test_the_schemas_checked_are_these() -> None:
    assert set(checked_schemas()) == set(SCHEMAS)
    published = {path.name for path in (ROOT / "schemas").glob("*.json")}
    assert published == set(SCHEMAS) | set(NOT_QUICKCHECKED), "a new schema: which is it?"


# --- the keywords --------------------------------------------------------------------------------

SCHEMA_MAPS = {"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"}
NO_SCHEMA = {"enum", "const", "default", "examples", "required", "type"}  # values, not schemas


def subschemas(schema: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    """Every schema in `schema`, itself first: under applicators, in lists, in named maps."""
    yield where, schema
    if not isinstance(schema, dict):
        return
    for keyword, value in schema.items():
        if keyword in NO_SCHEMA:
            continue
        if keyword in SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield from subschemas(sub, f"{where}/{keyword}/{name}")
        elif isinstance(value, dict):
            yield from subschemas(value, f"{where}/{keyword}")
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                if isinstance(sub, dict | bool):
                    yield from subschemas(sub, f"{where}/{keyword}/{index}")


def keywords_used(schema: Any) -> dict[str, str]:
    """Each keyword of `schema` and its subschemas, with one place it is used."""
    used: dict[str, str] = {}
    for where, sub in subschemas(schema):
        if isinstance(sub, dict):
            for keyword in sub:
                used.setdefault(keyword, f"{where}/{keyword}")
    return used


ALL_SCHEMAS = [load_schema(name) for name in SCHEMAS] + [checking_schema(n) for n in SCHEMAS]


def test_quickcheck_knows_every_keyword_the_schemas_use() -> None:
    known = quickcheck.KEYWORDS | quickcheck.ANNOTATIONS
    for name, schema in zip(SCHEMAS * 2, ALL_SCHEMAS, strict=True):
        unknown = {k: at for k, at in keywords_used(schema).items() if k not in known}
        assert not unknown, f"{name} uses keywords runner.plan.quickcheck does not know: {unknown}"
        for where, sub in subschemas(schema):
            if where != "#" and isinstance(sub, dict):
                assert not {"$id", "$schema"} & set(sub), f"{name} {where}: a schema of its own"


def test_quickcheck_knows_only_keywords_the_schemas_use() -> None:
    used = {keyword for schema in ALL_SCHEMAS for keyword in keywords_used(schema)}
    assert used == quickcheck.KEYWORDS | quickcheck.ANNOTATIONS
    assert set(quickcheck._CHECKS) == quickcheck.KEYWORDS
    assert not quickcheck.KEYWORDS & quickcheck.ANNOTATIONS


def test_the_walk_finds_keywords_at_any_depth_and_only_keywords() -> None:
    schema = {
        "$defs": {"a": {"items": {"anyOf": [True, {"not": {"enum": [{"maximum": 1}]}}]}}},
        "properties": {"minimum": {"oneOf": []}},  # a property named as a keyword is a name
    }
    used = {"$defs", "items", "anyOf", "not", "enum", "properties", "oneOf"}
    assert set(keywords_used(schema)) == used


def test_a_keyword_it_does_not_know_is_not_proven() -> None:
    assert fits(2, {"type": "integer"})
    assert not fits(2, {"type": "integer", "multipleOf": 3})
    assert not fits({"a": 2}, {"properties": {"a": {"not": {"const": 2}}}})


# --- the same answer as jsonschema ---------------------------------------------------------------


# Where jsonschema's answer rests on a rule quickcheck does not follow, it is not sure; some of
# these are valid (1.0 equals 1 in JSON Schema), some not (a tuple is no array), all are rare.
UNSURE = [
    ({"version": 1.0, "steps": ["a"]}, True),
    ({"version": 1, "steps": [Unset("${JOB}")]}, True),
    ({"version": 1, "steps": ["a"], "max_parallel": Count(2)}, True),
    ({"version": 1, "steps": ["a"], "defaults": {"retry_backoff": math.nan}}, True),
    ({"version": 1, "steps": [{"job": "a", "depends_on": ["b", "b"]}, "b"]}, False),
    ({"version": 1, "steps": [{"job": "a", "success": {"states": ["error", 1]}}]}, False),
    ({"version": 1, "steps": ["a"], 1: "x"}, False),
    ({"version": 1, "steps": ("a",)}, False),
    ({"version": 1, "steps": ["a"], "timeout": math.inf}, False),
]


@pytest.mark.parametrize(("document", "valid"), UNSURE, ids=lambda x: str(x)[:50])
def test_where_json_schema_and_python_part_quickcheck_is_unsure(document: Any, valid: bool) -> None:
    assert not fits(document, checking_schema(PLAN))
    assert (not list(VALIDATORS[PLAN].iter_errors(document))) is valid


def test_where_json_schema_counts_1_0_as_1_in_a_scenario_quickcheck_is_unsure() -> None:
    document: Any = {"version": 1, "jobs": {"a": {"faults": [{"on": "start", "answer": 500.0}]}}}
    assert not list(VALIDATORS[SCENARIO].iter_errors(document))
    assert not fits(document, checking_schema(SCENARIO))


# --- what it proves ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [(p, PLAN) for p in sorted(EXAMPLES.glob("*.yaml"))]
    + [(p, SCENARIO) for p in sorted((EXAMPLES / "scenarios").glob("*.yaml"))],
    ids=lambda x: x.name if isinstance(x, Path) else "",
)
def test_every_example_is_proven_valid(path: Path, name: str) -> None:
    doc = parse(path.read_text(encoding="utf-8"), str(path), environ={})
    assert proven(expand(doc).doc.data if name == PLAN else doc.data, name)  # as validate does


def plan_texts() -> Iterator[tuple[str, str]]:
    """The plans the tests write out, with where: every string constant that looks like one."""
    for path in sorted([*ROOT.glob("tests/*.py"), *ROOT.glob("tests/*/test_*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            text = node.value
            if re.search(r"^version: 1$", text, re.M) and "steps" in text:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", text


PLAN_TEXTS = dict(plan_texts())


def test_every_valid_plan_the_tests_write_is_proven_valid() -> None:
    checked = 0
    for where, text in PLAN_TEXTS.items():
        try:
            doc = parse(text, "plan.yaml", environ={}, unset_allowed=True)
        except InvalidPlan:
            continue
        valid = not list(VALIDATORS[PLAN].iter_errors(doc.data))
        if valid and not doc.unset:  # a value not known yet is for jsonschema to judge
            assert proven(doc.data, PLAN), where
            checked += 1
        else:
            proven(doc.data, PLAN)
    assert checked >= 30


# --- what it spares: the command line without click (tests/process/test_quickcheck.py runs it) ---


def test_any_other_command_line_goes_to_click() -> None:
    assert validate_only(["p.yaml", "--validate"], {}) == Options(
        plans=("p.yaml",), action=Action.VALIDATE
    )
    for args in (
        ["p.yaml"],
        ["--validate"],
        ["p.yaml", "--validate", "--format", "json"],
        ["p.yaml", "--validate", "-q"],
        ["-p.yaml", "--validate"],
        ["", "--validate"],
        ["p.yaml", "--validate", "--help"],
        ["p.yaml", "--validate=1"],
    ):
        assert validate_only(args, {}) is None, args
    assert validate_only(["p.yaml", "--validate"], {"_FUSION_RUN_COMPLETE": "bash_source"}) is None


# --- expressions known valid without jmespath ----------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        ".".join(["a"] * 42),
        "a >",
        "a[0]",
        "a | b",
        '"a\\"b"',
        "a == `1e3`",
        " a",
        "a.b ",
        "`0`",
        "ratio(a)",
        "ratio(a, b, c)",
        "rati(a, b)",
        f"ratio({'.'.join(['a'] * 20)}, b)",
    ],
)
def test_other_expressions_are_left_to_jmespath(expression: str) -> None:
    assert not values_module._SIMPLE.fullmatch(expression)
