"""`${NAME}` references in a plan's values, and what each stands for.

A plan reads only the variables it declares under `variables:`; a reference to any other name is
refused, and the environment is read only for declared names. A declared variable takes --var
NAME=VALUE first, then the chosen target's value, then the environment, then its declared default;
`${NAME:-default}` gives a default where the declaration has none. `$${` writes a literal `${`.
Credentials may not be referenced nor declared. When a plan is only checked (--validate), a
variable that is set nowhere leaves its value `Unset`: that is noted, not refused, since CI may set
it, and the value is checked when the plan runs. No message here quotes a variable's value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from runner.errors import UsageError

CREDENTIAL_VARIABLES = frozenset({"FUSION_PASSWORD", "FUSION_API_KEY", "FUSION_TOKEN"})

_REFERENCE = re.compile(r"\$\$\{|\$\{(?!\{)([^}]*)\}|\$\{(?!\{)")  # ${{ ... }}: for_each's
_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


class Unset(str):
    """A value that depends on a variable set nowhere where the plan is checked: its text."""

    __slots__ = ()


@dataclass(slots=True)
class Resolved:
    text: str
    problems: list[str] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # names set nowhere, when that is allowed
    names: list[str] = field(default_factory=list)  # every name referenced, set or not


def reference_names(text: str) -> list[str]:
    """The names `text` refers to, once each, in order: `${A}-${B:-x}` refers to A and B."""
    found = (_NAME.match(m.group(1)) for m in _REFERENCE.finditer(text) if m.group(1) is not None)
    return list(dict.fromkeys(name.group(1) for name in found if name is not None))


def given_by(reference: str, what: str, to: str | None = None) -> str:
    """Why the value a variable gave is refused, naming the reference, never the value:
    `${RETRIES} gives a value that is not an integer: set RETRIES to an integer`. `what` is
    "not X" (then, unless `to` says otherwise, the fix is "set NAME to X") or any other words."""
    names = " and ".join(reference_names(reference)) or reference
    if what.startswith("not "):
        what, to = f"is {what}", to or what[4:]
    return f"{reference} gives a value that {what}: set {names} to {to or 'another value'}"


def whole_reference(text: str) -> bool:
    """Whether `text` is one reference and nothing else, such as `${RETRIES:-2}`."""
    whole = _REFERENCE.fullmatch(text)
    return whole is not None and whole.group(1) is not None


def interpolate(
    text: str,
    sources: tuple[Mapping[str, str], ...],
    *,
    declared: Collection[str],
    unset_allowed: bool = False,
) -> Resolved:
    """`text` with each reference replaced from the first of `sources` that sets it; a name not
    `declared` is refused, and not looked up."""
    out = Resolved(text)

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        inner = match.group(1)
        if inner is None:
            out.problems.append("unterminated '${': write ${NAME} or ${NAME:-default}")
            return ""
        reference = _NAME.match(inner)
        if reference is None:
            out.problems.append(
                f"invalid reference '${{{inner}}}': write ${{NAME}} or ${{NAME:-default}}"
            )
            return ""
        name, default = reference.groups()
        out.names.append(name)
        if name in CREDENTIAL_VARIABLES:
            out.problems.append(
                f"{name} is a credential: fusion-run reads it from the environment itself, "
                "and it may not appear in a plan"
            )
            return ""
        if name not in declared:
            out.problems.append(undeclared(name, declared))
            return ""
        for source in sources:
            if name in source:
                return source[name]
        if default is not None:
            return str(default)
        if unset_allowed:
            out.unset.append(name)
        else:
            out.problems.append(
                f"undefined variable {name}: pass --var {name}=VALUE, set it in the "
                f"environment, or write ${{{name}:-default}}"
            )
        return ""

    out.text = _REFERENCE.sub(replace, text)
    return out


def undeclared(name: str, declared: Collection[str]) -> str:
    """Why a `${NAME}` of a name the plan does not declare is refused, and the fix."""
    close = difflib.get_close_matches(name, sorted(declared), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"${{{name}}} is not declared{hint}: add {name} under variables:"


def unset_note(names: list[str]) -> str:
    """What --validate says of a value whose variables are set nowhere."""
    shown = [f"${{{name}}}" for name in dict.fromkeys(names)]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    verb = "is" if len(shown) == 1 else "are"
    return f"{listed} {verb} not set here: its value is checked when the plan runs"


def check_variables(given: Mapping[str, str], declared: Iterable[str], *, plans: int = 1) -> None:
    """A --var the plan does not declare is a typo until proven otherwise: refused, with the
    nearest name it declares and every name it declares."""
    known = sorted(set(declared))
    for name in given:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        which = "the plan does not declare" if plans == 1 else "none of the plans declares"
        listed = ", ".join(known)
        if plans == 1:
            has = f"it declares {listed}" if known else "it declares no variables"
        else:
            has = f"they declare {listed}" if known else "they declare no variables"
        raise UsageError(f"--var {name}: {which} {name} under variables:{hint}; {has}")
