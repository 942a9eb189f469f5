"""Hostile input, by property tests: no plan, however broken, gives anything but located problems;
no job id reaches another endpoint."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.emulator.server import _api_path
from runner.fusion import job_segment
from runner.loader import load_plan
from runner.plan import Plan
from runner.problems import InvalidPlan
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
def test_no_job_id_reaches_another_endpoint(job: str) -> None:
    """Through requests' own URL handling and the emulator's routing, an id stays one segment."""
    url = (
        requests.Request("GET", f"http://127.0.0.1:1/api/spark/jobs/{job_segment(job)}")
        .prepare()
        .url
    )
    assert url is not None
    segments = _api_path(urlsplit(url).path)
    assert segments is not None
    assert segments[:2] == ["spark", "jobs"]
    assert len(segments) == 3
    assert unquote(segments[2]) == job
