"""`runner.plan.quickcheck` says a document fits only when jsonschema finds nothing wrong with it.

It must know every keyword the schemas use (or it could pass what a keyword refuses), agree with
the validator of `runner.plan.keywords` on documents near validity, prove the plans people write (or
it saves nothing), and spare a valid plan's --validate the import of jsonschema.
"""

from __future__ import annotations

import ast
import copy
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions
import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from runner.cli import validate_only
from runner.commands.options import Action, Options
from runner.durations import exceeds, parse_duration
from runner.plan import quickcheck
from runner.plan import values as values_module
from runner.plan.keywords import validator_class
from runner.plan.problems import InvalidPlan
from runner.plan.quickcheck import fits
from runner.plan.source import parse
from runner.plan.values import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    expression_problem,
    nesting,
)
from runner.plan.variables import Unset
from runner.schemas import checking_schema, load_schema
from tests.helpers.paths import EXAMPLES, ROOT
from tests.process.test_hostile import EXAMPLE_DATA, KEYS, mutate, values

PLAN, SCENARIO = "plan.schema.json", "scenario.schema.json"
SCHEMAS = [PLAN, SCENARIO]


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
    "report.schema.json": "runner.report.journal reads reports with jsonschema itself"
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

VALIDATORS = {name: validator_class()(checking_schema(name)) for name in SCHEMAS}


def proven(document: Any, name: str) -> bool:
    """Whether quickcheck proves `document` valid; if it does, jsonschema must find nothing."""
    if not fits(document, checking_schema(name)):
        return False
    errors = [error.message for error in VALIDATORS[name].iter_errors(document)]
    assert not errors, f"proven valid, but jsonschema finds: {errors}"
    return True


def compared(document: Any, name: str) -> None:
    """`proven`, counted: `pytest --hypothesis-show-statistics` shows how often it proves."""
    event("proven" if proven(document, name) else "not proven")


class Count(int):
    pass


# Values where Python and JSON Schema may part: the types JSON has not, numbers that are equal
# across types, bounds and their neighbours, strings each pattern takes or nearly takes.
ODD: list[Any] = [
    *(None, True, False, 0, 1, -1, 2, 4, 1.0, 1.5, 60.0, -0.0, 2**64, 1e300, 10, 11, 100, 101),
    *(10000, 10001, 31536000, 31536001, 429, 500.0, math.inf, -math.inf, math.nan, Count(1)),
    *(Decimal(1), 1j, b"x", (1,), {1, 2}, frozenset(), object()),
    *("", " ", "a", " a", "a ", "a\n", "x y", "1", "0", "00", "0s", "1h", "90s", "1h30m"),
    *("365d", "365d1s", "366d", "8761h", "31536001s", "9" * 30 + "d", "5 min", "\u0661h"),
    *("http://h", "https://h:1/p"),
    *("http://u:p@h", "http://h?q", "/api", "/api/", "api", "all_done", "finished", "FINISHED"),
    *("state", "spark:a", "datasource:d", "task:t", "..", "${X}", "$${X}", "reset", "500"),
    *(Unset("${X}"), Unset("1h"), Unset("finished"), [], {}, ["a"], ["a", "a"], [1, 1.0]),
    *([True, 1], ["a", Unset("a")], {"x": 1}, {1: "a"}, {"job": "a"}, {"on": "start"}),
]
odd = st.sampled_from(ODD)
TEXTS = [value for value in ODD if isinstance(value, str)]


def _resolve(reference: str, root: dict[str, Any]) -> Any:
    target: Any = root
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    return target


class Fault:
    """Where the document being drawn goes wrong: at its `at`-th chance (of those that `near`
    gives as it draws), or nowhere. One fault at most, anywhere alike: where quickcheck would
    let it through, jsonschema alone finds it."""

    at = -1
    chances = 0

    @classmethod
    def here(cls) -> bool:
        cls.chances += 1
        return cls.chances - 1 == cls.at


@st.composite
def near_document(draw: st.DrawFn, name: str) -> tuple[str, Any]:
    Fault.at, Fault.chances = draw(st.integers(-1, 59)), 0
    return name, draw(near(checking_schema(name), checking_schema(name)))


_NEAR: dict[tuple[int, int], st.SearchStrategy[Any]] = {}


def near(schema: Any, root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values for `schema`, but for the fault: a bound crossed, an item repeated or missing, a
    key too many or too few, a text a pattern nearly takes, or an odd value. Built once for each
    part of a schema (`checking_schema` keeps them), not at each draw: where the fault goes is
    decided as the document is drawn."""
    key = (id(schema), id(root))
    if key not in _NEAR:
        _NEAR[key] = _near(schema, root)
    return _NEAR[key]


def _near(schema: Any, root: dict[str, Any]) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict):
        return odd | values
    if "$ref" in schema:
        return near(_resolve(schema["$ref"], root), root)
    fitting = [near(branch, root) for branch in schema.get("anyOf", [])]
    if "enum" in schema:
        fitting.append(st.sampled_from(schema["enum"]))
    if "const" in schema:
        fitting.append(st.just(schema["const"]))
    types = schema.get("type", [])
    for kind in types if isinstance(types, list) else [types]:
        fitting.append(_typed(kind, schema, root))
    return _off(st.one_of(fitting) if fitting else odd | values, odd | values)


@st.composite
def _off(draw: st.DrawFn, usual: st.SearchStrategy[Any], off: st.SearchStrategy[Any]) -> Any:
    return draw(off if Fault.here() else usual)


def _typed(kind: str, schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "object":
        return _mapping(schema, root)
    if kind == "array":
        items, least = near(schema.get("items", True), root), schema.get("minItems", 0)
        usual = st.lists(items, min_size=least, max_size=4, unique_by=repr)
        short = st.lists(items, min_size=max(least - 1, 0), max_size=max(least - 1, 0))
        return _off(usual, short | usual.filter(bool).map(lambda some: [*some, some[0]]))
    if kind == "string":
        pattern, limit = schema.get("pattern", ""), schema.get("maxDuration")
        text = st.from_regex(pattern) if pattern else st.text(min_size=schema.get("minLength", 0))
        if limit:
            text = text.filter(lambda t: not exceeds(t, parse_duration(limit)))
        fitting = [t for t in TEXTS if _fits_text(t, pattern, limit)]
        nearly = [t for t in TEXTS if re.search(pattern, t) and t not in fitting] or TEXTS
        return _off(text | st.sampled_from(fitting), st.sampled_from(nearly) | odd)
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", -(2**40)), schema.get("maximum", 2**40)
        numbers: st.SearchStrategy[Any] = st.integers(low, high) | st.sampled_from([low, high])
        if kind == "number":
            numbers |= st.floats(low, high)
        return _off(numbers, st.sampled_from([low - 1, high + 1, high + 0.5, float(low)]))
    return st.booleans() if kind == "boolean" else st.none()


def _fits_text(text: str, pattern: str, limit: str | None) -> bool:
    return bool(re.search(pattern, text)) and not (limit and exceeds(text, parse_duration(limit)))


@st.composite
def _mapping(draw: st.DrawFn, schema: dict[str, Any], root: dict[str, Any]) -> dict[Any, Any]:
    named: dict[str, Any] = schema.get("properties", {})
    required = [key for key in schema.get("required", []) if key in named]
    out: dict[Any, Any] = draw(
        st.fixed_dictionaries(
            {key: near(named[key], root) for key in required},
            optional={key: near(rule, root) for key, rule in named.items() if key not in required},
        )
    )
    more = schema.get("additionalProperties", True)
    if isinstance(more, dict):
        out.update(draw(st.dictionaries(st.text(max_size=6), near(more, root), max_size=3)))
    if Fault.here():  # a key too many, or one too few
        drop: bool = draw(st.booleans())
        if out and drop:
            del out[draw(st.sampled_from(sorted(out, key=str)))]
        else:
            out[draw(st.sampled_from([*KEYS, "x", 1]))] = draw(odd)
    return out


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@settings(SETTINGS, max_examples=800)
@given(st.sampled_from(SCHEMAS).flatmap(near_document))
@example((PLAN, {"version": 1.0, "steps": ["a"]}))
@example((PLAN, {"version": True, "steps": ["a"]}))
@example((PLAN, {"version": 1, "steps": [{"job": "a", "depends_on": ["b", "b"]}, "b"]}))
@example((PLAN, {"version": 1, "steps": ["a"], "max_parallel": 2.0}))
@example((PLAN, {"version": 1, "steps": ["0", {"job": "a", "depends_on": [], "retries": -1}]}))
@example((PLAN, {"version": 1, "steps": ["a"], "max_parallel": 0}))
@example((SCENARIO, {"version": 1, "jobs": {"a": {"faults": [{"on": "start", "answer": 500.0}]}}}))
def test_documents_near_each_schema(named: tuple[str, Any]) -> None:
    name, document = named
    compared(document, name)


SCENARIO_DATA = [
    yaml.safe_load(path.read_text(encoding="utf-8"))
    for path in sorted((EXAMPLES / "scenarios").glob("*.yaml"))
]


@SETTINGS
@given(st.data())
def test_mutated_examples(data: st.DataObject) -> None:
    name, pool = data.draw(st.sampled_from([(PLAN, EXAMPLE_DATA), (SCENARIO, SCENARIO_DATA)]))
    document = copy.deepcopy(data.draw(st.sampled_from(pool)))
    for _ in range(data.draw(st.integers(1, 3))):
        if isinstance(document, dict | list) and document and data.draw(st.booleans()):
            document = mutate(document, data.draw)
        else:
            document = _replace(document, data.draw(odd), data.draw)
    compared(document, name)


def _replace(document: Any, value: Any, draw: Any) -> Any:
    """`document` with one value, anywhere, replaced by `value`."""
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            places.append((node, key))
            if isinstance(item, dict | list):
                walk(item)

    if not isinstance(document, dict | list) or not document:
        return value
    walk(document)
    container, key = draw(st.sampled_from(places))
    container[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    return document


@SETTINGS
@given(st.sampled_from(SCHEMAS), values)
def test_random_documents(name: str, document: Any) -> None:
    compared(document, name)


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
    assert proven(doc.data, name)


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


# --- what it spares ------------------------------------------------------------------------------

SPARED = ("jsonschema", "jmespath", "click", "requests", "urllib3")


def validate_in_a_process(
    *plans: Path, environ: dict[str, str] | None = None
) -> tuple[set[str], str]:
    """`python -X importtime -m runner PLAN... --validate`, as CI runs it: which of the libraries
    --validate can do without it imported, and what it wrote on stderr."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", *map(str, plans), "--validate"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(environ or {})},
    )
    assert done.returncode in (0, 2), done.stderr
    imported = {
        line.rpartition("|")[2].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    said = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    return {name for name in SPARED if name in imported}, "\n".join(said)


@pytest.mark.slow
@pytest.mark.parametrize("plan", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_validating_an_example_imports_neither_jsonschema_nor_jmespath(plan: Path) -> None:
    imported, said = validate_in_a_process(plan)
    assert imported == set(), said
    assert said.endswith("step(s)"), said


@pytest.mark.slow
def test_an_invalid_plan_is_judged_by_jsonschema(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("version: 1\nsteps: [a, b]\nmax_parallel: 0\n", encoding="utf-8")
    imported, said = validate_in_a_process(wrong)
    assert "jsonschema" in imported
    assert said == f"{wrong}:3:15: $.max_parallel: expected at least 1, got 0"
    odd = tmp_path / "odd.yaml"  # an expect of another shape: jmespath judges it
    odd.write_text("version: 1\nsteps:\n- job: a\n  success: {expect: ['a[?b]']}\n", "utf-8")
    imported, said = validate_in_a_process(odd)
    assert imported == {"jmespath"}, said


# The command line without click (`runner.cli.validate_only`) against click's command.
CLICKED = """
import sys
from runner.cli import main
main(sys.argv[1:], prog_name="fusion-run")
"""


def both_ways(args: list[str], cwd: Path, environ: dict[str, str]) -> list[tuple[int, str, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **environ}
    outcomes = []
    for command in (["-m", "runner"], ["-c", CLICKED]):
        done = subprocess.run(
            [sys.executable, *command, *args],
            check=False,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
        )
        outcomes.append((done.returncode, done.stdout, done.stderr))
    return outcomes


@pytest.mark.slow
def test_without_click_validate_says_what_click_s_command_says(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("version: 1\nsteps: [a, b]\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(
        "version: 1\nsteps:\n- job: a\n  retries: -1\n  depends_on: [c]\nmax_parallel: 0\n",
        encoding="utf-8",
    )
    (tmp_path / "unset.yaml").write_text(
        "version: 1\nsteps: [a]\nfusion: {url: '${URL}'}\n", encoding="utf-8"
    )
    (tmp_path / "secret.yaml").write_text("version: 1\nsteps: [s3cret-job]\n", "utf-8")
    for args, environ in [
        (["good.yaml", "--validate"], {}),
        (["--validate", "bad.yaml"], {}),
        (["bad.yaml", "--validate"], {"GITHUB_ACTIONS": "true"}),
        (["good.yaml", "unset.yaml", "bad.yaml", "--validate"], {}),
        (["missing.yaml", "--validate"], {}),
        (["secret.yaml", "--validate"], {"FUSION_PASSWORD": "s3cret"}),
    ]:
        assert validate_only(args, environ) is not None
        fast, clicked = both_ways(args, tmp_path, environ)
        assert fast == clicked, args
        assert fast[0] in (0, 2)


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


def jmespath_judges_valid(expression: str) -> bool:
    """What `expression_problem` asks of jmespath, asked of it directly."""
    try:
        depth = nesting(expression)
        jmespath.compile(expression)
    except (jmespath.exceptions.ParseError, ValueError):
        return False
    return depth <= MAX_EXPRESSION_DEPTH


@settings(SETTINGS, max_examples=1000)
@given(st.from_regex(values_module._SIMPLE, fullmatch=True))
@example("result.docsWritten > `0`")
@example('extra."counter.failed" == `0`')
@example(".".join(["a"] * 41) + " >= `-0.5`")
def test_an_expression_of_the_simple_shape_is_valid_jmespath(expression: str) -> None:
    assert len(expression) > MAX_EXPRESSION_LENGTH or jmespath_judges_valid(expression)
    assert (expression_problem(expression) is None) is (len(expression) <= MAX_EXPRESSION_LENGTH)


@pytest.mark.parametrize(
    "expression",
    [".".join(["a"] * 42), "a >", "a[0]", "a | b", '"a\\"b"', "a == `1e3`", " a", "a.b ", "`0`"],
)
def test_other_expressions_are_left_to_jmespath(expression: str) -> None:
    assert not values_module._SIMPLE.fullmatch(expression)
