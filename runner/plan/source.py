"""Reading a plan file into plain data, keeping where every key and value stands.

PyYAML's loaders lose positions and silently keep the last of two equal keys, so we compose the node
tree (safe, with the C parser when present) and build the data ourselves: positions for messages,
duplicate keys as problems, `${NAME}` interpolation (`runner.plan.variables`), no YAML aliases (see
`ALIASES`), and only values Python can hold and print: finite floats, integers of at most
`MAX_DIGITS` digits, and each standard tag's value of its own type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from runner.plan.problems import InvalidPlan, Path, Problem
from runner.plan.variables import Unset, interpolate, unset_note, whole_reference

MAX_PLAN_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
# Far above any setting's bound, and below the 640 digits that Python may be set to convert at most.
MAX_DIGITS = 600
ALIASES = (
    "YAML anchors and aliases are not allowed in plans: write the value out, "
    "or put shared step settings under 'defaults:'"
)

Loader: type[yaml.SafeLoader] | type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.constructor.SafeConstructor()
_RESOLVER = yaml.resolver.Resolver()
_PLAIN_TAGS = {
    "tag:yaml.org,2002:null": _SCALARS.construct_yaml_null,
    "tag:yaml.org,2002:bool": _SCALARS.construct_yaml_bool,
    "tag:yaml.org,2002:int": _SCALARS.construct_yaml_int,
    "tag:yaml.org,2002:float": _SCALARS.construct_yaml_float,
}
_STRING_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}  # dates stay text
_INT = "tag:yaml.org,2002:int"
_TAG_WORDS = {
    _INT: "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
}
_TOO_LARGE = 10**MAX_DIGITS


@dataclass(frozen=True, slots=True)
class Document:
    """A plan's data, with 1-based (line, column) for each value and each mapping key."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    unset: frozenset[Path] = frozenset()  # values that are `Unset`: their variables are not set
    notes: tuple[Problem, ...] = ()  # one per unset value, saying so
    variables: frozenset[str] = frozenset()  # every ${NAME} the text refers to
    references: frozenset[Path] = frozenset()  # values written as one whole ${NAME}, set or not

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Where `path` stands; the nearest enclosing value when it is absent (a missing key)."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        line, column = self.locate(path, key=key)
        return Problem(file=self.file, line=line, column=column, path=path, message=message)


def read_text(path: str, what: str = "the plan") -> str:
    """The text of `what` (the plan, or a scenario) at `path`, or InvalidPlan with one problem
    naming what is wrong with the file."""

    def fail(message: str, line: int | None = None, column: int | None = None) -> InvalidPlan:
        return InvalidPlan([Problem(file=path, message=message, line=line, column=column)])

    try:
        with FsPath(path).open("rb") as stream:
            raw = stream.read(MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise fail(f"cannot read {what}: no such file") from None
    except IsADirectoryError:
        raise fail(f"cannot read {what}: it is a directory, not a file") from None
    except PermissionError:
        raise fail(f"cannot read {what}: permission denied") from None
    except OSError as error:
        raise fail(f"cannot read {what}: {error.strerror or error}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise fail(f"the file is larger than {MAX_PLAN_BYTES // 2**20} MiB, too large to be a plan")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        byte = raw[error.start]
        raise fail(
            f"the plan is not UTF-8 (byte 0x{byte:02x}): save it as UTF-8", line, column
        ) from None


def parse(
    text: str,
    file: str,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    unset_allowed: bool = False,
) -> Document:
    """Data and positions of the single YAML document in `text`; InvalidPlan on any problem.

    With `unset_allowed` (--validate), a value that refers to a variable set nowhere, with no
    default, is `Unset` and noted, where it is otherwise a problem.
    """
    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = f"invalid YAML: {error.problem or error.context}"
        start = error.context_mark
        if error.problem and error.context and start is not None:
            message += (
                f" ({error.context} started at line {start.line + 1}, column {start.column + 1})"
            )
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise InvalidPlan([Problem(file=file, line=line, column=column, message=message)]) from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow; it has no mark
        before = text[: error.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        message = f"invalid YAML: the character U+{error.character:04X} is not allowed: remove it"
        raise InvalidPlan([Problem(file=file, line=line, column=column, message=message)]) from None
    except yaml.YAMLError as error:
        line_of = " ".join(str(error).split())
        raise InvalidPlan([Problem(file=file, message=f"invalid YAML: {line_of}")]) from None
    if root is None:
        raise InvalidPlan(
            [
                Problem(
                    file=file,
                    line=1,
                    column=1,
                    message="the plan is empty: start with 'version: 1'",
                )
            ]
        )
    builder = _Builder(file, (variables or {}, environ or {}), unset_allowed=unset_allowed)
    data = builder.build(root, ())
    if builder.aliases:
        builder.problems += _alias_problems(text, file, builder.aliases)
    if builder.problems:
        raise InvalidPlan(builder.problems, notes=builder.notes)
    unset = frozenset(builder.unset)
    return Document(
        file,
        data,
        builder.values,
        builder.keys,
        unset,
        tuple(builder.notes),
        frozenset(builder.referenced),
        frozenset(builder.references),
    )


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _alias_problems(text: str, file: str, paths: list[Path]) -> list[Problem]:
    """One problem per anchor, at its first alias. Rare, so the second pass costs nothing usually.

    The builder meets repeated nodes in document order without descending into them, which is
    the order of the parser's alias events, so the n-th event is the n-th repeat.
    """
    events = [e for e in yaml.parse(text, Loader=Loader) if isinstance(e, yaml.AliasEvent)]
    problems, reported = [], set()
    for path, event in zip(paths, events, strict=False):
        if event.anchor in reported:
            continue
        reported.add(event.anchor)
        message = ALIASES.replace("plans:", f"plans (*{event.anchor} here):", 1)
        mark = event.start_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problems.append(Problem(file=file, line=line, column=column, path=path, message=message))
    return problems


class _Builder:
    def __init__(
        self, file: str, sources: tuple[Mapping[str, str], ...], *, unset_allowed: bool
    ) -> None:
        self.file = file
        self.sources = sources
        self.unset_allowed = unset_allowed
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []
        self.unset: set[Path] = set()
        self.values: dict[Path, tuple[int, int]] = {}
        self.keys: dict[Path, tuple[int, int]] = {}
        self.seen: set[int] = set()
        self.aliases: list[Path] = []  # where a node is repeated: one per alias, in document order
        self.referenced: set[str] = set()  # the names of every ${NAME}, with a default or not
        self.references: set[Path] = set()  # where a value is one whole ${NAME}

    def problem(self, node: yaml.Node, path: Path, message: str, *, note: bool = False) -> None:
        mark = node.start_mark
        (self.notes if note else self.problems).append(
            Problem(
                file=self.file,
                line=mark.line + 1,
                column=mark.column + 1,
                path=path,
                message=message,
            )
        )

    def build(self, node: yaml.Node, path: Path) -> Any:
        if id(node) in self.seen:
            self.aliases.append(path)
            return None
        self.seen.add(id(node))
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) > MAX_DEPTH:
            self.problem(node, path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        if isinstance(node, yaml.MappingNode) and node.tag == "tag:yaml.org,2002:map":
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and node.tag == "tag:yaml.org,2002:seq":
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.problem(node, path, f"unsupported YAML tag {_short(node.tag)!r}")
        return None

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a mapping key must be a plain string")
                continue
            key = str(key_node.value)
            self.keys[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in first_line:
                self.problem(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {first_line[key]}): "
                    "YAML would keep only the last one; remove one of them",
                )
            first_line.setdefault(key, key_node.start_mark.line + 1)
            out[key] = self.build(value_node, (*path, key))
        return out

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        text = str(node.value)
        if node.tag in _PLAIN_TAGS:
            return self.typed(node, path, node.tag, text)
        if node.tag not in _STRING_TAGS:
            self.problem(node, path, f"unsupported YAML tag {_short(node.tag)!r}")
            return None
        if "${" not in text:
            return text
        resolved = interpolate(text, self.sources, unset_allowed=self.unset_allowed)
        self.referenced.update(resolved.names)
        if whole_reference(text):
            self.references.add(path)
        for message in resolved.problems:
            self.problem(node, path, message)
        if resolved.unset:
            self.unset.add(path)
            self.problem(node, path, unset_note(resolved.unset), note=True)
            return Unset(text)
        # Plain only: a quoted "${N}" stays text. (The C loader marks plain as "", Python as None.)
        if not node.style and whole_reference(text):
            # `retries: ${RETRIES:-2}` is an integer, as if the value had been written there.
            tag = _resolve(resolved.text)
            if tag in _PLAIN_TAGS:
                return self.typed(node, path, tag, resolved.text, implicit=True)
        return resolved.text

    def typed(
        self, node: yaml.ScalarNode, path: Path, tag: str, text: str, *, implicit: bool = False
    ) -> Any:
        """The null, boolean, integer or float `text` stands for, if Python can hold and show it."""
        if tag == _INT and sum(map(str.isdigit, text)) > MAX_DIGITS:
            self.problem(node, path, _TOO_MANY_DIGITS)
            return None
        try:
            value = _PLAIN_TAGS[tag](yaml.ScalarNode(tag, text))
        except (ValueError, KeyError):
            # YAML's patterns take text such as `0b_` or `._` for numbers: as plain text, it is
            # text. With an explicit tag, it is a value that does not fit its tag.
            if implicit or (not node.style and _resolve(text) == tag):
                return text
            word, short = _TAG_WORDS[tag], _short(tag)
            self.problem(
                node,
                path,
                f"{_shown(text)} is not {word} as its tag {short} says: remove the tag, "
                f"or write {word}",
            )
            return None
        if isinstance(value, float) and math.isnan(value):
            self.problem(node, path, f"{_shown(text)} is not a number: write a number such as 1.5")
            return None
        if isinstance(value, float) and math.isinf(value):
            what = "infinite" if text.lstrip("+-").lower() == ".inf" else "too large"
            self.problem(node, path, f"{_shown(text)} is {what}: write a number such as 1.5")
            return None
        if isinstance(value, int) and abs(value) >= _TOO_LARGE:
            self.problem(node, path, _TOO_MANY_DIGITS)
            return None
        return value


_TOO_MANY_DIGITS = (
    f"a number of more than {MAX_DIGITS} digits is too large for any setting: write a smaller one"
)


def _resolve(text: str) -> str:
    """The tag YAML gives `text` written plain."""
    return str(_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]


def _shown(text: str) -> str:
    return repr(text if len(text) <= 30 else f"{text[:27]}...")
