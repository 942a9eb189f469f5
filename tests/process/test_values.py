"""JMESPath nesting, as a property test at full breadth: what `nesting` allows parses and evaluates
far inside Python's recursion limit (tests/unit/test_values.py holds the bounds themselves)."""

from __future__ import annotations

import sys

import jmespath
import jmespath.parser
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.plan.values import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    expression_problem,
    nesting,
)

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
    while frame.f_back is not None:
        depth, frame = depth + 1, frame.f_back
    return depth + 1


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
