"""Exit codes and the one exception root; mapping exceptions to exit codes lives in the CLI."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    SUCCEEDED = 0
    PLAN_FAILED = 1
    INVALID = 2  # invalid plan or usage, credentials not set, or a job Fusion does not have
    # Fusion out of reach before anything started, credentials refused, the final report not
    # written, or an unexpected internal error (Fusion lost mid-run fails steps: PLAN_FAILED)
    FUSION = 3
    INTERRUPTED = 130


class FatalError(Exception):
    """An expected failure: the CLI prints `fusion-run: <message>` and exits with `exit_code`."""

    exit_code = ExitCode.FUSION


class UsageError(FatalError):
    exit_code = ExitCode.INVALID
