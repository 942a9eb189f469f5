"""The report as one self-contained HTML page, for CI that shows files (GitLab's and Jenkins'
artifacts) and for a laptop: the verdict, the warnings, the timeline, the dependency graph, and
each step's attempts, criteria, counters and the evidence of a failure.

`render` makes the page from a report in the format written now (`read_report` of
`runner.report.journal` reads older ones into it) and does no I/O; `HtmlFile` writes it at the
end of a run. The page fetches nothing: its stylesheet, script and drawings are inline, and it
names no URL but Fusion's, as text. Everything in the report may come from Fusion, so every
string is cleaned of control characters (`runner.redact.cleaned`) and escaped; a
Content-Security-Policy allows the page's own stylesheet and script only, by their hashes, so
that even a string that escaped its escaping could run nothing. The page reads whole without its
script, which only adds a filter to the steps that did not succeed and a button that unfolds
every step.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from runner import wording
from runner.durations import format_duration
from runner.events import Event
from runner.redact import cleaned
from runner.report import svg
from runner.report.cells import counters, reason_and_story
from runner.report.evidence import failed_attempts
from runner.report.graph import COLOURS
from runner.report.journal import why_unwritable, write_text_atomically
from runner.result import PlanResult

_GOOD = ("succeeded",)
# Beside a step's outcomes (`COLOURS`): an interrupted plan's, the timeline's for an attempt
# left running or never started, and for a wait.
_MORE_COLOURS = {
    "interrupted": COLOURS["cancelled"],
    "left_running": COLOURS["running"],
    "not_started": COLOURS["skipped"],
    "waiting": ("#e9ecef", "#868e96"),
}

_STYLE = (
    """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em;
  color: #212529; }
h1 { font-size: 1.5em; margin: 0.2em 0; }
h2 { font-size: 1.2em; margin: 1.4em 0 0.4em; border-bottom: 1px solid #dee2e6; }
code, pre, .mono { font-family: ui-monospace, monospace; font-size: 0.92em; }
pre { background: #f8f9fa; border: 1px solid #dee2e6; padding: 0.5em; white-space: pre-wrap;
  overflow-wrap: anywhere; max-height: 30em; overflow: auto; }
table { border-collapse: collapse; margin: 0.3em 0; }
th, td { border: 1px solid #dee2e6; padding: 0.2em 0.5em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f1f3f5; white-space: nowrap; }
.badge { display: inline-block; border: 1px solid; border-radius: 4px; padding: 0 0.4em; }
.verdict { padding: 0.6em 1em; border: 2px solid; border-radius: 6px; margin: 0.5em 0; }
.why { margin: 0.3em 0 0; }
.warnings li { margin: 0.2em 0; }
.scroll { overflow: auto; border: 1px solid #dee2e6; max-height: 40em; }
details.step { border: 1px solid #dee2e6; border-radius: 6px; margin: 0.4em 0;
  padding: 0.3em 0.6em; }
details.step > summary { cursor: pointer; }
.controls { margin: 0.5em 0; }
.only-failed .good { display: none; }
svg text { font: 12px system-ui, sans-serif; fill: #212529; }
.edge { fill: none; stroke: #868e96; stroke-width: 1.5; }
.arrow-head { fill: #868e96; }
.axis line { stroke: #ced4da; }
.axis text { fill: #495057; }
.bar.starting { fill-opacity: 0.35; stroke-dasharray: 3 2; }
.bar.retry { fill: url(#timeline-hatch); stroke-dasharray: 3 2; }
.row-band { fill: #f8f9fa; }
.legend svg { vertical-align: middle; }
.legend span { margin-right: 1.2em; }
"""
    + "".join(
        f".o-{outcome} {{ fill: {fill}; stroke: {stroke}; }}\n"
        f".b-{outcome} {{ background: {fill}; border-color: {stroke}; }}\n"
        for outcome, (fill, stroke) in COLOURS.items()
    )
    + "".join(
        f".o-{outcome} {{ fill: {fill}; stroke: {stroke}; }}\n"
        f".b-{outcome} {{ background: {fill}; border-color: {stroke}; }}\n"
        for outcome, (fill, stroke) in _MORE_COLOURS.items()
    )
)

_SCRIPT = """
(function () {
  var body = document.body, bar = document.getElementById("controls");
  var filter = document.createElement("label"), box = document.createElement("input");
  box.type = "checkbox";
  box.addEventListener("change", function () {
    body.classList.toggle("only-failed", box.checked);
  });
  filter.appendChild(box);
  filter.appendChild(document.createTextNode(" only the steps that did not succeed "));
  var unfold = document.createElement("button");
  unfold.type = "button";
  unfold.textContent = "unfold every step";
  unfold.addEventListener("click", function () {
    document.querySelectorAll("details.step").forEach(function (d) { d.open = true; });
  });
  bar.appendChild(filter);
  bar.appendChild(unfold);
})();
"""


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


POLICY = (
    f"default-src 'none'; style-src {_hash(_STYLE)}; script-src {_hash(_SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)


def render(report: Mapping[str, Any]) -> str:
    """The page of `report`, a report in the format written now."""
    shown: dict[str, Any] = cleaned(dict(report))  # a copy, each string without control codes
    name, outcome = shown["plan"]["name"], shown["outcome"]
    took = "" if shown["duration"] is None else f" in {format_duration(shown['duration'])}"
    title = f"fusion-run: plan {name} {wording.outcome_words(outcome)}{took}"
    steps = shown["steps"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f'<div class="verdict b-{escape(outcome)}" id="verdict"><h1>{escape(title)}</h1>',
        f'<p class="why">{escape(_why(shown))}</p></div>',
        _facts(shown),
        '<div class="controls" id="controls"></div>',
        *_warnings(shown),
        '<h2 id="timeline">Timeline</h2>',
        _timeline(shown),
        '<h2 id="graph">Dependency graph</h2>',
        f'<div class="scroll">{svg.graph(steps)}</div>',
        '<h2 id="steps">Steps</h2>',
        _overview(steps),
        *(_step(index, step, shown) for index, step in enumerate(steps)),
        *_schedules(shown),
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _facts(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    counts = ", ".join(
        f"{count} {wording.outcome_words(outcome)}"
        for outcome, count in summary.items()
        if outcome != "steps" and count
    )
    rows = [
        ("plan", f"{report['plan']['name']} ({report['plan']['path']})"),
        ("plan sha256", report["plan"]["sha256"]),
        ("Fusion", report["fusion"]["url"] + report["fusion"]["api"]),
        ("started", report["started_at"]),
        ("ended", report["ended_at"] or "not yet"),
        ("steps", f"{summary['steps']}: {counts}" if counts else str(summary["steps"])),
        ("report", f"format {report['report_version']}, fusion-run {report['fusion_run_version']}"),
    ]
    if report["error"]:
        rows.append(("error", report["error"]))
    if report["resumed_from"]:
        earlier = report["resumed_from"]
        rows.append(("resumed from", f"{earlier['path']} ({earlier['outcome']})"))
    if report["detached"]:
        rows.append(("detached", "active runs were left going in Fusion"))
    return _table(rows, classes="facts")


def _warnings(report: Mapping[str, Any]) -> list[str]:
    warnings = report["warnings"]
    if not warnings:
        return []
    items = [
        "<li>" + (f"<b>{escape(w['step'])}</b>: " if w["step"] else "") + escape(w["text"])
        for w in warnings
    ]
    return [
        f'<h2 id="warnings">{len(warnings)} warning(s)</h2>',
        '<ul class="warnings">' + "</li>".join(items) + "</li></ul>",
    ]


def _timeline(report: Mapping[str, Any]) -> str:
    from runner.report.timeline import timeline  # noqa: PLC0415 - only the page draws it

    return (
        f'<div class="scroll" id="timeline-box">{svg.timeline(timeline(report))}</div>'
        f'<p class="legend">{svg.LEGEND}</p>'
    )


def _overview(steps: list[dict[str, Any]]) -> str:
    rows = []
    for index, step in enumerate(steps):
        attempts, took = step["attempts"], step["duration"]
        rows.append(
            f'<tr class="{"good" if step["outcome"] in _GOOD else "bad"}">'
            f'<td><a href="#step-{index}">{escape(step["name"])}</a></td>'
            f"<td>{_badge(step)}</td><td>{'-' if took is None else format_duration(took)}</td>"
            f'<td>{len(attempts) or "-"}</td><td class="mono">{escape(_run(step))}</td>'
            f"<td>{escape(counters(step) or '-')}</td>"
            f"<td>{escape(reason_and_story(step))}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("step", "outcome", "duration", "tries", "run", "counters", "reason")
    )
    return f'<table class="overview"><tr>{head}</tr>{"".join(rows)}</table>'


def _run(step: Mapping[str, Any]) -> str:
    gate = step["gate"]
    if gate is not None:
        if gate["checked_at"] is None:
            return "-"
        return f"checked {gate['run_id']}" if gate["run_id"] else "checked"
    return str(step["run_id"] or "-")


def _badge(step: Mapping[str, Any]) -> str:
    outcome = step["outcome"]
    said = wording.outcome_words(outcome)
    if step["allow_failure"] and outcome in ("failed", "timed_out", "cancelled"):
        said += " (allowed to fail)"
    return f'<span class="badge b-{escape(outcome)}">{escape(said)}</span>'


def _step(index: int, step: dict[str, Any], report: Mapping[str, Any]) -> str:
    good = step["outcome"] in _GOOD
    parts = [
        f'<details class="step {"good" if good else "bad"}" id="step-{index}"'
        + ("" if good else " open")
        + f"><summary><b>{escape(step['name'])}</b> {_badge(step)}</summary>",
    ]
    rows = [("job", step["job"])]
    if step["depends_on"]:
        rows.append(("waits for", ", ".join(step["depends_on"])))
    if step["reason"]:
        rows.append(("reason", step["reason"]))
    if step["gate"] is not None:
        rows.append(("require", wording.gate_found(step["gate"])))
    parts.append(_table(rows))
    said = [w["text"] for w in report["warnings"] if w["step"] == step["name"]]
    if said:
        parts.append(
            '<ul class="warnings">'
            + "".join(f"<li>warning: {escape(text)}</li>" for text in said)
            + "</ul>"
        )
    for shown in failed_attempts(step):
        parts.append(
            f'<div class="evidence"><b>{escape(shown.title)}</b>'
            f"<pre>{escape(chr(10).join(shown.lines))}</pre></div>"
        )
    parts += [_attempt(attempt) for attempt in step["attempts"]]
    parts.append("</details>")
    return "\n".join(parts)


def _attempt(attempt: Mapping[str, Any]) -> str:
    took = attempt["duration"]
    rows = [
        ("run", attempt["run_id"] or "none named"),
        ("outcome", (attempt["outcome"] or "open").replace("_", " ")),
        ("Fusion's state", attempt["state"] or "-"),
        ("requested", attempt["requested_at"] or "-"),
        ("started", attempt["started_at"] or "-"),
        ("ended", attempt["ended_at"] or "-"),
        ("duration", "-" if took is None else format_duration(took)),
        ("status reads", str(attempt["status_reads"])),
    ]
    if attempt["error"]:
        rows.append(("error", attempt["error"]))
    if attempt["cancel"]:
        rows.append(("cancelled", attempt["cancel"]["reason"]))
    if attempt["warned"]:
        rows.append(("warned", ", ".join(attempt["warned"])))
    previous = attempt["previous"]
    if previous is not None:
        documents = "" if previous["documents"] is None else f", {previous['documents']} documents"
        rows.append(
            (
                "last good run",
                f"{previous['run']} {previous['state']}, ended {previous['ended_at']}{documents}",
            )
        )
    parts = [
        f'<div class="attempt"><h3>attempt {attempt["number"]}</h3>',
        _table(rows),
    ]
    if attempt["criteria"]:
        parts.append(
            _table(
                [
                    (
                        c["name"],
                        c["level"],
                        json.dumps(c["expected"], ensure_ascii=False),
                        json.dumps(c["actual"], ensure_ascii=False),
                        "yes" if c["passed"] else "no",
                        c["reason"] or "",
                    )
                    for c in attempt["criteria"]
                ],
                head=("criterion", "level", "expected", "actual", "passed", "reason"),
                classes="criteria",
            )
        )
    if attempt["result"]:
        parts.append(
            _table(
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in attempt["result"].items()],
                head=("counter", "value"),
                classes="counters",
            )
        )
    parts.append("</div>")
    return "\n".join(parts)


def _schedules(report: Mapping[str, Any]) -> list[str]:
    if not report["schedules"]:
        return []
    rows = [
        (s["step"], s["job"], s["trigger"], s["says"] or "", s["next_start"] or "unknown")
        for s in report["schedules"]
    ]
    return [
        '<h2 id="schedules">Fusion\'s own schedules</h2>',
        _table(rows, head=("step", "job", "trigger", "says", "next start")),
    ]


def _table(
    rows: Sequence[tuple[str, ...]], *, head: tuple[str, ...] | None = None, classes: str = ""
) -> str:
    """A table of escaped cells: under `head`, or without one, each row headed by its first cell."""
    out = [f'<table class="{classes}">' if classes else "<table>"]
    if head is not None:
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>")
    for first, *rest in rows:
        cell = "td" if head is not None else "th"
        out.append(
            f"<tr><{cell}>{escape(first)}</{cell}>"
            + "".join(f"<td>{escape(c)}</td>" for c in rest)
            + "</tr>"
        )
    return "".join(out) + "</table>"


def _why(report: Mapping[str, Any]) -> str:
    """How fusion-run exited, as the run said it (JUnit's plan testcase, the summary); a report
    written while the plan ran, or before the report kept it (format 4 and older), says none."""
    judged = report["verdict"]
    if judged is not None:
        return judged["why"] or "exit 0"
    if report["outcome"] == "running":
        return "the plan had not ended when this report was written"
    return "how fusion-run exited is not in this report (reports before format 5 do not keep it)"


class HtmlFile:
    """A reporter that writes the final result as the HTML page to `path`, at the end of a run
    and when it is interrupted. A page that cannot be written is a warning (`warn`): the verdict
    stands, as the report says it."""

    def __init__(self, path: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self.warn = warn

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        try:
            write_text_atomically(self.path, render(result.to_dict()))
        except OSError as error:
            self.warn(
                f"fusion-run: cannot write the HTML report {self.path}: {why_unwritable(error)}"
            )
