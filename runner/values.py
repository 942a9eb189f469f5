"""Checks of single plan values that JSON Schema cannot express, each giving a message or None."""

from __future__ import annotations

import re
from pathlib import Path

from runner.status import job_kind

MAX_EXPRESSION_LENGTH = 1000  # characters
MAX_EXPRESSION_DEPTH = 50  # levels, as `nesting` counts them

# Tokens that open no level of their own: names, values and punctuation. Every other token is an
# operator, a bracket or a projection, which the parser may meet one call deeper.
_LEVEL = frozenset(
    {"unquoted_identifier", "quoted_identifier", "literal", "number", "current", "colon", "eof"}
)
_OPEN = frozenset({"lparen", "lbracket", "lbrace", "filter"})
_CLOSE = frozenset({"rparen", "rbracket", "rbrace"})
# The shape most `expect` entries take: a path, perhaps compared with a JSON literal, such as
# result.docsWritten > `0` or extra."counter.failed" == `0`. Every text of this shape is JMESPath
# that nests at most 41 levels (40 dots and a comparison), so it is known valid without
# importing jmespath, which --validate then spares. Anything else, jmespath judges.
_NAME = r'(?:[A-Za-z_][A-Za-z0-9_]*|"[^"\\\x00-\x1f]+")'
_LITERAL = r"`(?:-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,17})?|true|false|null)`"
_SIMPLE = re.compile(rf"{_NAME}(?:\.{_NAME}){{0,40}}(?: *(?:==|!=|<=?|>=?) *{_LITERAL})?")
# YAML 1.1 reads these, unquoted, as true or false.
_BOOLEAN_WORDS = frozenset(
    spelling
    for word in ("true", "false", "yes", "no", "on", "off")
    for spelling in (word, word.capitalize(), word.upper())
)


def nesting(expression: str) -> int:
    """How deep JMESPath's recursive parser may go for `expression`, in levels, from its tokens.

    Each operator, bracket or projection counts one level more than what came before it in its
    bracket, so this is at least as deep as the parser goes and may be more: `a.b.c` counts 2. A
    bracket counts one level once closed, and a comma starts its bracket's next item afresh.
    Lexing is a loop, so this never recurses, whatever the expression.

    >>> nesting("a"), nesting("result.docsWritten > `0`"), nesting("((a))"), nesting("[a.b, c]")
    (0, 2, 2, 2)
    """
    import jmespath.lexer  # noqa: PLC0415 - only a plan with `expect` needs it

    depth = deepest = 0
    starts: list[int] = []  # the depth at each open bracket
    for token in jmespath.lexer.Lexer().tokenize(expression):
        kind = token["type"]
        if kind in _CLOSE:
            depth = starts.pop() + 1 if starts else depth
        elif kind == "comma":
            depth = starts[-1] + 1 if starts else depth
        elif kind not in _LEVEL:
            if kind in _OPEN:
                starts.append(depth)
            depth += 1
        deepest = max(deepest, depth)
    return deepest


def expression_problem(expression: str) -> str | None:
    """Why `expression` cannot be an `expect`: too long, too deep, or not JMESPath."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        return (
            f"the expression is {len(expression)} characters long, more than "
            f"{MAX_EXPRESSION_LENGTH}: split it into several expect entries"
        )
    if _SIMPLE.fullmatch(expression):
        return None
    import jmespath  # noqa: PLC0415 - only an `expect` of another shape needs it
    import jmespath.exceptions  # noqa: PLC0415

    try:
        depth = nesting(expression)
        if depth > MAX_EXPRESSION_DEPTH:
            return (
                f"the expression nests {depth} levels deep, more than {MAX_EXPRESSION_DEPTH}: "
                "split it into several expect entries"
            )
        jmespath.compile(expression)
    except jmespath.exceptions.ParseError as error:
        if isinstance(error, jmespath.exceptions.LexerError):
            what = error.message
        elif isinstance(error, jmespath.exceptions.IncompleteExpressionError):
            what = "the expression ends too soon"
        else:
            what = error.msg
        return f"invalid JMESPath expression: {what} at character {(error.lex_position or 0) + 1}"
    except ValueError as error:  # a number too long for Python to convert
        return f"invalid JMESPath expression: {error}"
    return None


def verify_problem(verify: str) -> str | None:
    """Why `fusion.verify`, a string, names no CA bundle here."""
    if verify in _BOOLEAN_WORDS:
        return (
            f"the string {verify!r} would be read as the path of a CA bundle: "
            f"write {verify} without quotes"
        )
    try:
        found = Path(verify).exists()
    except (OSError, ValueError):  # a name too long, or a NUL in it
        found = False
    if not found:
        return (
            f"no CA bundle at {verify!r}: give the path of a CA bundle file (relative to the "
            "working directory), or true or false"
        )
    return None


def job_problem(job: str) -> str | None:
    """Why `job` cannot name a job in Fusion's URLs."""
    ident = job_kind(job)[1]
    if ident in (".", ".."):
        return f"{ident!r} cannot be a job id: in a URL it names a folder; write the job's id"
    return None
