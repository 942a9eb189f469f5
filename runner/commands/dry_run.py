"""`fusion-run PLAN --dry-run`: the plan resolved, in words, and its start order; nothing is
contacted."""

from __future__ import annotations

from collections.abc import Mapping

from runner.commands.loading import load
from runner.commands.options import Options
from runner.errors import ExitCode
from runner.redact import Redactor
from runner.report import echo
from runner.report.describe import describe


def main(options: Options, environ: Mapping[str, str], redact: Redactor) -> int:
    loaded = load(options, environ)
    echo(describe(loaded.plan, url=loaded.url, url_source=loaded.url_source), nl=False)
    return ExitCode.SUCCEEDED
