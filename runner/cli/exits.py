"""The one place exceptions become exit codes and a single line on stderr, for both commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from runner.errors import ExitCode, FatalError
from runner.plan.problems import InvalidPlan
from runner.report import echo

if TYPE_CHECKING:
    from runner.plan.problems import Problem


def guarded(
    run: Callable[[], int],
    *,
    show_traceback: bool,
    clean: Callable[[str], str] = lambda line: line,
    log_format: Literal["text", "json"] = "text",
    prog: str = "fusion-run",
) -> int:
    """Run `run`, turning every exception into one line on stderr and an exit code, after `prog`
    (the command's name). Each line passes through `clean` (`runner.redact.Redactor.line`): an
    error may quote Fusion. With `log_format` json, that line is an `error` object
    (`runner.report.jsonlog.error_record`)."""

    def say(code: int, text: str, problems: Sequence[Problem] = (), trace: str = "") -> int:
        if log_format == "json":
            from runner.report.jsonlog import error_line  # noqa: PLC0415

            echo(error_line(code, text, problems, trace, clean=clean), err=True)
        else:
            for problem in problems:
                echo(clean(str(problem)), err=True)
            if trace:
                echo(trace, err=True, nl=False)
            if not problems:
                echo(clean(text), err=True)
        return code

    try:
        return run()
    except InvalidPlan as invalid:
        count = len(invalid.problems)
        return say(ExitCode.INVALID, f"{prog}: {count} problem(s)", invalid.problems)
    except FatalError as error:
        return say(error.exit_code, f"{prog}: {error}")
    except KeyboardInterrupt:
        return say(ExitCode.INTERRUPTED, f"{prog}: interrupted")
    except Exception as error:
        trace = ""
        if show_traceback:
            import traceback  # noqa: PLC0415 - only on this path; start-up time matters

            trace = traceback.format_exc()
        hint = "" if show_traceback else " (run again with --traceback for details)"
        line = f"{prog}: internal error: {type(error).__name__}: {error}{hint}"
        return say(ExitCode.FUSION, line, trace=trace)
