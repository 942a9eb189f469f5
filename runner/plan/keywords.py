"""The JSON Schema validator fusion-run checks plans and scenarios with.

It is Draft 2020-12 with three differences, each so that what validates also runs:

- `uniqueItems` takes linear time. jsonschema's own check compares every pair of items when they
  cannot be sorted (mixed types), which takes seconds at 10,000 items. Here each item is reduced
  once to a canonical JSON text (`canonical`) and looked up in a set.
- `maxDuration`, a keyword of ours, bounds a duration written as text ("400d"); `maximum` bounds
  one written as whole seconds. Other validators ignore it, as they ignore `patternErrorMessage`.
- An integer is an int, never a float such as 60.0 (which the spec counts as an integer, but
  which no setting can use as a count or a number of seconds).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any, cast

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator

from runner.durations import exceeds, parse_duration


def canonical(value: Any) -> str:
    """One text per JSON value, the same for values JSON Schema counts as equal.

    >>> canonical({"b": 1.0, "a": [True]}) == canonical({"a": [True], "b": 1}), canonical(1)
    (True, '1')
    """
    return json.dumps(_normal(value), sort_keys=True, ensure_ascii=False)


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1.0 equals 1; True stays true, unlike 1
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    return value


def repeats(items: list[Any]) -> Iterator[int]:
    """The index of every item equal to one before it, in one pass."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        key = canonical(item)
        if key in seen:
            yield index
        seen.add(key)


def _unique_items(
    validator: Validator, unique: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if unique and validator.is_type(instance, "array"):
        for _ in repeats(instance):
            yield ValidationError("has non-unique elements")
            return


def _max_duration(
    validator: Validator, limit: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and exceeds(instance, parse_duration(limit)):
        yield ValidationError(f"longer than {limit}")


def _is_integer(_: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def validator_class() -> type[Validator]:
    """Draft 2020-12 with the differences above."""
    extended = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        {"uniqueItems": _unique_items, "maxDuration": _max_duration},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
    )
    return cast(type[Validator], extended)
