"""The one place exceptions become exit codes and a single line on stderr, for both commands."""

from __future__ import annotations

from collections.abc import Callable

from runner.errors import ExitCode, FatalError
from runner.plan.problems import InvalidPlan
from runner.report import echo


def guarded(
    run: Callable[[], int],
    *,
    show_traceback: bool,
    clean: Callable[[str], str] = lambda line: line,
) -> int:
    """Run `run`, turning every exception into one line on stderr and an exit code. Each line
    passes through `clean` (`runner.redact.Redactor.line`): an error may quote Fusion."""
    try:
        return run()
    except InvalidPlan as invalid:
        for problem in invalid.problems:
            echo(clean(str(problem)), err=True)
        return ExitCode.INVALID
    except FatalError as error:
        echo(clean(f"fusion-run: {error}"), err=True)
        return error.exit_code
    except KeyboardInterrupt:
        echo("fusion-run: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except Exception as error:
        if show_traceback:
            import traceback  # noqa: PLC0415 - only on this path; start-up time matters

            traceback.print_exc()
        hint = "" if show_traceback else " (run again with --traceback for details)"
        line = f"fusion-run: internal error: {type(error).__name__}: {error}{hint}"
        echo(clean(line), err=True)
        return ExitCode.FUSION
