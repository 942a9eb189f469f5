"""JMESPath as a plan's `expect` and `warn` use it: JMESPath's own functions, and `ratio` (JMESPath
has no arithmetic, and a baseline is a ratio: `ratio(documents, previous.documents) >= `0.7``).

    >>> import jmespath
    >>> jmespath.search("ratio(a, b)", {"a": 3, "b": 4}, options=OPTIONS)
    0.75
    >>> [jmespath.search(f"ratio({a}, {b})", {}, options=OPTIONS) for a, b in [(1, 0), (1, "null")]]
    [None, None]
"""

from __future__ import annotations

import difflib
import json
import re
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


# A number a comparison is given bare: JMESPath reads numbers only as literals, in backticks.
_BARE_NUMBER = re.compile(r"([<>]=?|[=!]=)(\s*)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w.`])")
_MANY_KEYS = 10  # more keys than this are not listed in a hint


def bare_number_fix(expression: str) -> tuple[str, str] | None:
    """For an expression that does not parse because a comparison is given a bare number (`> 0`):
    the first such number, and the expression with each in backticks; None when that is not what
    is wrong (the expression would still not parse).

    >>> bare_number_fix("result.docs > 0 && counter >= 2.5")
    ('0', 'result.docs > `0` && counter >= `2.5`')
    """
    found = _BARE_NUMBER.search(expression)
    if found is None:
        return None
    fixed = _BARE_NUMBER.sub(lambda m: f"{m[1]}{m[2]}`{m[3]}`", expression)
    try:
        jmespath.compile(fixed)
    except (jmespath.exceptions.JMESPathError, ValueError):
        return None
    return found[3], fixed


def missing_key_hint(parsed: dict[str, Any], data: Any) -> str | None:
    """For an expression that read null: the first key it reads that `data` does not have, in
    words, with the keys of that mapping that are spelled like it (`extra."counter.output"`, a key
    with a dot in it, read as `extra.counter.output`; `docsWriten` for `docsWritten`). None when
    every key it reads is there (a null is Fusion's own)."""
    for path in _paths(parsed):
        current, walked = data, list[str]()
        for name in path:
            if not isinstance(current, dict):
                break
            if name in current:
                current, walked = current[name], [*walked, name]
                continue
            if current:  # of a mapping Fusion left empty, there is nothing to say
                return _hint(walked, name, path[len(walked) + 1 :], current)
            break
    return None


# Where an expression's operands are read from the top of the status, as they are written
_FROM_THE_TOP = frozenset(
    {"comparator", "and_expression", "or_expression", "not_expression", "function_expression"}
)


def _paths(parsed: dict[str, Any]) -> Iterator[list[str]]:
    """Each path of field names that the expression reads from the top of the status (not within
    a projection, a filter or a pipe, which read something else)."""
    stack = [parsed]
    while stack:
        node = stack.pop()
        kind, children = node.get("type"), node.get("children", [])
        if kind == "field":
            yield [str(node["value"])]
        elif kind == "subexpression" and all(c.get("type") == "field" for c in children):
            yield [str(child["value"]) for child in children]
        elif kind in _FROM_THE_TOP:
            stack += [child for child in reversed(children) if isinstance(child, dict)]


def _hint(walked: list[str], name: str, rest: list[str], mapping: dict[str, Any]) -> str:
    where = ".".join(map(_spelled, walked)) or "the status"
    prefix = ".".join(map(_spelled, walked)) + "." if walked else ""
    keys = sorted(str(key) for key in mapping)
    dotted = [key for key in keys if key.startswith(name + ".")]
    if dotted:
        joined = ".".join([name, *rest])
        chosen = joined if joined in dotted else dotted[0]
        return (
            f"{where} has no key {name}; it has {', '.join(dotted)}: "
            f"write {prefix}{json.dumps(chosen)}"
        )
    close = difflib.get_close_matches(name, keys, n=1)
    if close:
        return f"{where} has no key {name}: did you mean {prefix}{_spelled(close[0])}?"
    if len(keys) <= _MANY_KEYS:
        return f"{where} has no key {name}; it has {', '.join(keys) or 'none'}"
    return f"{where} has no key {name}"


def _spelled(name: str) -> str:
    """A key as JMESPath reads it: bare when it can be, else quoted."""
    bare = name.isascii() and name.isidentifier()
    return name if bare else json.dumps(name)
