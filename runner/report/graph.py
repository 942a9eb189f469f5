"""The plan's dependency graph: start order in waves, and drawings in Mermaid and DOT."""

from __future__ import annotations

import graphlib
import json
from collections.abc import Collection, Iterable, Mapping

from runner.plan import Plan, RunIf


def waves(plan: Plan) -> list[list[str]]:
    """Steps grouped by when they can start if every step succeeds, in plan order within a wave.

    For `a`, then `b` and `c` both with `depends_on: [a]`, then `d` (waits for `c`, listed
    before it): [["a"], ["b", "c"], ["d"]].
    """
    return layers({step.name: step.depends_on for step in plan.steps})


def layers(depends_on: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Names grouped by when they can start, in the mapping's order within a group, from what
    each waits for; graphlib.CycleError when the dependencies loop."""
    order = {name: index for index, name in enumerate(depends_on)}
    sorter = graphlib.TopologicalSorter(depends_on)
    sorter.prepare()
    result = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=order.__getitem__)
        result.append(ready)
        sorter.done(*ready)
    return result


def _label(plan: Plan, name: str, left_out: Collection[str] = ()) -> str:
    step = plan.step(name)
    aside = "\nnot selected" if name in left_out else ""
    if step.gate is not None:  # it starts nothing: says so
        return f"{name}\nchecks {step.job}{aside}"
    return (name if step.job == name else f"{name}\n{step.job}") + aside


def _marked(
    outcomes: Mapping[str, str] | None, left_out: Collection[str]
) -> Mapping[str, str] | None:
    """The outcomes to colour by: a step left out by --select, with none, is not_run (grey)."""
    if not left_out:
        return outcomes
    return {**dict.fromkeys(left_out, "not_run"), **(outcomes or {})}


# Fill and stroke per outcome: green, red, amber, grey, blue.
COLOURS = {
    "succeeded": ("#d4edda", "#28a745"),
    "failed": ("#f8d7da", "#dc3545"),
    "timed_out": ("#f8d7da", "#dc3545"),
    "cancelled": ("#fff3cd", "#d39e00"),
    "skipped": ("#e2e3e5", "#6c757d"),
    "not_run": ("#e2e3e5", "#6c757d"),
    "running": ("#cce5ff", "#007bff"),
    "pending": ("#ffffff", "#6c757d"),
}


def mermaid(
    plan: Plan,
    outcomes: Mapping[str, str] | None = None,
    left_out: Collection[str] = (),
    max_parallel: int | None = None,
) -> str:
    """The plan as a Mermaid flowchart; with `outcomes` (step name -> outcome), coloured; the
    steps `left_out` of a selection labelled so (and grey, with no outcome); `max_parallel`, as
    --max-parallel gives it, in a comment."""
    outcomes = _marked(outcomes, left_out)
    ids = {step.name: f"s{index}" for index, step in enumerate(plan.steps)}

    def text(value: str) -> str:
        escaped = value.replace("&", "#amp;").replace('"', "#quot;").replace("`", "#96;")
        escaped = escaped.replace("%", "#37;")  # no `%%{...}%%`: Mermaid would obey it anywhere
        return escaped.replace("<", "#lt;").replace(">", "#gt;").replace("\n", "<br/>")

    lines = ["flowchart LR"]
    if max_parallel is not None:
        lines.append(f"  %% at most {max_parallel} runs at once (--max-parallel)")
    lines += [
        f'  {ids[step.name]}["{text(_label(plan, step.name, left_out))}"]' for step in plan.steps
    ]
    for step in plan.steps:
        for upstream in step.depends_on:
            if step.run_if is RunIf.ALL_SUCCESS:
                lines.append(f"  {ids[upstream]} --> {ids[step.name]}")
            else:
                lines.append(f"  {ids[upstream]} -.->|{step.run_if}| {ids[step.name]}")
    if outcomes:
        used = [o for o in COLOURS if o in outcomes.values()]
        lines += [f"  classDef {o} fill:{COLOURS[o][0]},stroke:{COLOURS[o][1]}" for o in used]
        for outcome in used:
            members = [ids[name] for name, o in outcomes.items() if o == outcome and name in ids]
            if members:  # a class of no node is a line Mermaid cannot read
                lines.append(f"  class {','.join(members)} {outcome}")
    return "\n".join(lines) + "\n"


def dot(
    plan: Plan,
    outcomes: Mapping[str, str] | None = None,
    left_out: Collection[str] = (),
    max_parallel: int | None = None,
) -> str:
    """The plan as Graphviz DOT; with `outcomes`, `left_out` and `max_parallel` as `mermaid`."""
    outcomes = _marked(outcomes, left_out)

    def quote(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a DOT string: backslash and quote escaped

    lines = [
        f"digraph {quote(plan.name)} {{",
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
    ]
    if max_parallel is not None:
        lines.append(f"  // at most {max_parallel} runs at once (--max-parallel)")
    for step in plan.steps:
        style = ""
        if outcomes and step.name in outcomes:
            fill, stroke = COLOURS[outcomes[step.name]]
            style = f', style="rounded,filled", fillcolor="{fill}", color="{stroke}"'
        label = quote(_label(plan, step.name, left_out))
        lines.append(f"  {quote(step.name)} [label={label}{style}];")
    for step in plan.steps:
        for upstream in step.depends_on:
            style = (
                ""
                if step.run_if is RunIf.ALL_SUCCESS
                else f" [style=dashed, label={quote(step.run_if)}]"
            )
            lines.append(f"  {quote(upstream)} -> {quote(step.name)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
