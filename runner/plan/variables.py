"""`${NAME}` references in a plan's values, and what each stands for.

`${NAME}` and `${NAME:-default}` take --var NAME=VALUE first, then the environment, then the
default; `$${` writes a literal `${`. Credentials may not be referenced. When a plan is only
checked (--validate), a variable that is set nowhere leaves its value `Unset`: that is noted, not
refused, since CI may set it, and the value is checked when the plan runs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
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


def whole_reference(text: str) -> bool:
    """Whether `text` is one reference and nothing else, such as `${RETRIES:-2}`."""
    whole = _REFERENCE.fullmatch(text)
    return whole is not None and whole.group(1) is not None


def interpolate(
    text: str,
    sources: tuple[Mapping[str, str], ...],
    *,
    unset_allowed: bool = False,
) -> Resolved:
    """`text` with each reference replaced from the first of `sources` that sets it."""
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


def unset_note(names: list[str]) -> str:
    """What --validate says of a value whose variables are set nowhere."""
    shown = [f"${{{name}}}" for name in dict.fromkeys(names)]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    verb = "is" if len(shown) == 1 else "are"
    return f"{listed} {verb} not set here: its value is checked when the plan runs"


def check_variables(given: Mapping[str, str], used: Iterable[str], *, plans: int = 1) -> None:
    """A --var the plan never uses is a typo until proven otherwise: refused, with the nearest
    name it does use and every name it uses."""
    known = sorted(set(used))
    for name in given:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        which = "the plan never uses" if plans == 1 else "none of the plans uses"
        uses = f"it uses {', '.join(known)}" if known else "it uses no variables"
        if plans > 1:
            uses = f"they use {', '.join(known)}" if known else "they use no variables"
        raise UsageError(f"--var {name}: {which} ${{{name}}}{hint}; {uses}")
