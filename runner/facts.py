"""Reasons as data in the report: each typed reason (`runner.reasons`) as a JSON object with its
`kind` and its figures, and back. The report keeps the words too (`runner.wording`), for people;
a resume reads only the facts, so rewording a message never changes what a resume does.

    NotStarted(cause=FailFast(step="crawl"))
    {"kind": "not_started", "cause": {"kind": "fail_fast", "step": "crawl", "skipped": false}}

Every reason and cause type has a kind: its class name in snake case (`KINDS`). Enums are written
as their values, criteria as objects, tuples as lists.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from typing import Any, get_args, get_origin

from runner import reasons
from runner.criteria import Criterion

Fact = reasons.Reason | reasons.Cause | reasons.StepsFailed | reasons.ReportLost


def _members(union: Any) -> list[type]:
    return [member for member in get_args(union) if isinstance(member, type)]


def _kind(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


KINDS: dict[str, type] = {_kind(cls): cls for cls in _members(Fact)}


def to_fact(value: Fact) -> dict[str, Any]:
    """`value` as a JSON object: its kind, then each field."""
    return {"kind": _kind(type(value)), **_fields(value)}


def from_fact(data: dict[str, Any]) -> Fact:
    """The reason `data` records; ValueError for a kind this fusion-run does not know."""
    cls = KINDS.get(data.get("kind", ""))
    if cls is None:
        raise ValueError(f"unknown kind of reason: {data.get('kind')!r}")
    hints = typing.get_type_hints(cls)
    given = {
        field.name: _decode(data[field.name], hints[field.name])
        for field in dataclasses.fields(cls)
        if field.name in data
    }
    fact: Fact = cls(**given)
    return fact


def criterion_fact(criterion: Criterion) -> dict[str, Any]:
    return _fields(criterion)


def criterion_from_fact(data: dict[str, Any]) -> Criterion:
    decoded: Criterion = _decode(data, Criterion)
    return decoded


def _fields(value: Any) -> dict[str, Any]:
    return {field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)}


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Criterion):
        return _fields(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_fact(typing.cast(Fact, value))
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict) and "kind" in value:
        return from_fact(value)
    origin = get_origin(hint)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(item, args[0]) for item in value)
        return tuple(_decode(item, arg) for item, arg in zip(value, args, strict=True))
    if hint is Criterion:
        hints = typing.get_type_hints(Criterion)
        return Criterion(
            **{name: _decode(value[name], hints[name]) for name in hints if name in value}
        )
    for member in get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,):
        if isinstance(member, type) and issubclass(member, enum.Enum):
            return member(value)
    return value
