"""Documents for the property tests of plan loading (tests/process/test_hostile.py) and of
quickcheck (tests/*/test_quickcheck.py): random values, the example plans and damage done to them,
values where JSON Schema and Python part, and the comparison of quickcheck with jsonschema."""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import event
from hypothesis import strategies as st

from runner.plan.keywords import validator_class
from runner.plan.quickcheck import fits
from runner.plan.variables import Unset
from runner.schemas import checking_schema
from tests.helpers.paths import EXAMPLES

EXAMPLE_DATA = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
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


PLAN, SCENARIO = "plan.schema.json", "scenario.schema.json"
SCHEMAS = [PLAN, SCENARIO]
VALIDATORS = {name: validator_class()(checking_schema(name)) for name in SCHEMAS}


def proven(document: Any, name: str) -> bool:
    """Whether quickcheck proves `document` valid; if it does, jsonschema must find nothing."""
    if not fits(document, checking_schema(name)):
        return False
    errors = [error.message for error in VALIDATORS[name].iter_errors(document)]
    assert not errors, f"proven valid, but jsonschema finds: {errors}"
    return True


def compared(document: Any, name: str) -> None:
    """`proven`, counted: `pytest --hypothesis-show-statistics` shows how often it proves."""
    event("proven" if proven(document, name) else "not proven")


class Count(int):
    pass


# Values where Python and JSON Schema may part: the types JSON has not, numbers that are equal
# across types, bounds and their neighbours, strings each pattern takes or nearly takes.
ODD: list[Any] = [
    *(None, True, False, 0, 1, -1, 2, 4, 1.0, 1.5, 60.0, -0.0, 2**64, 1e300, 10, 11, 100, 101),
    *(10000, 10001, 31536000, 31536001, 429, 500.0, math.inf, -math.inf, math.nan, Count(1)),
    *(Decimal(1), 1j, b"x", (1,), {1, 2}, frozenset(), object()),
    *("", " ", "a", " a", "a ", "a\n", "x y", "1", "0", "00", "0s", "1h", "90s", "1h30m"),
    *("365d", "365d1s", "366d", "8761h", "31536001s", "9" * 30 + "d", "5 min", "\u0661h"),
    *("http://h", "https://h:1/p"),
    *("http://u:p@h", "http://h?q", "/api", "/api/", "api", "all_done", "finished", "FINISHED"),
    *("state", "spark:a", "datasource:d", "task:t", "..", "${X}", "$${X}", "reset", "500"),
    *(Unset("${X}"), Unset("1h"), Unset("finished"), [], {}, ["a"], ["a", "a"], [1, 1.0]),
    *([True, 1], ["a", Unset("a")], {"x": 1}, {1: "a"}, {"job": "a"}, {"on": "start"}),
]


odd = st.sampled_from(ODD)


TEXTS = [value for value in ODD if isinstance(value, str)]
