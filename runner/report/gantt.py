"""A report's timeline (`runner.report.timeline`) as a Mermaid gantt chart, which GitHub draws
in the step summary: a section per step, a bar per attempt, waits and retries as bars of their
own, coloured by outcome and said in words on each bar.

Mermaid has four kinds of bar, coloured here through the chart's theme: `done` is a success
(green), `crit` a failure, a timeout, a run left going or a start that never reached Fusion (red),
`active` a wait (grey), and a bar with no kind a cancelled run (amber). A check of a `require:`
step is a milestone, coloured as the step ended.

Past `MAX_STEPS` steps, the chart keeps those that did not succeed, then the longest, in plan
order, and says how many it leaves out: a chart of 200 rows is read by nobody.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.durations import format_duration
from runner.report.graph import COLOURS
from runner.report.timeline import CHECK, Bar, Row, Timeline, timeline

MAX_STEPS = 40

_TAGS = {
    "succeeded": "done",
    "failed": "crit",
    "timed_out": "crit",
    "left_running": "crit",
    "running": "crit",
    "not_started": "crit",
    "waiting": "active",
    "cancelled": "",
}


def _theme(left: int) -> str:
    """Mermaid's directive: the colours of `runner.report.graph.COLOURS` for each kind of bar,
    and `left` pixels for the step names (Mermaid leaves a fixed 75)."""
    done, crit, active, task = (COLOURS[o] for o in ("succeeded", "failed", "skipped", "cancelled"))
    variables = {
        "doneTaskBkgColor": done[0], "doneTaskBorderColor": done[1],
        "critBkgColor": crit[0], "critBorderColor": crit[1],
        "activeTaskBkgColor": active[0], "activeTaskBorderColor": active[1],
        "taskBkgColor": task[0], "taskBorderColor": task[1],
    }  # fmt: skip
    config = {"theme": "base", "themeVariables": variables, "gantt": {"leftPadding": left}}
    return f"%%{{init: {json.dumps(config)}}}%%"


@dataclass(frozen=True, slots=True)
class Chart:
    source: str  # Mermaid's
    left_out: int  # steps started but not drawn (see `MAX_STEPS`)


def gantt(report: Mapping[str, Any]) -> str | None:
    """The Mermaid source of the report's timeline; None when it has nothing to draw."""
    drawn = chart(report)
    return None if drawn is None else drawn.source


def chart(report: Mapping[str, Any]) -> Chart | None:
    """The report's timeline as a Mermaid gantt, and how many steps it leaves out; None when it
    has nothing to draw (no step was started, or the report holds no times)."""
    drawn = timeline(report)
    if drawn.started is None or not drawn.bars:
        return None
    rows, left_out = _kept(drawn)
    origin = drawn.started.timestamp() * 1000
    took = format_duration(drawn.span)
    widest = max(len(row.step) for row in rows)
    lines = [
        _theme(min(300, 20 + 7 * widest)),
        "gantt",
        f"  title {_text(report['plan']['name'])}: {report['outcome']} in {took}",
        "  dateFormat x",
        f"  axisFormat {'%H:%M' if drawn.span >= 3600 else '%H:%M:%S'}",
        "  todayMarker off",
    ]
    for row in rows:
        lines.append(f"  section {_text(row.step)}")
        lines += [f"    {_task(bar, origin)}" for bar in row.bars]
    source = "\n".join(lines) + "\n"
    if left_out:
        source += f"%% {left_out} more step(s) not drawn\n"
    return Chart(source, left_out)


def _kept(drawn: Timeline) -> tuple[list[Row], int]:
    """The rows to draw, in plan order, and how many rows with bars are left out."""
    rows = [row for row in drawn.rows if row.bars]
    if len(rows) <= MAX_STEPS:
        return rows, 0

    def weight(index: int) -> tuple[bool, float]:
        row = rows[index]
        return row.outcome == "succeeded", -sum(bar.end - bar.start for bar in row.bars)

    kept = sorted(sorted(range(len(rows)), key=weight)[:MAX_STEPS])
    return [rows[index] for index in kept], len(rows) - MAX_STEPS


def _task(bar: Bar, origin: float) -> str:
    start = round(origin + bar.start * 1000)
    end = max(start + 1, round(origin + bar.end * 1000))  # Mermaid draws no bar of no length
    tags = _TAGS.get(bar.outcome, "")
    if bar.kind == CHECK:
        tags = f"{tags}, milestone" if tags else "milestone"
    return f"{_text(bar.label)} :{tags + ', ' if tags else ''}{start}, {end}"


def _text(value: str) -> str:
    """`value` on one line of the chart: Mermaid reads a section's name and the title to the end
    of their line, colons and semicolons included; but it obeys a `%%{...}%%` directive anywhere,
    so `%%` is written `% %`."""
    return " ".join(value.splitlines()).replace("%%", "% %").replace("%%", "% %")
