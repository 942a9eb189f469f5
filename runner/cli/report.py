"""`fusion-run report REPORT --html FILE`, the command that renders an earlier report. `entry`
hands it the command line when its first word is exactly `report` (a plan file of that name is
`./report`)."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, NoReturn

from runner.cli.exits import guarded
from runner.cli.usage import not_writable, same_file
from runner.errors import UsageError
from runner.redact import Redactor

if TYPE_CHECKING:
    import click


def render(report: str, html: str) -> int:
    """The page of `report` written to `html`, once the two are known not to be one file."""
    from runner.commands.report import main  # noqa: PLC0415

    if same_file(html, report):
        raise UsageError(
            f"--html {html} is the report it renders: writing there would overwrite it; "
            "choose another path"
        )
    if why := not_writable(html, replaced=True):  # a device the rename would replace, say
        raise UsageError(f"--html {html}: {why}")
    return main(report, html)


@functools.cache
def command() -> click.Command:
    import click  # noqa: PLC0415

    @click.command(
        name="report",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        epilog="Exit 0 when the page is written, 2 when REPORT cannot be read or is not a "
        "fusion-run report, 3 when FILE cannot be written.",
    )
    @click.argument("report", metavar="REPORT")
    @click.option(
        "--html",
        metavar="FILE",
        required=True,
        help="Write the report as one self-contained HTML page: what a run's --html writes.",
    )
    @click.option(
        "--traceback", "show_traceback", is_flag=True, help="Show tracebacks of internal errors."
    )
    def main(report: str, html: str, show_traceback: bool) -> NoReturn:
        """Render REPORT, a JSON report fusion-run wrote (of any format it reads), without the
        plan and without contacting Fusion."""
        clean = Redactor.from_environ(os.environ).line  # an error line may quote the report
        raise SystemExit(
            guarded(lambda: render(report, html), show_traceback=show_traceback, clean=clean)
        )

    return main
