"""What a plan declares before its values are read: its `variables:`, its `targets:` and its
`default_target:`, taken from the YAML node tree so that every other value can be interpolated
with them. Their values are taken as written, never interpolated.

`variables:` maps each NAME to its default (a scalar), to null (no default: it must be set), or to
`{default: ..., description: ...}`. A target (`targets: {prod: {fusion: {...}, variables: {...}}}`)
sets some of those variables; its `fusion:` settings are applied by the loader. Only what has the
right shape is read here: the schema pass reports the rest.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from runner.errors import UsageError
from runner.plan.problems import Path, Problem
from runner.plan.variables import CREDENTIAL_VARIABLES

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NULL = "tag:yaml.org,2002:null"


@dataclass(slots=True)
class Declared:
    defaults: dict[str, str | None] = field(default_factory=dict)  # None: no default
    targets: dict[str, dict[str, str]] = field(default_factory=dict)  # each target's variables
    default_target: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def values(
        self, given: Mapping[str, str], environ: Mapping[str, str], target: str | None
    ) -> dict[str, str]:
        """Each declared variable's value: --var, then the target's, then the environment,
        then its default. A variable set nowhere, with no default, is left out."""
        sources = (given, self.targets.get(target or "", {}), environ)
        out: dict[str, str] = {}
        for name, default in self.defaults.items():
            value = next((source[name] for source in sources if name in source), default)
            if value is not None:
                out[name] = value
        return out

    def choose(self, file: str, target: str | None, *, required: bool) -> str | None:
        """The target a command runs the plan with: --target, else `default_target:`; refused
        when the plan has no target of that name, or (if `required`) has targets and neither
        says which."""
        known = sorted(self.targets)
        if target is None:
            if known and self.default_target is None and required:
                raise UsageError(
                    f"{file} has targets ({listed(known)}) and no default_target: "
                    "choose one with --target NAME"
                )
            return self.default_target
        if not known:
            raise UsageError(
                f"--target {target}: {file} has no targets: remove --target, "
                "or add targets: to the plan"
            )
        if target not in self.targets:
            close = difflib.get_close_matches(target, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(
                f"--target {target}: {file} has no such target{hint}; it has {listed(known)}"
            )
        return target


LISTED = 10  # names a message lists before it counts the rest


def listed(names: list[str]) -> str:
    """`names` for a message: the first LISTED, then how many more (a plan may have thousands)."""
    if len(names) <= LISTED:
        return ", ".join(names)
    return f"{', '.join(names[:LISTED])} and {len(names) - LISTED} more"


def declarations(root: yaml.Node, file: str) -> Declared:
    """The plan's declarations, with a problem for each name that cannot be one."""
    out = Declared()
    for key, value in _entries(_get(root, "variables")):
        if _name_problem(out, file, key, ("variables", key.value)):
            continue
        default = _get(value, "default") if isinstance(value, yaml.MappingNode) else value
        out.defaults[key.value] = _text(default)
    for key, value in _entries(_get(root, "targets")):
        settings: dict[str, str] = {}
        path: Path = ("targets", key.value, "variables")
        for name, given in _entries(_get(value, "variables")):
            text = _text(given)
            if text is None or _name_problem(out, file, name, (*path, name.value)):
                continue
            if name.value not in out.defaults:
                close = difflib.get_close_matches(name.value, sorted(out.defaults), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                _problem(
                    out,
                    file,
                    name,
                    (*path, name.value),
                    f"{name.value} is not declared{hint}: add {name.value} under variables:, "
                    "or remove it here",
                )
                continue
            settings[name.value] = text
        out.targets[key.value] = settings
    chosen = _get(root, "default_target")
    if isinstance(chosen, yaml.ScalarNode) and chosen.value not in out.targets:
        known = sorted(out.targets)
        close = difflib.get_close_matches(chosen.value, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        has = (
            f"the plan has {listed(known)}"
            if known
            else "the plan has no targets: add targets:, or remove default_target"
        )
        _problem(out, file, chosen, ("default_target",), f"no such target{hint}: {has}")
    elif isinstance(chosen, yaml.ScalarNode):
        out.default_target = chosen.value
    return out


def _entries(node: yaml.Node | None) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    """A mapping node's entries whose keys are scalars; none for anything else."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value of `key` in a mapping node (its last, as YAML keeps it), or None."""
    found = [v for k, v in _entries(node) if k.value == key]
    return found[-1] if found else None


def _text(node: yaml.Node | None) -> str | None:
    """A scalar as written, which each reference to it reads as if written there; None for
    null (no value) and for what is not a scalar."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == _NULL or (not node.style and node.value in ("", "~", "null", "Null", "NULL")):
        return None
    return str(node.value)


def _name_problem(out: Declared, file: str, key: yaml.ScalarNode, path: Path) -> bool:
    """Whether `key` cannot name a variable, with the problem said if so."""
    if not _NAME.fullmatch(key.value):
        message = (
            f"{key.value!r} cannot name a variable: use letters, digits and '_', "
            "not starting with a digit"
        )
    elif key.value in CREDENTIAL_VARIABLES:
        message = (
            f"{key.value} is a credential: fusion-run reads it from the environment itself, "
            "and it may not appear in a plan"
        )
    else:
        return False
    _problem(out, file, key, path, message)
    return True


def _problem(out: Declared, file: str, node: yaml.Node, path: Path, message: str) -> None:
    mark = node.start_mark
    out.problems.append(
        Problem(file=file, line=mark.line + 1, column=mark.column + 1, path=path, message=message)
    )
