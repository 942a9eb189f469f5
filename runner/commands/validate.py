"""`fusion-run PLAN... --validate`: each plan checked offline. Problems on stderr (or as JSON on
stdout with `--format json`), and notes of unset variables on stderr."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from runner.commands.options import Options
from runner.errors import ExitCode
from runner.plan.loader import validate_file
from runner.plan.problems import InvalidPlan, Problem, problems_as_json, sort_problems
from runner.plan.variables import check_variables
from runner.redact import Redactor
from runner.report import annotate, echo

if TYPE_CHECKING:
    from runner.clock import WakingClock


def main(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    *,
    clock: WakingClock | None = None,  # nothing here waits: taken as every command takes it
) -> int:
    problems: list[Problem] = []
    used: set[str] = set()
    for path in options.plans:
        try:
            checked = validate_file(
                path, variables=options.variables, environ=environ, target=options.target
            )
        except InvalidPlan as invalid:
            problems += invalid.problems
            if options.output_format == "text":
                annotate(invalid.problems, environ, redact)
            lines = invalid.problems if options.output_format == "text" else []
            for line in sort_problems([*lines, *invalid.notes]):
                echo(redact.line(str(line)), err=True)
        else:
            used |= checked.variables
            for note in checked.notes:
                echo(redact.line(str(note)), err=True)
            if options.output_format == "text":
                made = f" ({checked.from_for_each} from for_each)" if checked.from_for_each else ""
                echo(f"{path}: valid, {checked.steps} step(s){made}", err=True)
    if not problems:  # an invalid plan may use variables its problems hide
        check_variables(options.variables, used, plans=len(options.plans))
    if options.output_format == "json":
        echo(problems_as_json(problems))
    return ExitCode.INVALID if problems else ExitCode.SUCCEEDED
