"""`fusion-run PLAN --graph mermaid|dot`: the dependency graph on stdout; with `--report`, each
step coloured by its outcome in that report, which must be of this plan (as a resume
would take it without --force); with --select, --exclude or --from, the steps left
out labelled `not selected`. `--graph gantt --report REPORT`: the report's runs
on a timeline, as the GitHub summary draws them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner.commands.loading import load_selected
from runner.commands.options import Options
from runner.commands.resume import plan_edits
from runner.errors import ExitCode, UsageError
from runner.plan import Plan
from runner.redact import Redactor
from runner.report import echo, graph
from runner.report.gantt import gantt
from runner.report.journal import read_report
from runner.result import PlanResult

if TYPE_CHECKING:
    from runner.clock import WakingClock


def main(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    *,
    clock: WakingClock | None = None,  # nothing here waits: taken as every command takes it
) -> int:
    plan, selected = load_selected(options, environ)
    report = read_report(options.report, "--report") if options.report_given else None
    if report is not None:
        _same_plan(options.report, report, plan)
    if options.graph == "gantt":
        assert report is not None  # `runner.cli.usage` refuses gantt without --report
        chart = gantt(report)
        if chart is None:
            raise UsageError(f"--report {options.report}: no step of it started: no run to draw")
        echo(chart, nl=False)
        return ExitCode.SUCCEEDED
    outcomes = None
    if report is not None:
        outcomes = {step["name"]: step["outcome"] for step in report["steps"]}
    draw = graph.mermaid if options.graph == "mermaid" else graph.dot
    left_out = [] if selected is None else [s.name for s in plan.steps if s.name not in selected]
    echo(draw(plan, outcomes, left_out, options.max_parallel), nl=False)
    return ExitCode.SUCCEEDED


def _same_plan(path: str, report: dict[str, Any], plan: Plan) -> None:
    """Refuse a report of another plan, naming both and what differs; one of this plan with
    another target, naming the target to draw it with."""
    before = report["plan"]["target"]
    now = plan.target
    if report["plan"]["name"] == plan.name and before and now and before != now:
        raise UsageError(
            f"--report {path}: that report's run had target {before}, not {now}: "
            f"draw it with --target {before}"
        )
    edits = plan_edits(PlanResult.from_dict(report), plan)
    differs = [edit.text for edit in edits if not edit.adjustable]
    if report["plan"]["name"] == plan.name and not differs:
        return
    theirs = report["plan"]
    raise UsageError(
        f"--report {path} is a report of another plan: {theirs['path']} (plan "
        f"{theirs['name']!r}, sha256 {theirs['sha256'][:12]}), not {plan.file} (plan "
        f"{plan.name!r}, sha256 {plan.sha256[:12]}): "
        f"{'; '.join(differs or ['another name'])}; give a report of this plan"
    )
