"""--select, --exclude and --from, as dbt selects models: which steps of the plan this invocation
runs.

A selector names steps: `NAME` is that step (or, when no step has that name, every step the
`for_each` step of that name made), `tag:TAG` every step tagged TAG, and a glob
(`crawl-*`, with `*`, `?` or `[...]`) every step whose name it matches. `+SELECTOR` adds every
step upstream of those, `SELECTOR+` every step downstream, and `+SELECTOR+` both. The steps
--select names (all of them, without --select) less the steps --exclude names are selected; then
--from STEP keeps, of those, that step and the steps downstream of it. A step name that itself
begins or ends with `+`, or holds `*`, or begins with `tag:`, is taken whole first.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence

from runner.errors import UsageError
from runner.plan import Plan

GLOB = frozenset("*?[")


def selected_steps(
    plan: Plan,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    start: str | None = None,
) -> frozenset[str] | None:
    """The names of the selected steps; None when no option was given (every step runs).
    UsageError naming the first selector of no step, with the nearest names."""
    if not select and not exclude and start is None:
        return None
    upstream = {step.name: step.depends_on for step in plan.steps}
    downstream: dict[str, list[str]] = {name: [] for name in upstream}
    for step in plan.steps:
        for name in step.depends_on:
            downstream[name].append(step.name)
    tags = {step.name: step.tags for step in plan.steps}
    made: dict[str, list[str]] = {}  # a for_each step's name: the steps it made, in plan order
    for step in plan.steps:
        if step.for_each is not None:
            made.setdefault(step.for_each, []).append(step.name)

    def steps(flag: str, selectors: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for selector in selectors:
            names, up, down = _resolve(flag, selector, tags, made)
            for name in names:
                found.add(name)
                if up:
                    found |= _reach(name, upstream)
                if down:
                    found |= _reach(name, downstream)
        return found

    chosen = steps("--select", select) if select else set(upstream)
    chosen -= steps("--exclude", exclude)
    if start is not None:
        names, _, _ = _resolve("--from", start, tags, made, operators=False)
        chosen &= {*names, *(later for name in names for later in _reach(name, downstream))}
    if not chosen:
        flags = [
            flag
            for flag, given in (("--select", select), ("--exclude", exclude), ("--from", start))
            if given
        ]
        *others, last = flags
        leave = f"{', '.join(others)} and {last} leave" if others else f"{last} leaves"
        raise UsageError(f"{leave} no step to run")
    return frozenset(chosen)


def _resolve(
    flag: str,
    selector: str,
    tags: dict[str, tuple[str, ...]],
    made: dict[str, list[str]],
    *,
    operators: bool = True,
) -> tuple[list[str], bool, bool]:
    """(step names in plan order, with their upstream, with their downstream)."""
    known = list(tags)
    up = operators and selector.startswith("+")
    down = operators and selector.endswith("+") and len(selector) > 1
    forms = [(selector, False, False)]
    if up:
        forms.append((selector[1:], True, False))
    if down:
        forms.append((selector[:-1], False, True))
    if up and down:
        forms.append((selector[1:-1], True, True))
    for name, with_up, with_down in forms:
        if name in tags:
            return [name], with_up, with_down
    for name, with_up, with_down in forms:
        if name in made:
            return made[name], with_up, with_down
    core, with_up, with_down = forms[-1]
    if not core:
        raise UsageError(f"{flag} {selector}: expected STEP, +STEP, STEP+ or +STEP+")
    if core.startswith("tag:"):
        tag = core.removeprefix("tag:")
        names = [name for name, own in tags.items() if tag in own]
        if not names:
            every = sorted({tag for own in tags.values() for tag in own})
            hint = _nearest(tag, every) if every else "; the plan tags no step"
            raise UsageError(f"{flag} {selector}: no step has the tag {tag!r}{hint}")
        return names, with_up, with_down
    if GLOB & set(core):
        names = [name for name in known if fnmatch.fnmatchcase(name, core)]
        if not names:
            bare = "".join(c for c in core if c not in GLOB)
            raise UsageError(
                f"{flag} {selector}: no step name matches {core!r}{_nearest(bare, known)}"
            )
        return names, with_up, with_down
    close = difflib.get_close_matches(core, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UsageError(f"{flag} {selector}: the plan has no step {core!r}{hint}")


def _nearest(word: str, among: list[str]) -> str:
    """` (the closest: 'a', 'b')`, up to three names like `word`, or nothing."""
    close = difflib.get_close_matches(word, among, n=3, cutoff=0.4)
    return f" (the closest: {', '.join(repr(name) for name in close)})" if close else ""


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
