"""Exit codes and the one exception root; mapping exceptions to exit codes lives in the CLI."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    SUCCEEDED = 0
    PLAN_FAILED = 1
    INVALID = 2  # invalid plan or usage
    FUSION = 3  # Fusion unreachable, credentials refused, or an unexpected internal error
    INTERRUPTED = 130


class FatalError(Exception):
    """An expected failure: the CLI prints `fusion-run: <message>` and exits with `exit_code`."""

    exit_code = ExitCode.FUSION


class UsageError(FatalError):
    exit_code = ExitCode.INVALID
