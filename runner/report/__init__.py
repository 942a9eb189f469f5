"""Every output fusion-run writes. The console, the report's journal, JUnit and the GitHub summary
each consume the event stream as the plan runs (`runner.engine.reporter.Reporter`), then the final
result once; `Reporters` feeds them all. `echo` writes a line; `annotate` puts a plan's problems on
its lines in GitHub Actions. Nothing here decides: it says what it is given.

This module imports nothing heavy: `fusion-run PLAN --validate` starts through it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.engine.reporter import Reporter
    from runner.events import Event
    from runner.plan.problems import Problem
    from runner.redact import Redactor
    from runner.result import PlanResult


def echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """`click.echo(message, err=err, nl=nl)`, without importing click where it would only write
    the text and flush: plain text (no escape sequence for click to strip) to a UTF-8 stream,
    off Windows. Anything else goes to click.echo itself."""
    stream = sys.stderr if err else sys.stdout
    text = f"{message}\n" if nl else message
    encoding = str(getattr(stream, "encoding", None) or "").lower().replace("_", "-")
    if (
        stream is None
        or "\x1b" in text
        or encoding not in ("utf-8", "utf8")
        or sys.platform == "win32"
    ):
        import click  # noqa: PLC0415

        click.echo(message, err=err, nl=nl)
        return
    if text:
        stream.write(text)
    stream.flush()


def annotate(problems: list[Problem], environ: Mapping[str, str], redact: Redactor) -> None:
    """On GitHub Actions, each problem of an invalid plan also becomes an annotation on its line."""
    from runner.report.github import in_github_actions, problem_annotations  # noqa: PLC0415

    if in_github_actions(environ):
        for line in problem_annotations(problems):
            echo(redact.text(line))


class Reporters:
    """Several reporters as one, each called in the order given."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def handle(self, event: Event, result: PlanResult) -> None:
        for reporter in self.reporters:
            reporter.handle(event, result)

    def finish(self, result: PlanResult) -> None:
        for reporter in self.reporters:
            reporter.finish(result)


class Together(Reporters):
    """Reporters that send the final result elsewhere (a Pushgateway, a trace collector), each
    bounded in time: they finish side by side, so the slowest bounds the wait, not their sum."""

    def finish(self, result: PlanResult) -> None:
        import threading  # noqa: PLC0415 - only where something is sent

        threads = [
            threading.Thread(target=reporter.finish, args=(result,), daemon=True)
            for reporter in self.reporters
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
