"""Checks of single plan values that JSON Schema cannot express, each giving a message or None."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from runner.jobs import job_kind

MAX_EXPRESSION_LENGTH = 1000  # characters
MAX_EXPRESSION_DEPTH = 50  # levels, as `nesting` counts them

# Tokens that open no level of their own: names, values and punctuation. Every other token is an
# operator, a bracket or a projection, which the parser may meet one call deeper.
_LEVEL = frozenset(
    {"unquoted_identifier", "quoted_identifier", "literal", "number", "current", "colon", "eof"}
)
_OPEN = frozenset({"lparen", "lbracket", "lbrace", "filter"})
_CLOSE = frozenset({"rparen", "rbracket", "rbrace"})
# The shape most `expect` and `warn` entries take: a path, or a baseline's ratio of two paths,
# perhaps compared with a JSON literal, such as result.docsWritten > `0`, extra."counter.failed"
# == `0` or ratio(documents, previous.documents) >= `0.7`. Every text of this shape is JMESPath
# that nests at most 41 levels (40 dots and a comparison; a ratio's two paths 18 dots each, its
# call and a comparison), with known functions given the arguments they take, so it is known
# valid without importing jmespath, which --validate then spares. Anything else, jmespath judges.
_NAME = r'(?:[A-Za-z_][A-Za-z0-9_]*|"[^"\\\x00-\x1f]+")'
_LITERAL = r"`(?:-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,17})?|true|false|null)`"
_PATH = rf"{_NAME}(?:\.{_NAME}){{0,18}}"
_TERM = rf"(?:{_NAME}(?:\.{_NAME}){{0,40}}|ratio\({_PATH}, {_PATH}\))"
_SIMPLE = re.compile(rf"{_TERM}(?: *(?:==|!=|<=?|>=?) *{_LITERAL})?")
# YAML 1.1 reads these, unquoted, as true or false (YAML 1.2: only true and false).
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


@contextlib.contextmanager
def quiet_literals() -> Iterator[None]:
    """jmespath warns of a literal that is not JSON (`` `{a` `` reads as the string `{a`, JMESPath's
    old syntax) with a PendingDeprecationWarning; it is still JMESPath, and no warning of a
    library's is fusion-run's to print."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield


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

    from runner.expressions import literal_depth  # noqa: PLC0415 - it imports jmespath

    if literal_depth(expression) > MAX_EXPRESSION_DEPTH:
        return (
            f"a JSON literal nests {literal_depth(expression)} levels deep, more than "
            f"{MAX_EXPRESSION_DEPTH}: write a shallower one"
        )
    try:
        with quiet_literals():
            depth = nesting(expression)
            if depth > MAX_EXPRESSION_DEPTH:
                return (
                    f"the expression nests {depth} levels deep, more than "
                    f"{MAX_EXPRESSION_DEPTH}: split it into several expect entries"
                )
            parsed = jmespath.compile(expression).parsed
    except jmespath.exceptions.ParseError as error:
        from runner.expressions import bare_number_fix  # noqa: PLC0415 - it imports jmespath

        fix = bare_number_fix(expression)
        if fix is not None:
            number, fixed = fix
            return (
                f"invalid JMESPath expression: JMESPath reads a number only in backticks: "
                f"write `{number}` with backticks, as in {fixed}"
            )
        if isinstance(error, jmespath.exceptions.LexerError):
            what = error.message
        elif isinstance(error, jmespath.exceptions.IncompleteExpressionError):
            what = "the expression ends too soon"
        else:
            what = error.msg
        return f"invalid JMESPath expression: {what} at character {(error.lex_position or 0) + 1}"
    except ValueError as error:  # a number too long for Python to convert
        return f"invalid JMESPath expression: {error}"
    from runner.expressions import function_problem  # noqa: PLC0415 - it imports jmespath

    return function_problem(dict(parsed))


def verify_problem(verify: str) -> str | None:
    """Why `fusion.verify`, a string, names no CA bundle here."""
    if verify in _BOOLEAN_WORDS:
        word = "true" if verify.lower() in ("true", "yes", "on") else "false"  # YAML 1.2's only
        return (
            f"the string {verify!r} would be read as the path of a CA bundle: "
            f"write {word} without quotes"
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
    kind, ident = job_kind(job)
    if not ident:
        return f"{job!r} has no job id after its type: write {kind}:<id>"
    if ident in (".", ".."):
        return f"{ident!r} cannot be a job id: in a URL it names a folder; write the job's id"
    return None


_HOST_LABEL = re.compile(r"[A-Za-z0-9_-]+")  # what a host name's label holds, once ASCII
MAX_HOST_LENGTH = 253  # characters of a host name in DNS, without a final '.'
MAX_LABEL_LENGTH = 63  # characters of each of its labels


def address_problem(url: str) -> str | None:
    """Why the host or port of `url` cannot be reached, or None: each thing that requests and
    urllib3 would refuse only when the plan runs. `url` has the plan schema's URL shape, so its
    host and port come between '//' and the next '/', and hold no '@'. The host may be echoed;
    the rest of `url` is not, since it may hold a secret.
    """
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):  # `$` lets a last \n by
        return "the URL has a space, a line break or a control character in it: remove it"
    authority = url.split("//", 1)[1].split("/", 1)[0]
    if authority.startswith("["):
        host, closed, after = authority[1:].partition("]")
        if not closed:
            return (
                "the host's '[' has no closing ']': write an IPv6 address as in http://[::1]:8764"
            )
        if after and not after.startswith(":"):
            return (
                "only ':' and a port may follow the ']' of an IPv6 address, as in http://[::1]:8764"
            )
        address, percent, zone = host.partition("%")
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return (
                f"{_clipped(host)!r} in brackets is not an IPv6 address: write one such as "
                "[::1], or a host name without brackets"
            )
        if percent:  # requests and urllib3 mangle zones that look percent-encoded: none is taken
            return (
                f"an IPv6 zone ({_clipped(percent + zone)!r}) cannot be part of Fusion's URL: "
                "write Fusion's host name or a global IPv6 address"
            )
        return _port_problem(after[1:])
    if "[" in authority or "]" in authority:
        return "'[' and ']' may only enclose an IPv6 address, as in http://[::1]:8764"
    host, _, port = authority.partition(":")
    if ":" in port:
        return "an IPv6 address must be in brackets, as in http://[::1]:8764"
    return _port_problem(port) or _host_problem(host)


def _port_problem(port: str) -> str | None:
    if not port:  # none, or nothing after the ':': the scheme's own port
        return None
    if not (port.isascii() and port.isdigit()):
        return "the port is not a number: write a port from 1 to 65535 after the host's ':'"
    digits = port.lstrip("0") or "0"
    if len(digits) > 5 or not 1 <= int(digits) <= 65535:
        return f"port {_clipped(digits)} is out of range: write a port from 1 to 65535"
    return None


def _host_problem(host: str) -> str | None:
    """Why a host name (not an IPv6 address) cannot be looked up, as requests, urllib3 and
    Python's IDNA codec see it: each label encoded for DNS must be 1 to 63 characters, and the
    name at most 253."""
    if not host:
        return "the URL names no host: write Fusion's host, as in https://fusion.example.com"
    if host.startswith("*"):
        return f"the host {_clipped(host)!r} starts with '*': write Fusion's own host name"
    if "%" in host:
        return (
            f"the host {_clipped(host)!r} has a '%' in it: "
            "write the host name without percent-encoding"
        )
    labels = host.removesuffix(".").split(".")
    encoded = []
    for label in labels:
        if not label:
            return f"the host {_clipped(host)!r} has an empty label: remove the extra '.'"
        if label.isascii():
            if not _HOST_LABEL.fullmatch(label):
                odd = next(char for char in label if not _HOST_LABEL.fullmatch(char))
                return (
                    f"the host {_clipped(host)!r} has {odd!r} in it, which no host name has: "
                    "check the host name"
                )
            ascii_label = label
        else:
            import idna  # noqa: PLC0415 - only for international names; urllib3 encodes them so

            try:
                ascii_label = idna.encode(label.lower(), strict=True, std3_rules=True).decode()
            except idna.IDNAError:  # perhaps only too long: then say so, below
                ascii_label = "xn--" + label.lower().encode("punycode").decode()
                if len(ascii_label) <= MAX_LABEL_LENGTH:
                    return (
                        f"the host's label {_clipped(label)!r} is not a valid international "
                        "name (IDNA): check its spelling, or write its xn-- form"
                    )
        if len(ascii_label) > MAX_LABEL_LENGTH:
            form = "" if label.isascii() else " in its xn-- form"
            return (
                f"the host's label {_clipped(label)!r} is {len(ascii_label)} characters long"
                f"{form}, more than {MAX_LABEL_LENGTH}: check the host name"
            )
        encoded.append(ascii_label)
    length = len(".".join(encoded))
    if length > MAX_HOST_LENGTH:
        return (
            f"the host is {length} characters long, more than {MAX_HOST_LENGTH}: "
            "check the host name"
        )
    return None


def _clipped(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
