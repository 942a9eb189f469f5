"""Single values the schema cannot judge: JMESPath bounds, CA bundles, job ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.expressions import literal_depth
from runner.plan.values import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    address_problem,
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


@pytest.mark.parametrize(
    ("literal", "depth"),
    [
        ("[" * 989, 989),  # jmespath's lexer decodes it with json: a RecursionError, once
        ("[" * 51 + "]" * 51, 51),
        ('{"a": ' * 51 + "1" + "}" * 51, 51),
        (r'"\`" ' + "[" * 51, 51),  # an escaped backtick does not end the literal
    ],
)
def test_json_literals_nested_deeper_than_the_bound_are_refused(literal: str, depth: int) -> None:
    assert expression_problem(f"a == `{literal}`") == (
        f"a JSON literal nests {depth} levels deep, more than 50: write a shallower one"
    )


def test_brackets_outside_literals_or_in_their_strings_do_not_count() -> None:
    assert literal_depth("a == `[[1]]`") == 2
    assert literal_depth('"`[[[" == `"[[[["`') == 0
    assert literal_depth("'`[[[' == `[" + "]" * 3 + "`") == 1
    assert expression_problem("a == `" + "[" * 50 + "]" * 50 + "`") is None


def test_no_expression_recurses_before_it_is_bounded() -> None:
    """Half a million brackets: the length bound answers before anything parses them."""
    problem = expression_problem("(" * 500_000)
    assert problem is not None
    assert problem.startswith("the expression is 500000 characters long")


def test_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text("")
    assert verify_problem("ca.pem") is None
    assert verify_problem(str(tmp_path)) is None  # a folder of certificates, as requests takes
    for word, meant in (("false", "false"), ("True", "true"), ("YES", "true"), ("off", "false")):
        assert verify_problem(word) == (
            f"the string {word!r} would be read as the path of a CA bundle: "
            f"write {meant} without quotes"
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


@pytest.mark.parametrize("kind", ["spark", "datasource", "task"])
def test_a_job_type_with_no_id_is_refused(kind: str) -> None:
    assert job_problem(f"{kind}:") == f"'{kind}:' has no job id after its type: write {kind}:<id>"
    assert job_problem(f"{kind}:x") is None


LABEL_63 = "a" * 63
HOST_253 = ".".join([LABEL_63] * 3 + ["a" * 61])  # 63 * 3 + 61 + 3 dots


@pytest.mark.parametrize(
    "url",
    [
        "https://fusion.example.com",
        "https://fusion.example.com:8764/",
        "http://127.0.0.1:8764",
        "http://localhost:/api",  # an empty port is the scheme's own
        "http://h:00080",
        "http://h:65535",
        "http://[::1]:8764",
        "http://[::ffff:10.0.0.1]",
        "http://exämple.com",  # an international name that IDNA encodes
        "http://FUSION.Example.COM.",  # a final '.' ends a fully qualified name
        f"http://{LABEL_63}.com",
        f"http://{HOST_253}",
        "http://xn--exmple-cua.com/api",
    ],
)
def test_reachable_addresses(url: str) -> None:
    assert address_problem(url) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://localhost:99999", "port 99999 is out of range: write a port from 1 to 65535"),
        ("http://localhost:0", "port 0 is out of range: write a port from 1 to 65535"),
        (
            "http://localhost:1234567890123456789012345678901234567890",
            "port 12345678901234567890123456789… is out of range: write a port from 1 to 65535",
        ),
        (
            "http://localhost:8o",
            "the port is not a number: write a port from 1 to 65535 after the host's ':'",
        ),
        (
            "http://[::1",
            "the host's '[' has no closing ']': write an IPv6 address as in http://[::1]:8764",
        ),
        (
            "http://[::1]8764",
            "only ':' and a port may follow the ']' of an IPv6 address, as in http://[::1]:8764",
        ),
        (
            "http://[fusion]",
            "'fusion' in brackets is not an IPv6 address: write one such as [::1], "
            "or a host name without brackets",
        ),
        (
            "http://[::1]:99999",
            "port 99999 is out of range: write a port from 1 to 65535",
        ),
        (
            "http://[fe80::1%25eth0]:8764",
            "an IPv6 zone ('%25eth0') cannot be part of Fusion's URL: "
            "write Fusion's host name or a global IPv6 address",
        ),
        ("http://f]", "'[' and ']' may only enclose an IPv6 address, as in http://[::1]:8764"),
        ("http://::1", "an IPv6 address must be in brackets, as in http://[::1]:8764"),
        (
            "http://:8764",
            "the URL names no host: write Fusion's host, as in https://fusion.example.com",
        ),
        (
            "http://*.example.com",
            "the host '*.example.com' starts with '*': write Fusion's own host name",
        ),
        (
            "http://f%75sion",
            "the host 'f%75sion' has a '%' in it: write the host name without percent-encoding",
        ),
        ("http://a..b", "the host 'a..b' has an empty label: remove the extra '.'"),
        ("http://.example.com", "the host '.example.com' has an empty label: remove the extra '.'"),
        (
            f"http://a{LABEL_63}.com",
            "the host's label 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa…' is 64 characters long, "
            "more than 63: check the host name",
        ),
        (
            f"http://{'ü' * 60}.com",
            "the host's label 'üüüüüüüüüüüüüüüüüüüüüüüüüüüüü…' is 66 characters long in its xn-- "
            "form, more than 63: check the host name",
        ),
        (
            f"http://a.{HOST_253}",
            "the host is 255 characters long, more than 253: check the host name",
        ),
        (
            "http://\u2488.example.com",
            "the host's label '\u2488' is not a valid international name (IDNA): "
            "check its spelling, or write its xn-- form",
        ),
        *[  # a YAML block scalar ends its value with a line break; a regex's `$` lets it by
            (url, "the URL has a space, a line break or a control character in it: remove it")
            for url in ("http://fusion.example.com\n", "http://f:8764/\n", "http://a\x7f")
        ],
        ("http://a|b", "the host 'a|b' has '|' in it, which no host name has: check the host name"),
        (
            "http://\\u00e9/",
            "the host '\\\\u00e9' has '\\\\' in it, which no host name has: check the host name",
        ),
    ],
)
def test_unreachable_addresses(url: str, message: str) -> None:
    assert address_problem(url) == message


def test_an_old_style_literal_is_judged_without_a_warning_of_jmespath_s() -> None:
    """`{a` is not JSON: JMESPath's old syntax reads it as a string, and jmespath warns of it
    (PendingDeprecationWarning, an error in this suite); validation says nothing of it."""
    assert expression_problem("a == `{a`") is None
