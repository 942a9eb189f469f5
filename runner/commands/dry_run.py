"""`fusion-run PLAN --dry-run`: the plan resolved, in words (or as JSON with `--format json`), with
the steps --select, --exclude and --from leave in, and its start order; nothing is contacted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from runner.commands.loading import load
from runner.commands.options import Options
from runner.errors import ExitCode
from runner.redact import Redactor
from runner.report import echo
from runner.report.describe import describe, dry_run_document

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
    plan, url, source, selected = loaded.plan, loaded.url, loaded.url_source, loaded.selected
    parallel = options.max_parallel
    if options.output_format == "json":
        document = dry_run_document(
            plan, url=url, url_source=source, selected=selected, max_parallel=parallel
        )
        echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        text = describe(plan, url=url, url_source=source, selected=selected, max_parallel=parallel)
        echo(text, nl=False)
    return ExitCode.SUCCEEDED
