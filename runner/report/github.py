"""GitHub Actions: a Markdown summary for $GITHUB_STEP_SUMMARY, and `::error` annotations that
point at the plan's own lines, for failed steps and for invalid plans, and at the plan when it
failed around its steps; a `::warning` for each warning, at its step's line (or the plan's).
Every string is cleaned of terminal codes by `runner.redact` first."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from runner import wording
from runner.durations import format_duration
from runner.events import Event
from runner.plan import Plan
from runner.plan.problems import Problem
from runner.reasons import StepsFailed
from runner.redact import cleaned, strip_controls
from runner.report.cells import counters, reason_and_story
from runner.report.evidence import failed_attempts
from runner.report.gantt import chart
from runner.report.graph import mermaid
from runner.result import PlanResult
from runner.verdict import Verdict, verdict

ICONS = {
    "succeeded": "✅", "failed": "❌", "timed_out": "⏱️", "cancelled": "🚫",
    "skipped": "⏭️", "not_run": "⚪", "running": "🔄", "pending": "⏳",
}  # fmt: skip


def in_github_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


class GitHubActions:
    """A reporter for GitHub Actions: `::error` annotations for the steps that failed the plan,
    on standard output where GitHub reads workflow commands, and the summary appended to
    $GITHUB_STEP_SUMMARY."""

    def __init__(
        self,
        plan: Plan,
        environ: Mapping[str, str],
        echo: Callable[[str], None],
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.environ = environ
        self.echo = echo  # stdout, where GitHub reads annotations
        self.warn = warn or (lambda line: print(line, file=sys.stderr))

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        if not in_github_actions(self.environ):
            return
        report = cleaned(result.to_dict())
        judged = verdict(result)
        why = strip_controls(judged.words())
        failing = {
            name
            for cause in judged.causes
            if isinstance(cause, StepsFailed)
            for name, _ in cause.steps
        }
        for line in [
            *plan_annotations(judged, why, self.plan),
            *step_annotations(report, self.plan, failing),
            *warning_annotations(report, self.plan),
            *allowed_annotations(report, self.plan),
        ]:
            self.echo(line)
        summary = self.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            said = (
                why if not judged.succeeded else f"⚠️ {judged.warning()}" if judged.allowed else None
            )
            markdown = summary_markdown(report, self.plan, said)
            try:
                with Path(summary).open("a", encoding="utf-8") as stream:
                    stream.write(markdown + "\n")
            except OSError as error:  # the verdict stands: the summary only repeats it
                self.warn(
                    f"fusion-run: cannot write the GitHub summary {summary}: "
                    f"{error.strerror or error}"
                )


def summary_markdown(report: dict[str, Any], plan: Plan, why: str | None = None) -> str:
    """The summary of a cleaned report; `why` says why fusion-run exits other than 0, or warns
    of the allowed failures when it exits 0."""
    plan_name, outcome = report["plan"]["name"], report["outcome"]
    took = "" if report["duration"] is None else f" in {format_duration(report['duration'])}"
    lines = [
        f"### {ICONS.get(outcome, '')} fusion-run: plan `{plan_name}` {outcome}{took}".replace(
            "  ", " "
        ),
        "",
    ]
    if why:
        lines += [f"> {_cell(why)}", ""]
    if missing := _missing_jobs(report, plan):
        lines += [*missing, ""]
    lines += [
        "| Step | Outcome | Duration | Run | Counters | Reason |",
        "|---|---|---|---|---|---|",
    ]
    for step in report["steps"]:
        took = "-" if step["duration"] is None else format_duration(step["duration"])
        run = f"`{step['run_id']}`" if step["run_id"] else "-"
        if step["gate"]:  # a require: step starts nothing
            run = _checked(step["gate"])
        if step["call"] and step["attempts"] and step["attempts"][-1]["state"]:
            run = f"answered {step['attempts'][-1]['state']}"  # a request: runs no job
        outcome = f"{ICONS[step['outcome']]} {step['outcome'].replace('_', ' ')}"
        if step["allow_failure"] and step["outcome"] in ("failed", "timed_out", "cancelled"):
            outcome = f"⚠️ {step['outcome'].replace('_', ' ')} (allowed to fail)"
        shown = [_cell(counters(step) or "-"), _cell(reason_and_story(step))]
        cells = [_cell(step["name"]), outcome, took, run, *shown]
        lines.append("| " + " | ".join(cells) + " |")
    if report["warnings"]:
        lines += ["", f"#### ⚠️ {len(report['warnings'])} warning(s)", ""]
        lines += [
            f"- {'**' + _cell(w['step']) + '**: ' if w['step'] else ''}{_cell(w['text'])}"
            for w in report["warnings"]
        ]
    for step in report["steps"]:
        lines += _evidence(step)
    outcomes = {step["name"]: step["outcome"] for step in report["steps"]}
    lines += ["", "```mermaid", mermaid(plan, outcomes).rstrip(), "```", ""]
    drawn = chart(report)
    if drawn is not None:
        lines += ["#### Timeline", "", "```mermaid", drawn.source.rstrip(), "```", ""]
        if drawn.left_out:
            lines += [f"{drawn.left_out} more step(s) not drawn: the report has every step.", ""]
    return "\n".join(lines)


def _missing_jobs(report: dict[str, Any], plan: Plan) -> list[str]:
    """A line for each step whose job Fusion does not know, when that stopped the plan: the
    step, and the problem the console gives at its line."""
    fact = report["error_fact"] or {}
    if fact.get("kind") != "jobs_missing":
        return []
    url = report["fusion"]["url"] + report["fusion"]["api"]
    return [
        f"- **{_cell(step.name)}**: {_cell(wording.missing_job(step.job, url))}"
        for step in plan.steps
        if step.name in fact.get("steps", ())
    ]


def _evidence(step: dict[str, Any]) -> list[str]:
    """Under the table, a folded block for each failed attempt of a step that failed: its
    driver log's end, Fusion's message, its counters. Fenced with more backticks than any line
    holds in a row, so no line of it can end the fence, nor open HTML (`</details>`)."""
    lines = []
    for shown in failed_attempts(step):
        longest = max((len(run) for line in shown.lines for run in _TICKS.findall(line)), default=0)
        fence = "`" * max(3, longest + 1)
        title = html.escape(f"{step['name']}, {shown.title}")
        lines += ["", f"<details><summary>{title}</summary>", "", f"{fence}text"]
        lines += [*shown.lines, fence, "", "</details>"]
    return lines


_TICKS = re.compile("`+")


def _checked(gate: dict[str, Any]) -> str:
    """A `require:` step's Run cell: `checked`, with the run it found, if any."""
    if gate["checked_at"] is None:
        return "-"
    return f"checked `{gate['run_id']}`" if gate["run_id"] else "checked"


def step_annotations(report: dict[str, Any], plan: Plan, failing: Collection[str]) -> list[str]:
    """`::error` lines for the steps that failed the plan (`failing`, as the verdict names
    them), at each step's line in the plan: a failure, a required step skipped for a failure
    allowed upstream, a run left going. A step that did not run is the plan's annotation."""
    lines = []
    for entry, step in zip(report["steps"], plan.steps, strict=True):
        if step.name in failing and entry["outcome"] != "not_run":  # the plan's own says why
            what = "left running" if entry["outcome"] == "running" else entry["outcome"]
            title = f"fusion-run: step {step.name} {what.replace('_', ' ')}"
            lines.append(_command(plan.file, step.line, step.column, title, entry["reason"] or ""))
    return lines


def warning_annotations(report: dict[str, Any], plan: Plan) -> list[str]:
    """A `::warning` for each warning, at its step's line in the plan (or at the plan)."""
    steps = {step.name: step for step in plan.steps}
    lines = []
    for warning in report["warnings"]:
        step = steps.get(warning["step"] or "")
        line, column = (None, None) if step is None else (step.line, step.column)
        title = "fusion-run: " + (f"step {step.name} warning" if step else "warning")
        lines.append(_command(plan.file, line, column, title, warning["text"], kind="warning"))
    return lines


def allowed_annotations(report: dict[str, Any], plan: Plan) -> list[str]:
    """A `::warning` at the line of each step that failed as `allow_failure` let it."""
    lines = []
    for entry, step in zip(report["steps"], plan.steps, strict=True):
        if entry["allow_failure"] and entry["outcome"] in ("failed", "timed_out", "cancelled"):
            title = f"fusion-run: step {step.name} {wording.outcome_words(entry['outcome'])}"
            said = wording.allowed_failure(entry["outcome"], entry["reason"] or "")
            lines.append(_command(plan.file, step.line, step.column, title, said, kind="warning"))
    return lines


def plan_annotations(judged: Verdict, why: str, plan: Plan) -> list[str]:
    """An `::error` at the plan when it failed for more than its steps (their own annotations
    say the rest): the plan's timeout, credentials refused, an interrupt, a report not written."""
    if all(isinstance(cause, StepsFailed) for cause in judged.causes):
        return []
    title = f"fusion-run: plan {plan.name} did not succeed"
    return [_command(plan.file, None, None, title, why)]


def problem_annotations(problems: Iterable[Problem]) -> list[str]:
    return [
        _command(p.file, p.line, p.column, "fusion-run: invalid plan", str(p).split(": ", 1)[-1])
        for p in problems
    ]


def _command(
    file: str,
    line: int | None,
    column: int | None,
    title: str,
    message: str,
    *,
    kind: str = "error",
) -> str:
    place = f"file={_property(file)}"
    if line is not None:
        place += f",line={line},col={column}"
    return f"::{kind} {place},title={_property(title)}::{_data(message)}"


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
