from __future__ import annotations

import re

import pytest

from runner.durations import MAX_DURATION, exceeds, format_duration, parse_duration
from runner.schemas import checking_schema


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (0, 0),
        (90, 90),
        ("90s", 90),
        ("5m", 300),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        ("1d2h3m4s", 93784),
        ("0s", 0),
        ("90m", 5400),
    ],
)
def test_parse(text: int | str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "5 min", "1h30", "m", "-1s", "1.5h", "30m1h", -1, True])
def test_parse_refuses(bad: int | str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.24, "0.2s"),
        (9.94, "9.9s"),
        (9.96, "10s"),
        (10.4, "10s"),
        (59.4, "59s"),
        (59.6, "1m"),
        (5400, "1h30m"),
        (90061, "1d1h1m1s"),
    ],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("name", ["duration", "positive_duration"])
@pytest.mark.parametrize(
    "text", ["", "5", "5 min", "1h30", "m", "90s", "1h30m", "1d", "0s", "0h0m"]
)
def test_schema_patterns_accept_what_the_parser_reads(name: str, text: str) -> None:
    pattern = checking_schema("plan.schema.json")["$defs"][name]["pattern"]
    try:
        seconds: int | None = parse_duration(text)
    except ValueError:
        seconds = None
    accepted = seconds is not None and (name == "duration" or seconds > 0)
    assert bool(re.search(pattern, text)) == accepted


def test_leading_zeros_beyond_python_s_conversion_limit() -> None:
    """5,000 zeros before a 1: more digits than Python converts (4,300), still one second."""
    assert parse_duration("0" * 5000 + "1s") == 1
    assert parse_duration("0" * 5000 + "1h" + "0" * 5000 + "30m") == 5400
    assert exceeds("0" * 5000 + "366d", MAX_DURATION)
