"""A fast yes to "does this document fit its schema?", so that a valid plan never imports
jsonschema (about 45 ms, a third of `fusion-run --validate`).

It knows only the keywords fusion-run's schemas use (`KEYWORDS` and `ANNOTATIONS`; a test fails
if a schema uses another), with the meaning `runner.plan.keywords` gives them, and it only ever says
yes when that validator would: wherever its answer could differ (a value of a type JSON has not,
such as an `Unset`; a number that is not finite; equality between values of different types, as
1 and 1.0; a repeated item) it says "not proven", and `runner.plan.validate` asks jsonschema, which
also words the problems. So a document is judged by jsonschema's rules either way: this only
skips the import when nothing is wrong. A test compares the two on documents near validity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from runner.durations import exceeds, parse_duration

# Keywords that constrain nothing: jsonschema ignores them (patternErrorMessage is ours).
ANNOTATIONS = frozenset({"$defs", "title", "description", "patternErrorMessage"})
KEYWORDS = frozenset(
    {"$schema", "$id", "$ref", "type", "enum", "const", "pattern", "minLength", "minimum"}
    | {"maximum", "maxDuration", "items", "minItems", "uniqueItems", "properties"}
    | {"additionalProperties", "required", "anyOf", "oneOf"}
)

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),  # as in `runner.plan.keywords`: 60.0 is no integer
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})  # exactly: no subclass
_ATOMS = frozenset({str, bool, type(None)})  # equal only when == says so, whatever JSON says


def fits(instance: Any, schema: dict[str, Any]) -> bool:
    """True only if `instance` is valid against `schema`; False means "ask jsonschema"."""
    return _fits(instance, schema, schema)


def _fits(value: Any, schema: Any, root: dict[str, Any]) -> bool:
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict) or type(value) not in _PLAIN:
        return False
    if type(value) is float and not math.isfinite(value):
        return False
    if type(value) is dict and not all(type(key) is str for key in value):
        return False
    for keyword, expected in schema.items():
        if keyword in ANNOTATIONS:
            continue
        check = _CHECKS.get(keyword)
        if check is None or not check(value, expected, schema, root):
            return False
    return True


def _type(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    return any(type(value) in _TYPES.get(name, ()) for name in names)  # so True is no integer


def _same(value: Any, option: Any) -> bool:
    """Equal as JSON Schema counts it; unsure (1 against 1.0, containers) counts as not."""
    return type(value) is type(option) and type(value) not in (dict, list) and value == option


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _properties(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if type(value) is not dict:
        return True
    return all(_fits(value[key], rule, root) for key, rule in expected.items() if key in value)


def _additional(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if type(value) is not dict:
        return True
    named = schema.get("properties", {})
    return all(_fits(item, expected, root) for key, item in value.items() if key not in named)


def _items(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    return type(value) is not list or all(_fits(item, expected, root) for item in value)


def _unique(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if not expected or type(value) is not list:
        return True
    keys = {(type(item), item) for item in value if type(item) in _ATOMS}
    return len(keys) == len(value)  # anything else, or a repeat: let jsonschema judge


def _ref(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    """Only a JSON pointer into the schema itself: `#/$defs/step`."""
    if not isinstance(expected, str) or not expected.startswith("#/"):
        return False
    target: Any = root
    for part in expected[2:].split("/"):
        if not isinstance(target, dict):
            return False
        target = target.get(part.replace("~1", "/").replace("~0", "~"))
    return _fits(value, target, root)


def _one_of(value: Any, expected: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    """Only branches of `required` alone, whose answers are exact: exactly one must fit. Any
    other branch may be "not proven" where jsonschema says yes, so the count is not proven."""
    if not all(isinstance(b, dict) and set(b) == {"required"} for b in expected):
        return False
    return sum(_fits(value, branch, root) for branch in expected) == 1


_Check = Callable[[Any, Any, dict[str, Any], dict[str, Any]], bool]
_CHECKS: dict[str, _Check] = {
    "$schema": lambda v, e, s, r: s is r,  # anywhere else, a schema of its own: not proven
    "$id": lambda v, e, s, r: s is r,
    "$ref": _ref,
    "type": _type,
    "enum": lambda v, e, s, r: any(_same(v, option) for option in e),
    "const": lambda v, e, s, r: _same(v, e),
    "pattern": lambda v, e, s, r: type(v) is not str or re.search(e, v) is not None,
    "minLength": lambda v, e, s, r: type(v) is not str or len(v) >= e,
    "minimum": lambda v, e, s, r: not _number(v) or v >= e,
    "maximum": lambda v, e, s, r: not _number(v) or v <= e,
    "maxDuration": lambda v, e, s, r: type(v) is not str or not exceeds(v, parse_duration(e)),
    "items": _items,
    "minItems": lambda v, e, s, r: type(v) is not list or len(v) >= e,
    "uniqueItems": _unique,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": lambda v, e, s, r: type(v) is not dict or all(k in v for k in e),
    "anyOf": lambda v, e, s, r: any(_fits(v, branch, r) for branch in e),
    "oneOf": _one_of,
}
