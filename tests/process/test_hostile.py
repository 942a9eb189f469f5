"""Hostile input, by property tests: no plan, however broken, gives anything but located problems;
no job id reaches another endpoint."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runner.durations import MAX_DURATION
from runner.fusion import job_segment
from runner.fusion.routes import api_path
from runner.jobs import job_kind
from runner.plan import Plan
from runner.plan.loader import load_plan
from runner.plan.problems import InvalidPlan
from runner.plan.values import job_problem
from runner.report.describe import describe
from tests.helpers.cli import invoke
from tests.helpers.paths import EXAMPLES

PROBLEM = re.compile(r"^[^\n]+?(:\d+:\d+)?: (\$[^\n]*: )?[^\n]+$")
EXAMPLE_DATA = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
EXAMPLE_TEXT = [p.read_text() for p in sorted(EXAMPLES.glob("*.yaml"))]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRICKY = ["1h", "0s", "5 min", "all_done", "${X}", "finished", "-"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(TRICKY),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=40,
)
KEYS = [
    "version",
    "name",
    "fusion",
    "defaults",
    "max_parallel",
    "fail_fast",
    "timeout",
    "steps",
    "job",
    "depends_on",
    "run_if",
    "retries",
    "success",
    "states",
    "expect",
    "url",
    "auth",
]


def check(path: Path) -> Plan | None:
    """Load; every outcome is a plan or located problems, never another exception."""
    try:
        return load_plan(str(path), environ={})
    except InvalidPlan as invalid:
        problems = invalid.problems
    assert problems
    for problem in problems:
        assert PROBLEM.match(str(problem)), str(problem)
        assert problem.file == str(path)
    return None


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.mark.slow
@SETTINGS
@given(data=values)
def test_random_documents(tmp_path_factory: Any, data: Any) -> None:
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_text(dump(data), encoding="utf-8")
    check(path)


def mutate(plan: Any, draw: Any) -> Any:
    """One random damage to a random place: remove, retype, duplicate, nest deeply, or swell."""
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            places.extend((node, key) for key in node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            places.extend((node, index) for index in range(len(node)))
            for value in node:
                walk(value)

    walk(plan)
    container, key = draw(st.sampled_from(places))
    action = draw(st.sampled_from(["remove", "retype", "duplicate", "nest", "swell", "rename"]))
    if action == "remove":
        del container[key]
    elif action == "retype":
        container[key] = draw(values)
    elif action == "duplicate" and isinstance(container, list):
        container.insert(key, copy.deepcopy(container[key]))
    elif action == "nest":
        for _ in range(draw(st.integers(1, 40))):
            container[key] = [container[key]] if draw(st.booleans()) else {"x": container[key]}
    elif action == "swell":
        container[key] = draw(
            st.sampled_from(["x" * 100_000, list(range(5000)), {str(i): i for i in range(2000)}])
        )
    elif action == "rename" and isinstance(container, dict):
        container[draw(st.sampled_from(KEYS))] = container.pop(key)
    return plan


@pytest.mark.slow
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


@pytest.mark.slow
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
                )
            case "delete":
                del text[at : at + data.draw(st.integers(1, 10))]
            case _:
                text[at : at + 1] = data.draw(st.binary(min_size=1, max_size=1))
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_bytes(bytes(text))
    check(path)


@settings(max_examples=300, deadline=None)
@given(job=st.text(min_size=1, max_size=40))
@example(job=".")
@example(job="..")
def test_no_job_id_reaches_another_endpoint(job: str) -> None:
    """Through requests' own URL handling and the emulator's routing, an id stays one segment.
    requests sends `.` and `..` as they are, whatever their quoting: a plan refuses them."""
    url = (
        requests.Request("GET", f"http://127.0.0.1:1/api/spark/jobs/{job_segment(job)}")
        .prepare()
        .url
    )
    assert url is not None
    segments = api_path(urlsplit(url).path)
    assert segments is not None
    assert segments[:2] == ["spark", "jobs"]
    assert len(segments) == 3
    assert unquote(segments[2]) == job
    if job_problem(job) is None:
        assert segments[2] not in (".", "..")  # no server could read it as the job's id


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
]
SET_TO = ["2", "two", ".nan", "9" * 5000, "${X}", "", "false", "1d", "400d", "https://h", "a b"]
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


@pytest.mark.slow
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
    loads, builds and keeps within the documented bounds; one that does not load says where."""
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
        assert all(isinstance(e, str) and len(e) <= 1000 for e in step.success.expect)
    assert describe(plan, url=plan.fusion.url, url_source="the plan")
