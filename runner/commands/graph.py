"""`fusion-run PLAN --graph mermaid|dot`: the dependency graph on stdout; with `--report`, each
step coloured by its outcome in that report; with --select, --exclude or --from, the steps left
out labelled `not selected`. `--graph gantt --report REPORT`: the report's runs
on a timeline, as the GitHub summary draws them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from runner.commands.loading import load_selected
from runner.commands.options import Options
from runner.errors import ExitCode, UsageError
from runner.redact import Redactor
from runner.report import echo, graph
from runner.report.gantt import gantt
from runner.report.journal import read_report

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
    if report is not None and report["plan"]["name"] != plan.name:
        raise UsageError(
            f"--report {options.report} is a report of plan {report['plan']['name']!r}, not of "
            f"{plan.name!r}: give a report of this plan"
        )
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
