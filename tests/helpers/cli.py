"""`fusion-run` in process, as click's test runner gives it: exit code, stdout and stderr apart."""

from __future__ import annotations

from click.testing import CliRunner, Result

from runner import cli


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `fusion-run ARGS...`; exceptions other than SystemExit propagate to the test."""
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
