"""JMESPath as a plan's `expect` and `warn` use it: JMESPath's own functions, and `ratio` (JMESPath
has no arithmetic, and a baseline is a ratio: `ratio(documents, previous.documents) >= `0.7``).

    >>> import jmespath
    >>> jmespath.search("ratio(a, b)", {"a": 3, "b": 4}, options=OPTIONS)
    0.75
    >>> [jmespath.search(f"ratio({a}, {b})", {}, options=OPTIONS) for a, b in [(1, 0), (1, "null")]]
    [None, None]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jmespath
import jmespath.functions


class _Functions(jmespath.functions.Functions):
    @jmespath.functions.signature({"types": ["number", "null"]}, {"types": ["number", "null"]})
    def _func_ratio(self, numerator: float | None, denominator: float | None) -> float | None:
        """`numerator / denominator`; null when either is null, the denominator is 0, or the
        quotient is beyond a float (counts of hundreds of digits)."""
        if numerator is None or denominator is None or denominator == 0:
            return None
        try:
            return numerator / denominator
        except OverflowError:
            return None


OPTIONS = jmespath.Options(custom_functions=_Functions())
FUNCTIONS = frozenset(_Functions.FUNCTION_TABLE)


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`node` of a parsed expression and every node below it, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack += [child for child in current.get("children", []) if isinstance(child, dict)]


def function_problem(parsed: dict[str, Any]) -> str | None:
    """Why a parsed expression's function call cannot be evaluated, whatever the run's status: a
    function neither JMESPath nor fusion-run has, or the wrong number of arguments."""
    calls = [n for n in nodes(parsed) if n.get("type") == "function_expression"]
    unknown = sorted({str(call["value"]) for call in calls} - FUNCTIONS)
    if unknown:
        return f"unknown function {unknown[0]}(): use one of JMESPath's functions, or ratio(a, b)"
    for call in calls:
        signature = _Functions.FUNCTION_TABLE[call["value"]]["signature"]
        given, wanted = len(call.get("children", [])), len(signature)
        variadic = bool(signature) and signature[-1].get("variadic", False)
        if given < wanted or (given > wanted and not variadic):
            least = "at least " if variadic else ""
            return (
                f"{call['value']}() takes {least}{wanted} argument{'' if wanted == 1 else 's'}, "
                f"not {given}"
            )
    return None


def literal_depth(expression: str) -> int:
    """How deeply the JSON literals (between backticks) of `expression` nest their arrays and
    objects, read without recursion and before jmespath's lexer, which decodes each literal with
    `json` and so may exhaust the stack on one of hundreds of levels.

    >>> literal_depth("a == `[1, [2]]`"), literal_depth('`{"a": "[["}`'), literal_depth("'`['")
    (2, 1, 0)
    """
    deepest = depth = 0
    closing: str | None = None  # the quote of the identifier, string or literal being read
    in_string = escaped = False  # within a literal: a JSON string, and a backslash before
    for char in expression:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif closing is None:
            closing = char if char in "\"'`" else None
            depth = 0
        elif char == closing and not in_string:
            closing = None
        elif closing == "`" and char == '"':
            in_string = not in_string
        elif closing == "`" and not in_string and char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif closing == "`" and not in_string and char in "]}":
            depth -= 1
    return deepest


def names_field(parsed: dict[str, Any], name: str) -> bool:
    """The parsed expression reads a field called `name`, at any depth."""
    return any(n.get("type") == "field" and n.get("value") == name for n in nodes(parsed))
