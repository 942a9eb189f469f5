"""--select and --exclude, as dbt selects models: which steps of the plan this invocation runs.

`NAME` is that step; `+NAME` adds every step upstream of it, `NAME+` every step downstream, and
`+NAME+` both. The steps --select names (all of them, without --select) less the steps --exclude
names are selected. A step name that itself begins or ends with `+` is taken whole first.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from runner.errors import UsageError
from runner.plan import Plan


def selected_steps(
    plan: Plan, select: Sequence[str] = (), exclude: Sequence[str] = ()
) -> frozenset[str] | None:
    """The names of the selected steps; None when neither option was given (every step runs).
    UsageError naming the first selector of no step, with the nearest step's name."""
    if not select and not exclude:
        return None
    upstream = {step.name: step.depends_on for step in plan.steps}
    downstream: dict[str, list[str]] = {name: [] for name in upstream}
    for step in plan.steps:
        for name in step.depends_on:
            downstream[name].append(step.name)

    def steps(flag: str, selectors: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for selector in selectors:
            name, up, down = _resolve(flag, selector, upstream)
            found.add(name)
            if up:
                found |= _reach(name, upstream)
            if down:
                found |= _reach(name, downstream)
        return found

    chosen = steps("--select", select) if select else set(upstream)
    chosen -= steps("--exclude", exclude)
    if not chosen:
        flags = "--select and --exclude leave" if select else "--exclude leaves"
        raise UsageError(f"{flags} no step to run")
    return frozenset(chosen)


def _resolve(flag: str, selector: str, names: Iterable[str]) -> tuple[str, bool, bool]:
    """(step name, with its upstream, with its downstream)."""
    known = list(names)
    up, down = selector.startswith("+"), selector.endswith("+") and len(selector) > 1
    forms = [(selector, False, False)]
    if up:
        forms.append((selector[1:], True, False))
    if down:
        forms.append((selector[:-1], False, True))
    if up and down:
        forms.append((selector[1:-1], True, True))
    for name, with_up, with_down in forms:
        if name in known:
            return name, with_up, with_down
    name = forms[-1][0]
    if not name:
        raise UsageError(f"{flag} {selector}: expected STEP, +STEP, STEP+ or +STEP+")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UsageError(f"{flag} {selector}: the plan has no step {name!r}{hint}")


def _reach(name: str, edges: dict[str, list[str]] | dict[str, tuple[str, ...]]) -> set[str]:
    """Every step reached from `name` along `edges`, not counting `name` itself."""
    seen: set[str] = set()
    stack = list(edges[name])
    while stack:
        step = stack.pop()
        if step not in seen:
            seen.add(step)
            stack.extend(edges[step])
    return seen
