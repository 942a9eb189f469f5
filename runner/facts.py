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
import math
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


class BadFact(ValueError):
    """A fact this fusion-run would not have written: says which field, and what is wrong."""


def from_fact(data: Any) -> Fact:
    """The reason `data` records; BadFact for anything but a fact as `to_fact` writes one: a kind
    this fusion-run knows, every field it needs and no other, each of its type."""
    if not isinstance(data, dict):
        raise BadFact(f"a reason is an object with a kind, not {_short(data)}")
    kind = data.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise BadFact(f"unknown kind of reason: {_short(kind)}")
    fact: Fact = _build(cls, data, str(kind), {"kind"})
    return fact


def _build(cls: type, data: dict[str, Any], kind: str, skip: set[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    extra = sorted(set(data) - set(fields) - skip)
    if extra:
        raise BadFact(f"{kind} has no field {extra[0]!r}")
    given = {}
    for name, field in fields.items():
        if name in data:
            given[name] = _decode(data[name], hints[name], f"{kind}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise BadFact(f"{kind} lacks {name!r}")
    return cls(**given)


def criterion_fact(criterion: Criterion) -> dict[str, Any]:
    return _fields(criterion)


def criterion_from_fact(data: Any) -> Criterion:
    decoded: Criterion = _decode(data, Criterion, "criterion")
    return decoded


def encode(value: Any) -> Any:
    """Any value of a fact, an event or a criterion as JSON writes it: enums as their values,
    reasons and causes as facts, criteria as objects, tuples as lists."""
    return _encode(value)


def kind_of(cls: type) -> str:
    """A class's name in snake case, as a fact's kind (and an event's name) is written."""
    return _kind(cls)


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


def _decode(value: Any, hint: Any, where: str) -> Any:
    """`value` read as a field of type `hint`; BadFact naming the field (`where`) if it is not."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
        elif isinstance(value, dict) and "kind" in value:
            fact = from_fact(value)
            if isinstance(fact, tuple(arg for arg in args if isinstance(arg, type))):
                return fact
            raise BadFact(f"{where} cannot be a {value['kind']}")
        else:
            for member in args:
                try:
                    return _decode(value, member, where)
                except BadFact:
                    continue
        raise BadFact(f"{where} is {_short(value)}")
    if origin is tuple:
        if not isinstance(value, list):
            raise BadFact(f"{where} is {_short(value)}, not a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(item, args[0], where) for item in value)
        if len(value) != len(args):
            raise BadFact(f"{where} has {len(value)} items, not {len(args)}")
        return tuple(_decode(item, arg, where) for item, arg in zip(value, args, strict=True))
    if hint is Criterion:
        if not isinstance(value, dict):
            raise BadFact(f"{where} is {_short(value)}, not an object")
        return _build(Criterion, value, where, {"reason"})  # its words, beside its figures
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise BadFact(f"{where} is {_short(value)}") from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fact = from_fact(value)
        if not isinstance(fact, hint):
            raise BadFact(f"{where} cannot be a {value['kind']}")
        return fact
    if _fits(value, hint):
        return value
    raise BadFact(f"{where} is {_short(value)}, not {getattr(hint, '__name__', hint)}")


def _fits(value: Any, hint: Any) -> bool:
    if hint is float:  # an int is a float in JSON; NaN and infinities are no figures
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and math.isfinite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
