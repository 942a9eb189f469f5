"""The HTML report's drawings as inline SVG, from a cleaned report: the dependency graph in
waves, and the timeline of `runner.report.timeline`. Every string is escaped here; colours are
classes the page's stylesheet gives (`o-<outcome>`), so no drawing carries a style of its own."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from html import escape
from typing import Any

from runner.clock import format_time
from runner.durations import format_duration
from runner.report.graph import layers
from runner.report.timeline import Bar, Timeline

# The graph: boxes in columns by wave, and at most this many steps drawn (beyond it, a list).
GRAPH_LIMIT = 30
BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 190, 44, 56, 14, 8
NAME_CHARACTERS = 24  # what a box shows of a step's name; its <title> has the whole of it


def short(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def waves(steps: Sequence[Mapping[str, Any]]) -> list[list[str]] | None:
    """The report's steps grouped by when they could start, in report order within a wave,
    from each step's `depends_on` (names the report does not hold are left out); None when the
    dependencies loop, which no fusion-run writes."""
    names = {step["name"] for step in steps}
    try:
        return layers({s["name"]: [d for d in s["depends_on"] if d in names] for s in steps})
    except graphlib.CycleError:
        return None


def graph(steps: Sequence[Mapping[str, Any]]) -> str:
    """The dependency graph as an SVG of boxes coloured by outcome, with an arrow from each step
    to each that waits for it; past `GRAPH_LIMIT` steps (or for a graph that loops), a list."""
    columns = waves(steps)
    if columns is None or len(steps) > GRAPH_LIMIT:
        return _graph_list(steps)
    outcome = {step["name"]: step["outcome"] for step in steps}
    place: dict[str, tuple[int, int]] = {}
    for x, column in enumerate(columns):
        for y, name in enumerate(column):
            place[name] = (
                MARGIN + x * (BOX_WIDTH + COLUMN_GAP),
                MARGIN + y * (BOX_HEIGHT + ROW_GAP),
            )
    width = MARGIN * 2 + len(columns) * BOX_WIDTH + max(len(columns) - 1, 0) * COLUMN_GAP
    height = (
        MARGIN * 2 + max((len(c) for c in columns), default=1) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP
    )
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="dependency graph">',
        '<defs><marker id="graph-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="arrow-head"/></marker></defs>',
    ]
    for step in steps:
        x2, y2 = place[step["name"]]
        for upstream in step["depends_on"]:
            if upstream not in place:
                continue
            x1, y1 = place[upstream]
            start, end = (x1 + BOX_WIDTH, y1 + BOX_HEIGHT / 2), (x2, y2 + BOX_HEIGHT / 2)
            middle = (start[0] + end[0]) / 2
            parts.append(
                f'<path class="edge" d="M{start[0]},{start[1]} C{middle},{start[1]} '
                f'{middle},{end[1]} {end[0]},{end[1]}" marker-end="url(#graph-arrow)">'
                f"<title>{escape(step['name'])} waits for {escape(upstream)}</title></path>"
            )
    for step in steps:
        x, y = place[step["name"]]
        name, job, said = step["name"], step["job"], outcome[step["name"]]
        parts.append(
            f'<g class="node" data-step="{escape(name)}">'
            f"<title>{escape(name)} (job {escape(job)}): {escape(said.replace('_', ' '))}</title>"
            f'<rect class="o-{escape(said)}" x="{x}" y="{y}" width="{BOX_WIDTH}" '
            f'height="{BOX_HEIGHT}" rx="6"/>'
            f'<text x="{x + 10}" y="{y + 18}" class="node-name">'
            f"{escape(short(name, NAME_CHARACTERS))}</text>"
            f'<text x="{x + 10}" y="{y + 35}" class="node-outcome">'
            f"{escape(said.replace('_', ' '))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _graph_list(steps: Sequence[Mapping[str, Any]]) -> str:
    items = [
        f"<li><b>{escape(step['name'])}</b> waits for "
        + (", ".join(escape(d) for d in step["depends_on"]) or "nothing")
        + "</li>"
        for step in steps
    ]
    return '<ul class="waits">' + "".join(items) + "</ul>"


# The timeline: a label column, then a plot of fixed width (a long plan scrolls, never shrinks).
LABEL_WIDTH, PLOT_WIDTH, ROW_HEIGHT, BAR_HEIGHT, AXIS_HEIGHT = 210, 820, 22, 14, 26
LABEL_CHARACTERS = 28
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def tick_step(span: float, ticks: int = 8) -> int:
    """Seconds between the axis' ticks: the first nice step that gives at most `ticks` ticks."""
    found = next((step for step in NICE_STEPS if span / step <= ticks), None)
    return found or NICE_STEPS[-1] * (int(span) // (NICE_STEPS[-1] * ticks) + 1)


def timeline(drawn: Timeline) -> str:
    """The timeline as an SVG: a row per step, each bar placed by its seconds since the plan's
    start and coloured by its outcome (`o-<outcome>`); the wait for Fusion to start a run is
    lighter and dashed, the wait before a retry hatched, a `require:` step's check a diamond.
    Each bar's `<title>` says what it was, with its exact times."""
    span = max(drawn.span, 0.001)
    scale = PLOT_WIDTH / span
    width = LABEL_WIDTH + PLOT_WIDTH + 16
    height = AXIS_HEIGHT + len(drawn.rows) * ROW_HEIGHT + 4
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="timeline" '
        f'data-plot-left="{LABEL_WIDTH}" data-plot-width="{PLOT_WIDTH}" data-span="{span:.3f}">',
        '<defs><pattern id="timeline-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#868e96" stroke-width="3"/></pattern></defs>',
    ]
    for index in range(len(drawn.rows)):
        if index % 2:
            y = AXIS_HEIGHT + index * ROW_HEIGHT
            parts.append(
                f'<rect class="row-band" x="0" y="{y}" width="{width}" height="{ROW_HEIGHT}"/>'
            )
    every = tick_step(span)
    parts.append('<g class="axis">')
    tick = 0
    while tick <= span + 1e-9:
        x = LABEL_WIDTH + tick * scale
        parts.append(
            f'<line x1="{x:.2f}" y1="{AXIS_HEIGHT - 6}" x2="{x:.2f}" y2="{height}"/>'
            f'<text x="{x:.2f}" y="{AXIS_HEIGHT - 10}" text-anchor="middle">'
            f"{format_duration(tick)}</text>"
        )
        tick += every
    parts.append("</g>")
    for index, row in enumerate(drawn.rows):
        top = AXIS_HEIGHT + index * ROW_HEIGHT
        parts.append(
            f'<g class="row" data-step="{escape(row.step)}"><text x="6" y="{top + 15}">'
            f"<title>{escape(row.step)}: {escape(row.outcome.replace('_', ' '))}</title>"
            f"{escape(short(row.step, LABEL_CHARACTERS))}</text>"
        )
        bar_top = top + (ROW_HEIGHT - BAR_HEIGHT) / 2
        for bar in row.bars:
            parts.append(_bar(bar, drawn, scale, bar_top))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _bar(bar: Bar, drawn: Timeline, scale: float, top: float) -> str:
    title = f"{bar.step}: {bar.label}, {_when(drawn, bar.start)}"
    if bar.end != bar.start:
        title += f" to {_when(drawn, bar.end)}"
    data = (
        f'data-step="{escape(bar.step)}" data-kind="{escape(bar.kind)}" '
        f'data-attempt="{bar.attempt}" data-start="{bar.start:.3f}" data-end="{bar.end:.3f}"'
    )
    classes = f"bar {escape(bar.kind)} o-{escape(bar.outcome)}"
    x = LABEL_WIDTH + bar.start * scale
    if bar.kind == "check":  # a point in time: a diamond centred on it
        half, middle = BAR_HEIGHT / 2, top + BAR_HEIGHT / 2
        shape = (
            f'<path class="{classes}" {data} d="M{x:.2f},{top} L{x + half:.2f},{middle} '
            f'L{x:.2f},{top + BAR_HEIGHT} L{x - half:.2f},{middle} z">'
        )
        return f"{shape}<title>{escape(title)}</title></path>"
    wide = max((bar.end - bar.start) * scale, 1.0)  # a run of no length is still seen
    return (
        f'<rect class="{classes}" {data} x="{x:.2f}" y="{top}" width="{wide:.2f}" '
        f'height="{BAR_HEIGHT}"><title>{escape(title)}</title></rect>'
    )


def _when(drawn: Timeline, seconds: float) -> str:
    """`+5.270s (2026-01-01T01:00:05.270Z)`: the exact moment, in seconds since the plan's start
    and as the report writes times."""
    if drawn.started is None:
        return f"+{seconds:.3f}s"
    return f"+{seconds:.3f}s ({format_time(drawn.started + timedelta(seconds=seconds))})"


def _swatch(shape: str) -> str:
    return f'<svg width="28" height="14" viewBox="0 0 28 14">{shape}</svg>'


# What the timeline's marks mean, for the line under it.
LEGEND = "".join(
    f"<span>{_swatch(shape)} {words}</span>"
    for shape, words in (
        ('<rect class="bar run o-succeeded" x="1" y="1" width="26" height="12"/>', "a run"),
        (
            '<rect class="bar starting o-waiting" x="1" y="1" width="26" height="12"/>',
            "waiting for Fusion to start it",
        ),
        (
            '<rect class="bar retry o-waiting" x="1" y="1" width="26" height="12"/>',
            "the wait before a retry",
        ),
        ('<path class="bar check o-succeeded" d="M14,0 L21,7 L14,14 L7,7 z"/>', "a check"),
    )
)
