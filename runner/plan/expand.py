"""`for_each`: a step written once and run once per value, expanded before the plan is checked.

A step's `for_each` is a list of values (`[products, articles]`), a list of mappings, or a matrix
(a mapping of lists: every combination, the first key varying slowest). Each value gives one step:
`${{ item }}` (a value) or `${{ item.KEY }}` (a mapping's or the matrix's) is replaced in every
string of the step; a string that is one placeholder takes the value as written, a number stays
a number. The step's `name:` becomes `<name>-<value>` (a mapping's values joined with `-` in the
order they are written); a step with no `name:`, or one with a placeholder in it, is named as its
values make it.

The steps of one `for_each` run side by side: with no `depends_on`, each waits for the step listed
before the `for_each` step, and a step listed after it with no `depends_on` waits for all of them.
A `depends_on` that names a `for_each` step names all its steps. Every later stage (validation,
--dry-run, --graph, selection, the run, the report) sees only the expanded, plain steps;
`Expansion.restore` puts each problem found in them back at the `for_each` step's place in the
file, naming the expanded step.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.plan.problems import Path, Problem
from runner.plan.source import Document
from runner.plan.validate import step_name
from runner.plan.variables import Unset

MAX_FROM_ONE = 1000  # steps one for_each may make
MAX_FROM_ALL = 10000  # steps every for_each of a plan may make together

_PLACEHOLDER = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_ITEM = re.compile(r"\s*item(?:\.([A-Za-z_][A-Za-z0-9_-]*))?\s*")
_SHOWN = re.compile(r"[\w. -]{1,40}")
_SHAPE = (
    "for_each takes a list of values, a list of mappings, or a mapping of lists (a matrix), "
    "e.g. for_each: [products, articles]"
)
_VALUE = "a for_each value must be a string, a number or true/false"


@dataclass(frozen=True, slots=True)
class _Item:
    label: str  # what the step's name gets after `<name>-`; `Unset` when a value is
    value: Any  # the value itself, or a mapping of them
    keyed: bool  # a mapping's or a matrix's item: ${{ item.KEY }}


@dataclass(slots=True)
class Expansion:
    """The plan with each `for_each` step replaced by its steps, and where each step came from."""

    doc: Document
    origins: list[int]  # for each step of `doc`, the index of the step written in the file
    names: dict[int, str] = field(default_factory=dict)  # each step from a for_each: its name
    sizes: dict[int, int] = field(default_factory=dict)  # each for_each step: how many it made
    written: dict[int, str] = field(default_factory=dict)  # each step from a for_each: the name
    # (else the job) of that for_each step as the file writes it
    problems: list[Problem] = field(default_factory=list)  # in a for_each or a placeholder
    quiet: frozenset[Path] = frozenset()  # where the plan is not judged further: at `problems`,
    # and a for_each step refused, which stays once as written

    @property
    def from_for_each(self) -> int:
        """How many of the plan's steps a for_each made."""
        return sum(self.sizes.values())

    def restore(self, problems: Sequence[Problem]) -> list[Problem]:
        """The expansion's problems, and each of `problems` at its place in the file: one in an
        expanded step at its `for_each` step, naming the expanded steps it was found in, once for
        all of them; none where the expansion found one already (`quiet`)."""
        if not self.names and not self.quiet and len(self.origins) == len(set(self.origins)):
            return list(problems)
        found: dict[tuple[Any, ...], list[str]] = {}
        for problem in problems:
            path, name = problem.path, None
            if path is not None and len(path) >= 2 and path[0] == "steps":
                index = path[1]
                if isinstance(index, int) and index < len(self.origins):
                    name = self.names.get(index)
                    path = ("steps", self.origins[index], *path[2:])
            if path is not None and any(path[: len(at)] == at for at in self.quiet):
                continue
            key = (problem.file, problem.line, problem.column, path, problem.message)
            names = found.setdefault(key, [])
            if name is not None and name not in names:
                names.append(name)
        out = []
        for (file, line, column, path, message), names in found.items():
            said = f"{_in_steps(names)}: {message}" if names else message
            out.append(Problem(file=file, line=line, column=column, path=path, message=said))
        return [*self.problems, *out]


def _in_steps(names: list[str]) -> str:
    shown = [repr(name) for name in names[:3]]
    if len(names) == 1:
        return f"for_each step {shown[0]}"
    if len(names) > 3:
        return f"for_each steps {', '.join(shown)} and {len(names) - 3} more"
    return f"for_each steps {', '.join(shown[:-1])} and {shown[-1]}"


def expand(doc: Document) -> Expansion:
    """`doc` with every `for_each` expanded, and every problem in a `for_each`, in a placeholder,
    or in a placeholder outside a `for_each` step; a `for_each` refused leaves its step as written,
    once."""
    data = doc.data
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return Expansion(doc, [])
    problems = [doc.problem(path, message) for path, message in _stray_placeholders(data, steps)]
    if not any(isinstance(step, dict) and "for_each" in step for step in steps):
        quiet = frozenset(problem.path for problem in problems if problem.path is not None)
        return Expansion(doc, list(range(len(steps))), problems=problems, quiet=quiet)
    return _Expander(doc, steps, problems).run()


def _stray_placeholders(data: dict[str, Any], steps: list[Any]) -> Iterator[tuple[Path, str]]:
    """Each placeholder where no for_each gives it a value."""
    for key, value in data.items():
        if key != "steps":
            for path, text in _strings(value, (key,)):
                yield from _stray(path, text, "which only a step's values may hold: remove it")
    for index, step in enumerate(steps):
        if isinstance(step, dict) and "for_each" in step:
            for path, text in _strings(step["for_each"], ("steps", index, "for_each")):
                yield from _stray(path, text, "and for_each's own values are not replaced")
        else:
            for path, text in _strings(step, ("steps", index)):
                yield from _stray(
                    path, text, "and this step has no for_each: add one, or remove it"
                )


def _stray(path: Path, text: str, why: str) -> Iterator[tuple[Path, str]]:
    match = _PLACEHOLDER.search(text)
    if match is not None:
        yield path, f"{_shown(match)} is a for_each placeholder, {why}"


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        if "${{" in value:
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _shown(match: re.Match[str]) -> str:
    """A placeholder as messages show it: its text when it is a plain name (it may come from a
    variable, whose value is never shown)."""
    inner = match.group(1).strip()
    return f"${{{{ {inner} }}}}" if _SHOWN.fullmatch(inner) else "${{ ... }}"


def _without_depends_on(step: Any) -> bool:
    return isinstance(step, dict) and "depends_on" not in step


def _written(step: dict[str, Any]) -> str:
    name = step.get("name", step.get("job"))
    return name if isinstance(name, str) else str(step_name(step))


def _label(values: Iterable[Any]) -> str:
    """The values joined with `-`, as a step's name ends; `Unset` if a variable in one is."""
    values = list(values)
    label = "-".join(map(_text, values))
    return Unset(label) if any(isinstance(value, Unset) for value in values) else label


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Expander:
    """One pass over a plan's steps, each `for_each` step replaced by the steps it makes, with
    every problem found noted in `problems`."""

    def __init__(self, doc: Document, steps: list[Any], problems: list[Problem]) -> None:
        self.doc = doc
        self.steps = steps
        self.problems = problems
        self.groups: dict[str, list[str]] = {}  # a for_each step's name: its steps' names
        self.total = 0
        self.refused: set[Path] = set()  # each for_each step refused, kept once as written

    def run(self) -> Expansion:
        made: list[tuple[int, Any, str | None]] = []  # (origin, step, its name if for_each)
        sizes: dict[int, int] = {}
        before: list[str] = []  # the names of the entry listed before, for one with no depends_on
        after_group = False
        for index, step in enumerate(self.steps):
            items, plain = None, step
            if isinstance(step, dict) and "for_each" in step:
                items = self.items(step["for_each"], ("steps", index, "for_each"))
                if items is None:  # refused: the step stays once, judged no further
                    self.refused.add(("steps", index))
                    plain = {key: value for key, value in step.items() if key != "for_each"}
            if items is None:
                if after_group and (isinstance(plain, str) or _without_depends_on(plain)):
                    shorthand = plain if isinstance(plain, dict) else {"job": plain}
                    own = step_name(shorthand)  # one of the names before: a duplicate, said so
                    plain = {**shorthand, "depends_on": [n for n in before if n != own]}
                made.append((index, plain, None))
                name = step_name(plain)
                before, after_group = ([] if name is None else [name]), False
                continue
            expanded = self.expand_step(step, items, ("steps", index), before)
            sizes[index] = len(expanded)
            pairs = [(one, step_name(one)) for one in expanded]
            made += [(index, one, name or "") for one, name in pairs]
            names = [name for _, name in pairs if name is not None]
            own = step.get("name")
            if isinstance(own, str) and not _PLACEHOLDER.search(own):
                self.groups[own] = names
            before, after_group = names, True
        self.check_group_names(made)
        steps = [self.fan_in(step) for _, step, _ in made]
        origins = [origin for origin, _, _ in made]
        named = {at: name for at, (_, _, name) in enumerate(made) if name is not None}
        written = {at: _written(self.steps[origins[at]]) for at in named}
        quiet = {problem.path for problem in self.problems if problem.path is not None}
        return Expansion(
            self.relocated(steps, origins),
            origins,
            named,
            sizes,
            written,
            self.problems,
            frozenset(quiet | self.refused),
        )

    def expand_step(
        self, step: dict[str, Any], items: list[_Item], where: Path, before: list[str]
    ) -> list[Any]:
        base = {key: value for key, value in step.items() if key != "for_each"}
        if "depends_on" not in base:
            base["depends_on"] = list(before)
        own = base.get("name")
        suffixed = isinstance(own, str) and not _PLACEHOLDER.search(own)
        out = []
        for item in items:
            one = self.fill(base, item, where)
            if suffixed:
                name = f"{own}-{item.label}"
                one["name"] = Unset(name) if isinstance(item.label, Unset) else name
            out.append(one)
        return out

    def items(self, spec: Any, path: Path) -> list[_Item] | None:
        """The values of one `for_each`, or None with its problems noted."""
        if isinstance(spec, dict):
            return self.matrix(spec, path)
        if not isinstance(spec, list):
            self.problems.append(self.doc.problem(path, _SHAPE))
            return None
        if not spec:
            self.problems.append(
                self.doc.problem(path, "for_each is empty: list one value or more")
            )
            return None
        if not self.within(len(spec), path):
            return None
        items = []
        for position, value in enumerate(spec):
            at = (*path, position)
            if isinstance(value, dict):
                if not value:
                    self.problems.append(self.doc.problem(at, "an empty mapping: give it keys"))
                elif self.scalars([((*at, key), one) for key, one in value.items()]):
                    items.append(_Item(_label(value.values()), value, keyed=True))
            elif self.scalars([(at, value)]):
                items.append(_Item(_label([value]), value, keyed=False))
        if len(items) < len(spec) or self.repeats([item.label for item in items], path):
            return None
        return items

    def matrix(self, spec: dict[str, Any], path: Path) -> list[_Item] | None:
        if not spec:
            self.problems.append(self.doc.problem(path, "for_each is empty: give the matrix keys"))
            return None
        ok = True
        for key, values in spec.items():
            if not isinstance(values, list) or not values:
                message = "a matrix key takes a list of one value or more"
                self.problems.append(self.doc.problem((*path, key), message))
                ok = False
            elif not self.scalars([((*path, key, at), one) for at, one in enumerate(values)]):
                ok = False
        if not ok or not self.within(math.prod(len(v) for v in spec.values()), path):
            return None
        keys = list(spec)
        if any(self.repeats(list(map(_text, v)), (*path, k)) for k, v in spec.items()):
            return None
        return [
            _Item(_label(combination), dict(zip(keys, combination, strict=True)), keyed=True)
            for combination in itertools.product(*spec.values())
        ]

    def repeats(self, labels: list[str], path: Path) -> bool:
        """Whether a label is listed twice, which would name two steps alike; a problem if so."""
        seen: dict[str, int] = {}
        for position, label in enumerate(labels):
            if label in seen:  # not shown: it may be a variable's value
                line, column = self.doc.locate((*path, seen[label]))
                message = (
                    f"the same value as at line {line}, column {column}: two steps would have "
                    "one name; list each value once"
                )
                self.problems.append(self.doc.problem((*path, position), message))
                return True
            seen[label] = position
        return False

    def scalars(self, values: list[tuple[Path, Any]]) -> bool:
        """Whether each value is one a name can hold; a problem at each that is not."""
        wrong = [path for path, value in values if value is None or isinstance(value, (list, dict))]
        self.problems += [self.doc.problem(path, _VALUE) for path in wrong]
        return not wrong

    def within(self, count: int, path: Path) -> bool:
        """Whether `count` more steps keep within the limits; a problem at `path` if not."""
        self.total += count
        if count > MAX_FROM_ONE:
            message = (
                f"for_each would make {count} steps, more than the {MAX_FROM_ONE} one step may "
                "make: list fewer values, or split it into several steps"
            )
        elif self.total > MAX_FROM_ALL:
            message = (
                f"the for_each steps would make more than {MAX_FROM_ALL} steps in all: "
                "list fewer values"
            )
        else:
            return True
        self.problems.append(self.doc.problem(path, message))
        return False

    def fill(self, value: Any, item: _Item, path: Path) -> Any:
        """`value` with every placeholder replaced by `item`'s value."""
        if isinstance(value, str):
            return self.fill_text(value, item, path) if "${{" in value else value
        if isinstance(value, dict):
            return {key: self.fill(one, item, (*path, key)) for key, one in value.items()}
        if isinstance(value, list):
            return [self.fill(one, item, (*path, index)) for index, one in enumerate(value)]
        return value

    def fill_text(self, text: str, item: _Item, path: Path) -> Any:
        unset = isinstance(text, Unset)
        values: list[Any] = []

        def replace(match: re.Match[str]) -> str:
            nonlocal unset
            value = self.lookup(match, item, path)
            values.append(value)
            unset = unset or isinstance(value, Unset)
            return _text(value)

        out = _PLACEHOLDER.sub(replace, text)
        whole = _PLACEHOLDER.fullmatch(text)
        if whole is not None and values and not isinstance(values[0], str):
            return values[0]  # one placeholder alone: the value as written, a number stays one
        return Unset(out) if unset else out

    def lookup(self, match: re.Match[str], item: _Item, path: Path) -> Any:
        reference = _ITEM.fullmatch(match.group(1))
        shown = _shown(match)
        if reference is None:
            self.note(
                path,
                f"{shown} is not a for_each placeholder: write ${{{{ item }}}}, "
                "or ${{ item.KEY }} for a mapping or a matrix",
            )
            return ""
        key = reference.group(1)
        if not item.keyed:
            if key is not None:
                self.note(
                    path, f"{shown}: the for_each values are single values: write ${{{{ item }}}}"
                )
                return ""
            return item.value
        keys = list(item.value)
        if key is None:
            self.note(
                path,
                f"{shown}: the for_each values are mappings: write ${{{{ item.KEY }}}} with KEY "
                f"one of {', '.join(keys)}",
            )
            return ""
        if key not in item.value:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.note(
                path,
                f"{shown}: a for_each value has no key {key!r}{hint}; it has {', '.join(keys)}",
            )
            return ""
        return item.value[key]

    def note(self, path: Path, message: str) -> None:
        problem = self.doc.problem(path, message)
        if problem not in self.problems:
            self.problems.append(problem)

    def check_group_names(self, made: list[tuple[int, Any, str | None]]) -> None:
        """A for_each step's name stands for its steps in depends_on: no other step may have it."""
        first: dict[str, int] = {}
        for origin, step, _ in made:
            own = self.steps[origin].get("name") if isinstance(self.steps[origin], dict) else None
            name = own if isinstance(own, str) and own in self.groups else step_name(step)
            if name is None or name not in self.groups or first.get(name) == origin:
                continue
            if name in first:
                line, _ = self.doc.locate(("steps", first[name], "name"))
                self.problems.append(
                    self.doc.problem(
                        ("steps", origin, "name") if own is not None else ("steps", origin),
                        f"duplicate step name {name!r} (first at line {line}): "
                        "give one of them a distinct 'name:'",
                    )
                )
            else:
                first[name] = origin

    def fan_in(self, step: Any) -> Any:
        """`step` with each for_each step it depends on replaced by the steps it made."""
        depends_on = step.get("depends_on") if isinstance(step, dict) else None
        if not isinstance(depends_on, list) or not any(
            isinstance(name, str) and name in self.groups for name in depends_on
        ):
            return step
        names: list[Any] = []
        for name in depends_on:
            for one in self.groups.get(name, [name]) if isinstance(name, str) else [name]:
                if one not in names:
                    names.append(one)
        return {**step, "depends_on": names}

    def relocated(self, steps: list[Any], origins: list[int]) -> Document:
        """The document of `steps`: each step's values stand where its origin's stand."""
        doc = self.doc
        values: dict[Path, tuple[int, int]] = {}
        keys: dict[Path, tuple[int, int]] = {}
        references: set[Path] = set()
        for table, out in ((doc.values, values), (doc.keys, keys)):
            by_step: dict[int, list[tuple[Path, tuple[int, int]]]] = {}
            for path, place in table.items():
                if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
                    if path[2:3] != ("for_each",):  # no expanded step has one
                        by_step.setdefault(path[1], []).append((path[2:], place))
                else:
                    out[path] = place
            for at, origin in enumerate(origins):
                for rest, place in by_step.get(origin, []):
                    out[("steps", at, *rest)] = place
        by_origin: dict[int, list[int]] = {}
        for at, origin in enumerate(origins):
            by_origin.setdefault(origin, []).append(at)
        for path in doc.references:
            references.update(_moved(path, by_origin))
        substituted = {
            moved: text
            for path, text in doc.substituted.items()
            for moved in _moved(path, by_origin)
        }
        data = {**doc.data, "steps": steps}
        return Document(
            doc.file,
            data,
            values,
            keys,
            frozenset(_unset_paths(data, ())),
            doc.notes,
            frozenset(references),
            doc.declared,
            doc.target,
            doc.targets,
            substituted,
        )


def _moved(path: Path, by_origin: dict[int, list[int]]) -> list[Path]:
    """Where `path`, in a step as written, stands among the steps it became."""
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        return [("steps", at, *path[2:]) for at in by_origin.get(path[1], [])]
    return [path]


def _unset_paths(value: Any, path: Path) -> Iterator[Path]:
    if isinstance(value, Unset):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unset_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unset_paths(item, (*path, index))
