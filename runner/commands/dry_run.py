"""`fusion-run PLAN --dry-run`: the plan resolved, in words, and its start order; nothing is
contacted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from runner.commands.loading import load
from runner.commands.options import Options
from runner.errors import ExitCode
from runner.redact import Redactor
from runner.report import echo
from runner.report.describe import describe

if TYPE_CHECKING:
    from runner.clock import WakingClock


def main(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    *,
    clock: WakingClock | None = None,  # nothing here waits: taken as every command takes it
) -> int:
    loaded = load(options, environ)
    echo(describe(loaded.plan, url=loaded.url, url_source=loaded.url_source), nl=False)
    return ExitCode.SUCCEEDED
