"""`fusion-run` in process, as click's test runner gives it: exit code, stdout and stderr apart,
on a fake clock unless a test asks for the real one."""

from __future__ import annotations

from click.testing import CliRunner, Result

from runner import cli
from runner.clock import WakingClock
from tests.helpers.fakes import FakeClock


def invoke(
    *args: str, env: dict[str, str] | None = None, clock: WakingClock | None = None
) -> Result:
    """Run `fusion-run ARGS...` on `clock`: a fresh fake clock unless given, so that no command
    run here waits on the real clock (an emulator it starts with --emulate shares that clock).
    A run against a live emulator passes the clock of the emulator's model; a test of real time
    passes a `SystemClock`. Exceptions other than SystemExit propagate to the test."""
    clock = FakeClock() if clock is None else clock
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False, obj=clock)
