"""`fusion-run report REPORT --html FILE`: an earlier report, of any format fusion-run reads,
rendered as the HTML page a run's `--html` writes. Not an action on a plan (`COMMANDS`): it reads
the report alone, and contacts nothing."""

from __future__ import annotations

from runner.errors import ExitCode, FatalError
from runner.report.html import render
from runner.report.journal import read_report, why_unwritable, write_text_atomically


def main(report: str, html: str) -> int:
    """Write the page of the report at `report` to `html`. UsageError (exit 2) for a report that
    cannot be read or is not one; FatalError (exit 3) when the page cannot be written."""
    page = render(read_report(report, "report"))
    try:
        write_text_atomically(html, page)
    except OSError as error:
        raise FatalError(f"cannot write the HTML report {html}: {why_unwritable(error)}") from None
    return ExitCode.SUCCEEDED
