"""YAML 1.2's core schema for PyYAML, and the plain scalars that YAML 1.1 reads otherwise.

PyYAML resolves plain scalars as YAML 1.1 does, where `1:30` is 90, `010` is 8 and `yes` is true;
editors, `check-jsonschema` and YAML 1.2 read them as text, 10 and text. `CoreLoader` is PyYAML's
safe loader (the C one when present) with YAML 1.2's core resolvers instead, and `construct` gives
each core tag's value. `ambiguity` says why a plain scalar may not stand in a plan: YAML 1.1 (as
PyYAML reads it) gives it another value than YAML 1.2, so the file means two things.

    >>> [construct(resolve(text), text) for text in ("010", "0o17", "0x1F", "1:30", "yes", "~")]
    [10, 15, 31, '1:30', 'yes', None]
    >>> ambiguity("010")
    "010 is 10 in YAML 1.2 but 8 in YAML 1.1: write 10 (or quote it: '010')"
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

import yaml

from runner.durations import format_duration

NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
STR = "tag:yaml.org,2002:str"

# The core schema's patterns (YAML 1.2.2, section 10.3.2), in its order of precedence.
_PATTERNS = {
    NULL: re.compile(r"null|Null|NULL|~|"),
    BOOL: re.compile(r"true|True|TRUE|false|False|FALSE"),
    INT: re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
    FLOAT: re.compile(
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    ),
}
_FIRST = {
    NULL: ["~", "n", "N", ""],
    BOOL: ["t", "T", "f", "F"],
    INT: [*"-+0123456789"],
    FLOAT: [*"-+.0123456789"],
}
TYPED = frozenset(_PATTERNS)
# Longer plain scalars are read as YAML 1.2 reads them, unchecked: YAML 1.1's reading of a
# sexagesimal number costs time that grows with the square of its length.
_LONGEST = 100
# YAML 1.1's booleans that PyYAML reads as text, but the 1.1 specification (and readers that follow
# it, such as Go's yaml.v2) as true or false.
_SHORT_BOOLEANS = {"y": True, "Y": True, "n": False, "N": False}
# YAML 1.1's tags for `<<` and `=`, which safe loaders have no value for.
_UNREADABLE = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
# Text in YAML 1.2 and 1.1 that ruamel.yaml, check-jsonschema's reader, takes for a number: digits
# with underscores (`01_90_`, `._1`), and a signed octal (`-0o7`).
_OTHER_NUMBERS = re.compile(
    r"(?=[-+]?[0-9._]*_)(?=.*[0-9])(?:[-+][0-9._]+|[0-9.][0-9._]*)|[-+]0o[0-7_]+"
)
_TEXT = frozenset({STR, "tag:yaml.org,2002:timestamp"})  # dates: text in a plan, as in YAML 1.2

_Base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CoreLoader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader, resolving plain scalars by YAML 1.2's core schema."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


for _tag, _pattern in _PATTERNS.items():
    CoreLoader.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern.pattern})$"), _FIRST[_tag])

_V11 = yaml.resolver.Resolver()
_V11_VALUES: dict[str, Callable[[yaml.ScalarNode], Any]] = {
    NULL: yaml.constructor.SafeConstructor().construct_yaml_null,
    BOOL: yaml.constructor.SafeConstructor().construct_yaml_bool,
    INT: yaml.constructor.SafeConstructor().construct_yaml_int,
    FLOAT: yaml.constructor.SafeConstructor().construct_yaml_float,
}


def resolve(text: str) -> str:
    """The tag YAML 1.2's core schema gives `text` written plain."""
    return next((tag for tag, pattern in _PATTERNS.items() if pattern.fullmatch(text)), STR)


def construct(tag: str, text: str) -> Any:
    """The value of `text` under `tag` (str, null, bool, int or float) by the core schema;
    ValueError when the text is not one of the tag's. Integers are converted without their leading
    zeros, so that only their significant digits count against Python's limit on conversion."""
    if tag == STR:
        return text
    if not _PATTERNS[tag].fullmatch(text):
        raise ValueError(f"not {tag}: {text!r}")
    if tag == NULL:
        return None
    if tag == BOOL:
        return text.lower() == "true"
    if tag == INT:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        sign = "-" if text.startswith("-") else ""
        return int(sign + (text.lstrip("+-").lstrip("0") or "0"))
    if text.lstrip("+-").startswith(".") and text[-1].isalpha():  # .inf, -.Inf, .NaN
        return float(text.replace(".", "", 1))
    return float(text)


def ambiguity(text: str) -> str | None:
    """Why the plain scalar `text` is refused: YAML 1.1 reads it as another value than YAML 1.2
    does or cannot read it (`0b_`, `<<`), with the spelling that both read alike. None when they
    agree, and for dates, which YAML 1.1 reads as dates but plans take as text."""
    if len(text) > _LONGEST:
        return None
    old_tag = str(_V11.resolve(yaml.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]
    new_tag = resolve(text)
    if old_tag in _TEXT and new_tag not in TYPED and text not in _SHORT_BOOLEANS:
        return _other_number(text)
    new = construct(new_tag, text)
    if text in _SHORT_BOOLEANS:
        old: Any = _SHORT_BOOLEANS[text]
    elif old_tag in TYPED:
        try:
            old = _V11_VALUES[old_tag](yaml.ScalarNode(old_tag, text))
        except (ValueError, KeyError, IndexError):  # `0b_`: its pattern, but no integer
            return _unreadable(text, new)
    elif old_tag in _UNREADABLE:
        return _unreadable(text, new)
    else:
        old = text
    if _same(old, new):
        return None
    if new_tag in TYPED:
        fix = _spelling(new)
    elif old_tag == INT and ":" in text and old > 0:  # sexagesimal: most likely a duration
        fix = " or ".join(dict.fromkeys((f"{old}s", format_duration(old))))
    else:
        fix = _spelling(old)
    return (
        f"{text} is {_described(new)} in YAML 1.2 but {_described(old)} in YAML 1.1: "
        f"write {fix} (or quote it: '{text}')"
    )


def _other_number(text: str) -> str | None:
    if not _OTHER_NUMBERS.fullmatch(text):
        return None
    return (
        f"{text} is text in YAML 1.2 and 1.1 but a number to ruamel.yaml (and so to "
        f"check-jsonschema): quote it: '{text}'"
    )


def _unreadable(text: str, new: Any) -> str:
    return (
        f"{text} is {_described(new)} in YAML 1.2 but YAML 1.1 cannot read it: quote it: '{text}'"
    )


def _same(old: Any, new: Any) -> bool:
    if type(old) is not type(new):
        return False
    if isinstance(new, float) and math.isnan(new):
        return math.isnan(old)
    return bool(old == new)


def _spelling(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _described(value: Any) -> str:
    return "text" if isinstance(value, str) else _spelling(value)
