"""Reading a plan file into plain data, keeping where every key and value stands.

PyYAML's loaders lose positions and silently keep the last of two equal keys, so we compose the node
tree (safe, with the C parser when present) and build the data ourselves: positions for messages,
duplicate keys as problems, `${NAME}` interpolation (`runner.plan.variables`), no YAML aliases (see
`ALIASES`), and only values Python can hold and print: finite floats, integers of at most
`MAX_DIGITS` digits, and each standard tag's value of its own type. Plain scalars are read by YAML
1.2's core schema (`runner.plan.core_schema`), and one that YAML 1.1 reads as another value is a
problem. Deeper than `MAX_DEPTH` levels, a value is a problem, and not read further.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from runner.plan import core_schema
from runner.plan.declarations import declarations
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

Loader: type[yaml.SafeLoader] | type[Any] = core_schema.CoreLoader
_PLAIN_TAGS = core_schema.TYPED
_STRING_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}  # dates stay text
_INT = "tag:yaml.org,2002:int"
_TAG_WORDS = {
    "tag:yaml.org,2002:null": "null",
    _INT: "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
}
_TOO_LARGE = 10**MAX_DIGITS
# Where YAML 1.1's reading means what YAML 1.2's does: `schedules: off` is false in YAML 1.1, and
# the setting takes false as off.
_ALIKE: dict[Path, frozenset[str]] = {("fusion", "schedules"): frozenset({"off", "Off", "OFF"})}
_DECLARATIONS = {("variables",), ("targets",), ("default_target",)}


@dataclass(frozen=True, slots=True)
class Document:
    """A plan's data, with 1-based (line, column) for each value and each mapping key."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    unset: frozenset[Path] = frozenset()  # values that are `Unset`: their variables are not set
    notes: tuple[Problem, ...] = ()  # one per unset value, saying so
    references: frozenset[Path] = frozenset()  # values written as one whole ${NAME}, set or not
    declared: frozenset[str] = frozenset()  # the names under `variables:`
    target: str | None = None  # the target whose values the document was read with
    targets: tuple[str, ...] = ()  # every target the plan has
    # each value a variable gave, as written (`${RETRIES}`): messages name that, never the value
    substituted: Mapping[Path, str] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Where `path` stands; the nearest enclosing value when it is absent (a missing key)."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def shown(self, path: Path, value: object) -> str:
        """`value`, at `path`, as a message quotes it: what was written when a variable gave it."""
        return self.substituted.get(path) or repr(value)

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
    target: str | None = None,
    choose: bool = False,
) -> Document:
    """Data and positions of the single YAML document in `text`; InvalidPlan on any problem.

    Only the variables the plan declares are read (`runner.plan.declarations`), with the values
    of `target`, or of the plan's `default_target:`; UsageError for a target the plan does not
    have and, with `choose`, when the plan has targets and neither says which (without it, no
    target's values are read then).
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
    except RecursionError:  # PyYAML's Python parser, without the C one, nests a call per level
        message = f"invalid YAML: nested too deeply to read: write at most {MAX_DEPTH} levels"
        raise InvalidPlan([Problem(file=file, message=message)]) from None
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
    declared = declarations(root, file)
    target = declared.choose(file, target, required=choose)
    values = declared.values(variables or {}, environ or {}, target)
    builder = _Builder(file, (values,), unset_allowed=unset_allowed)
    builder.declared = frozenset(declared.defaults)
    builder.problems += declared.problems
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
        references=frozenset(builder.references),
        declared=builder.declared,
        target=target,
        targets=tuple(declared.targets),
        substituted=builder.substituted,
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
        self.references: set[Path] = set()  # where a value is one whole ${NAME}
        self.declared: frozenset[str] = frozenset()
        self.substituted: dict[Path, str] = {}  # where a variable gave a value: what was written

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
            found = len(self.problems)
            value = self.typed(node, path, node.tag, text)
            return None if len(self.problems) > found or self.ambiguous(node, path, text) else value
        if node.tag not in _STRING_TAGS:
            self.problem(node, path, f"unsupported YAML tag {_short(node.tag)!r}")
            return None
        if "${" not in text:
            return None if self.ambiguous(node, path, text) else text
        if path[:1] in _DECLARATIONS:  # these are taken as written
            return text
        resolved = interpolate(
            text, self.sources, unset_allowed=self.unset_allowed, declared=self.declared
        )
        if whole_reference(text):
            self.references.add(path)
        for message in resolved.problems:
            self.problem(node, path, message)
        if resolved.unset:
            self.unset.add(path)
            self.problem(node, path, unset_note(resolved.unset), note=True)
            return Unset(text)
        if resolved.names:
            self.substituted[path] = text
        # Plain only: a quoted "${N}" stays text. (The C loader marks plain as "", Python as None.)
        if not node.style and whole_reference(text):
            # `retries: ${RETRIES:-2}` is an integer, as if the value had been written there.
            tag = _resolve(resolved.text)
            if tag in _PLAIN_TAGS:
                before = len(self.problems)
                value = self.typed(node, path, tag, resolved.text)
                if len(self.problems) > before:  # said by its reference, never by its value
                    del self.problems[before:]
                    self.problem(node, path, _unusable_number(text, resolved.names))
                return value
        return resolved.text

    def ambiguous(self, node: yaml.ScalarNode, path: Path, text: str) -> bool:
        """Whether `text`, written plain, is read by YAML 1.1 as another value: a problem, then."""
        alike = _ALIKE.get(path[-2:], ())  # the end of the path: a target's `fusion:` too
        plain = not node.style and node.tag == _resolve(text) and text not in alike
        message = core_schema.ambiguity(text) if plain else None
        if message:
            self.problem(node, path, message)
        return message is not None

    def typed(self, node: yaml.ScalarNode, path: Path, tag: str, text: str) -> Any:
        """The null, boolean, integer or float `text` stands for, if Python can hold and show it."""
        if tag == _INT and sum(map(str.isdigit, text)) > MAX_DIGITS:
            self.problem(node, path, _TOO_MANY_DIGITS)
            return None
        try:
            value = core_schema.construct(tag, text)
        except ValueError:
            # With an explicit tag, a value that does not fit its tag.
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


def _unusable_number(reference: str, names: list[str]) -> str:
    """Why the number a variable gave (not a number, infinite, or too long) is refused."""
    return (
        f"{reference} gives a number no setting can take (not a number, infinite, or more than "
        f"{MAX_DIGITS} digits): set {' and '.join(dict.fromkeys(names))} to a number such as 1.5"
    )


def _resolve(text: str) -> str:
    """The tag YAML 1.2's core schema gives `text` written plain."""
    return core_schema.resolve(text)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 30 else f"{text[:27]}...")
