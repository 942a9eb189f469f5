"""`runner.plan.quickcheck` at full breadth, and in processes of its own: it gives jsonschema's
answer on hundreds of documents near each schema, takes only expressions jmespath compiles, and
spares a valid plan's `fusion-run PLAN... --validate` the import of jsonschema and of jmespath, in
a process as CI runs it (tests/unit/test_quickcheck.py holds the rest)."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runner.cli import validate_only
from runner.durations import exceeds, parse_duration
from runner.plan import values as values_module
from runner.plan.values import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    expression_problem,
    nesting,
)
from runner.schemas import checking_schema
from tests.helpers.documents import (
    EXAMPLE_DATA,
    KEYS,
    PLAN,
    SCENARIO,
    SCHEMAS,
    TEXTS,
    compared,
    mutate,
    odd,
    values,
)
from tests.helpers.paths import EXAMPLES, ROOT

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


# --- the same answer as jsonschema, on documents near each schema ---------------------------------


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
@example("ratio(documents, previous.documents) >= `0.7`")
@example(f"ratio({'.'.join(['a'] * 19)}, {'.'.join(['b'] * 19)}) < `1`")
def test_an_expression_of_the_simple_shape_is_valid_jmespath(expression: str) -> None:
    assert len(expression) > MAX_EXPRESSION_LENGTH or jmespath_judges_valid(expression)
    assert (expression_problem(expression) is None) is (len(expression) <= MAX_EXPRESSION_LENGTH)


# --- what it spares ------------------------------------------------------------------------------

SPARED = ("jsonschema", "jmespath", "click", "requests", "urllib3", "opentelemetry")


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


@pytest.mark.parametrize("plan", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_validating_an_example_imports_neither_jsonschema_nor_jmespath(plan: Path) -> None:
    imported, said = validate_in_a_process(plan)
    assert imported == set(), said
    assert re.search(r": valid, \d+ step\(s\)( \(\d+ from for_each\))?$", said), said


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


def test_without_click_validate_says_what_click_s_command_says(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("version: 1\nsteps: [a, b]\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(
        "version: 1\nsteps:\n- job: a\n  retries: -1\n  depends_on: [c]\nmax_parallel: 0\n",
        encoding="utf-8",
    )
    (tmp_path / "unset.yaml").write_text(
        "version: 1\nsteps: [a]\nfusion: {url: '${URL}'}\nvariables: {URL: null}\n",
        encoding="utf-8",
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
