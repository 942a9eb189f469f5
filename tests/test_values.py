"""Single values the schema cannot judge: JMESPath bounds, CA bundles, job ids."""

from __future__ import annotations

import sys
from pathlib import Path

import jmespath
import jmespath.parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.values import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    expression_problem,
    job_problem,
    nesting,
    verify_problem,
)


@pytest.mark.parametrize(
    ("expression", "depth"),
    [
        ("a", 0),
        ("result.docsWritten > `0`", 2),
        ('extra."counter.failed" == `0`', 2),
        ("((a))", 2),
        ("[a.b, c]", 2),
        ("{x: a.b.c, y: d}", 3),
        ("a[*].b[*].c", 4),
        ("!!!a", 3),
        ("length(items[?state == 'failed']) == `0`", 3),
    ],
)
def test_nesting(expression: str, depth: int) -> None:
    assert nesting(expression) == depth


def test_bounds_are_exact() -> None:
    deepest = "!" * MAX_EXPRESSION_DEPTH + "a"
    assert expression_problem(deepest) is None
    assert expression_problem("!" + deepest) == (
        "the expression nests 51 levels deep, more than 50: split it into several expect entries"
    )
    longest = "a" * MAX_EXPRESSION_LENGTH
    assert expression_problem(longest) is None
    assert expression_problem(longest + "a") == (
        "the expression is 1001 characters long, more than 1000: split it into several expect "
        "entries"
    )


def test_no_expression_recurses_before_it_is_bounded() -> None:
    """Half a million brackets: the length bound answers before anything parses them."""
    problem = expression_problem("(" * 500_000)
    assert problem is not None
    assert problem.startswith("the expression is 500000 characters long")


LEAVES = st.sampled_from(["a", "b", "@", "`1`", "'x'", '"q"', "`[[1]]`"])
ONE = ["({})", "!{}", "&{}", "[{}]", "{{k: {}}}", "length({})", "{}.b", "{}[*].b", "{}[]", "{}.*"]
ONE += ["{}[0]", "{}[0:1].b", "{}[?b].c", "{}.[b, c]"]
TWO = ["{} | {}", "{} || {}", "{} && {}", "{} == {}", "[{}, {}]", "{}[?{}]", "{}.{{x: {}}}"]


@st.composite
def expressions(draw: st.DrawFn) -> str:
    """JMESPath of every construct that nests in the parser, wrapped up to 80 times."""
    expression = draw(LEAVES)
    for _ in range(draw(st.integers(0, 80))):
        if draw(st.booleans()):
            expression = draw(st.sampled_from(ONE)).format(expression)
        else:
            other = draw(LEAVES)
            pair = (expression, other) if draw(st.booleans()) else (other, expression)
            expression = draw(st.sampled_from(TWO)).format(*pair)
    return expression


def frames_here() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    return depth


@settings(max_examples=300, deadline=None)
@given(expression=expressions())
def test_nesting_bounds_how_deep_the_parser_and_interpreter_go(expression: str) -> None:
    """Five frames a level: what `nesting` allows parses and evaluates far inside Python's limit."""
    problem = expression_problem(expression)
    depth = nesting(expression)
    if depth > MAX_EXPRESSION_DEPTH or len(expression) > MAX_EXPRESSION_LENGTH:
        assert problem is not None
        assert problem.startswith("the expression ")
        return
    jmespath.parser.Parser.purge()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames_here() + 5 * depth + 30)
    try:
        compiled = jmespath.compile(expression)
        compiled.search({"a": [{"b": [1]}], "b": {"c": 1}})
    except jmespath.exceptions.JMESPathError:
        pass  # not valid, or not for this data: what matters is that it did not recurse too far
    finally:
        sys.setrecursionlimit(limit)


def test_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text("")
    assert verify_problem("ca.pem") is None
    assert verify_problem(str(tmp_path)) is None  # a folder of certificates, as requests takes
    for word in ("false", "True", "YES", "off"):
        assert verify_problem(word) == (
            f"the string {word!r} would be read as the path of a CA bundle: "
            f"write {word} without quotes"
        )
    for missing in ("missing.pem", "a\0b", "x" * 5000):
        assert verify_problem(missing) == (
            f"no CA bundle at {missing!r}: give the path of a CA bundle file (relative to the "
            "working directory), or true or false"
        )


@pytest.mark.parametrize(
    ("job", "refused"),
    [
        (".", True),
        ("..", True),
        ("spark:..", True),
        ("datasource:.", True),
        ("task:..", True),
        ("...", False),
        ("a..b", False),
        ("unknown:..", False),  # a Spark job whose id is "unknown:..": one segment, not a dot one
    ],
)
def test_dot_job_ids(job: str, refused: bool) -> None:
    assert (job_problem(job) is not None) == refused
