"""Hostile input, by property tests at full breadth: no plan, however broken, gives anything but
located problems (tests/unit/test_hostile.py: no job id reaches another endpoint)."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.durations import MAX_DURATION
from runner.errors import UsageError
from runner.jobs import job_kind
from runner.plan import Plan
from runner.plan.loader import load_plan
from runner.plan.problems import InvalidPlan
from runner.report.describe import describe
from tests.helpers.cli import invoke
from tests.helpers.documents import EXAMPLE_DATA, mutate, values
from tests.helpers.paths import EXAMPLES

PROBLEM = re.compile(r"^[^\n]+?(:\d+:\d+)?: (\$[^\n]*: )?[^\n]+$")
EXAMPLE_TEXT = [p.read_text() for p in sorted(EXAMPLES.glob("*.yaml"))]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(path: Path) -> Plan | None:
    """Load; every outcome is a plan or located problems, never another exception, but the
    refusal of a plan with targets and no default_target (the run needs --target)."""
    refused = None
    try:
        return load_plan(str(path), environ={})
    except InvalidPlan as invalid:
        problems = invalid.problems
    except UsageError as error:
        problems, refused = [], str(error)
    if refused is not None:
        untargeted = rf"{re.escape(str(path))} has targets \([^\n]+\) and no default_target: "
        assert re.fullmatch(untargeted + "choose one with --target NAME", refused), refused
        return None
    assert problems
    for problem in problems:
        assert PROBLEM.match(str(problem)), str(problem)
        assert problem.file == str(path)
    return None


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@SETTINGS
@given(data=values)
def test_random_documents(tmp_path_factory: Any, data: Any) -> None:
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_text(dump(data), encoding="utf-8")
    check(path)


@SETTINGS
@given(st.data())
def test_mutated_valid_plans(tmp_path_factory: Any, data: Any) -> None:
    plan = copy.deepcopy(data.draw(st.sampled_from(EXAMPLE_DATA)))
    for _ in range(data.draw(st.integers(1, 4))):
        if isinstance(plan, dict | list) and plan:
            plan = mutate(plan, data.draw)
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_text(dump(plan), encoding="utf-8")
    check(path)


@SETTINGS
@given(st.data())
def test_damaged_text(tmp_path_factory: Any, data: Any) -> None:
    text = bytearray(data.draw(st.sampled_from(EXAMPLE_TEXT)).encode())
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(text)))
        match data.draw(st.sampled_from(["insert", "delete", "replace"])):
            case "insert":
                text[at:at] = data.draw(
                    st.binary(min_size=1, max_size=8)
                    | st.sampled_from([b"&a", b"*a", b": ", b"\t", b"- ", b"{", b"]", b"!!", b"${"])
                    | st.sampled_from([b"[" * 1000, b"{a: " * 300, b"9" * 4301, b"!!int ''"])
                )
            case "delete":
                del text[at : at + data.draw(st.integers(1, 10))]
            case _:
                text[at : at + 1] = data.draw(st.binary(min_size=1, max_size=1))
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_bytes(bytes(text))
    check(path)


# Values that passed --validate and then crashed the run, or crashed --validate itself: explicit
# tags that do not fit, numbers Python cannot hold or print, durations of centuries, JMESPath deep
# enough to exhaust the stack, quoted booleans and missing files for `verify`, dot job ids, and
# variables set, unset, defaulted, quoted and malformed.
HOSTILE = [
    *("!!int abc", "!!float abc", "!!bool maybe", "!!null x", "!!str 12", "!!int 09", "!!float 4"),
    *("!!binary aGk=", "!!timestamp 2024-01-01", "!!float .nan", "!!int 0x_", "0b_", "._"),
    *("99999999999999999999999d", "9" * 400, "9" * 700, "9" * 5000, "0x" + "f" * 700, "60.0"),
    *(".nan", ".inf", "-.inf", "1.0e+999", "366d", "31536001", "365d", "10001", "101", "-1"),
    *("'false'", "'yes'", "/no/such/ca.pem", ".", "..", "spark:..", "datasource:.", "true"),
    *("${UNSET}", "${UNSET:-3}", "${UNSET:-}", "'${UNSET}'", "x${UNSET}y", "${FUSION_TOKEN}"),
    *("${SET}", "${SET:-2}", "'${SET}'", "${1X}", "${", "$${X}", "[1, a, 1.0, {a: 1}, {a: 1.0}]"),
    *('"' + "(" * 600 + "a" + ")" * 600 + '"', '"' + "a" * 1001 + '"', '"' + "!" * 51 + 'a"'),
    *('"' + "a[*]." * 300 + 'b"', '"a[' + "9" * 5000 + ']"', "[a, a, b]", "{}", "[]", "null"),
    # What fuzzing --validate found: empty tagged scalars, flow collections and JSON literals
    # nested hundreds of levels, integers past Python's 4,300 digits, durations of thousands of
    # leading zeros, and plain scalars that YAML 1.1 reads as other values (refused) or that YAML
    # 1.2 reads as numbers.
    *("!!int ''", "!!int _", "!!float ''", "!!float _", "!!bool ''", "!!null x", "9" * 4301),
    *("[" * 999 + "]" * 999, "[" * 5000 + "]" * 5000, "{a: " * 500 + "b" + "}" * 500),
    *('"a == `' + "[" * 989 + '`"', '"`' + "[" * 40 + "]" * 40 + '` == a"', "-" + "0" * 5000),
    *("0" * 5000 + "1s", "'" + "0" * 5000 + "1m'", "0" * 5000 + "366d", "0" * 5000 + "7"),
    *("1:30", "010", "09", "0o17", "0x1F", "yes", "off", "y", "1_000", "0b101", "1e3", "<<", "="),
]
SET_TO = ["2", "two", ".nan", "9" * 5000, "${X}", "", "false", "1d", "400d", "https://h", "a b"]
SET_TO += ["010", "yes", "1:30", "0" * 5000 + "1s", "[" * 999]
SECRET = "s3cr3t-V4LUE"  # no message may quote what a variable gave
SET_TO += [SECRET, f"https://{SECRET}.example.com", f"spark:{SECRET}"]
PLACES: list[tuple[str | int, ...]] = [
    ("version",),
    ("name",),
    ("fusion", "url"),
    ("fusion", "verify"),
    ("fusion", "connect_timeout"),
    ("max_parallel",),
    ("fail_fast",),
    ("timeout",),
    ("defaults", "retries"),
    ("defaults", "success", "expect", 0),
    ("steps", 0),
    ("steps", 1, "job"),
    ("steps", 1, "name"),
    ("steps", 1, "timeout"),
    ("steps", 1, "retries"),
    ("steps", 1, "retry_backoff"),
    ("steps", 1, "retry_delay"),
    ("steps", 1, "depends_on"),
    ("steps", 1, "depends_on", 0),
    ("steps", 1, "retry_on"),
    ("steps", 1, "allow_failure"),
    ("steps", 1, "success", "states"),
    ("steps", 1, "success", "max_duration"),
    ("steps", 1, "success", "expect", 0),
]
BASE = {
    "version": 1,
    "variables": {"SET": None, "UNSET": None},
    "name": "n",
    "fusion": {"url": "https://f.example.com", "verify": True, "connect_timeout": "10s"},
    "max_parallel": 2,
    "fail_fast": False,
    "timeout": "1h",
    "defaults": {"retries": 1, "success": {"expect": ["a"]}},
    "steps": [
        "crawl",
        {
            "job": "index",
            "name": "i",
            "timeout": "1h",
            "retries": 1,
            "retry_backoff": 2,
            "retry_delay": "1m",
            "depends_on": ["crawl"],
            "retry_on": ["state"],
            "allow_failure": False,
            "success": {"states": ["finished"], "max_duration": "1h", "expect": ["a"]},
        },
    ],
}


@SETTINGS
@given(
    places=st.lists(st.sampled_from(PLACES), min_size=1, max_size=3, unique=True),
    values=st.lists(st.sampled_from(HOSTILE), min_size=3, max_size=3),
    set_to=st.sampled_from(SET_TO),
)
def test_hostile_values_give_located_problems_never_a_crash(
    tmp_path_factory: Any, places: list[tuple[str | int, ...]], values: list[str], set_to: str
) -> None:
    """--validate exits 0 or 2, never 3, on any of them; a plan it passes with every variable set
    loads, builds and keeps within the documented bounds; one that does not load says where, and
    never quotes a variable's value."""
    plan: Any = copy.deepcopy(BASE)
    for number, place in sorted(enumerate(places), key=lambda p: -len(p[1])):  # inner first
        container = plan
        for part in place[:-1]:
            container = container[part]
        container[place[-1]] = f"HOSTILE{number}"
    text = dump(plan)
    for number in range(len(places)):
        text = text.replace(f"HOSTILE{number}", values[number])
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    for env in ({}, {"SET": set_to}, {"SET": set_to, "UNSET": set_to}):
        result = invoke(str(path), "--validate", env=env)
        assert result.exit_code in (0, 2), result.stderr
        for line in result.stderr.splitlines():
            assert PROBLEM.match(line), line
        assert SECRET not in result.stderr
        if result.exit_code == 0 and "not set here" not in result.stderr:
            within_bounds(load_plan(str(path), environ=env))
        elif result.exit_code == 2:
            with pytest.raises(InvalidPlan):
                load_plan(str(path), environ=env)


def within_bounds(plan: Plan) -> None:
    """What the run may take for granted of a plan that validated."""
    assert 1 <= plan.max_parallel <= 10_000
    assert plan.timeout is None or 0 < plan.timeout <= MAX_DURATION
    for step in plan.steps:
        assert all(
            0 <= s <= MAX_DURATION for s in (step.timeout, step.poll_interval, step.retry_delay)
        )
        assert isinstance(step.retries, int)
        assert 0 <= step.retries <= 100
        assert math.isfinite(step.retry_backoff)
        assert 1 <= step.retry_backoff <= 10
        assert job_kind(step.job)[1] not in (".", "..")
        expect: tuple[object, ...] = step.success.expect  # typed str: checked, not assumed
        assert all(isinstance(e, str) and len(e) <= 1000 for e in expect)
    assert describe(plan, url=plan.fusion.url, url_source="the plan")


def test_an_example_with_targets_and_no_default_target_is_refused_as_the_run_would(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text((EXAMPLES / "nightly-reindex.yaml").read_text().replace("default_target:", "#"))
    assert check(path) is None
