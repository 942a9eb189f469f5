"""What explains a failed Spark run, kept as the run ends: Fusion deletes driver pods within the
hour, so the log that says why a run failed at 03:00 is gone by morning.

One call to Fusion (`Fusion.driver_log`: a request, and a second only when Fusion has no log by
the run's id), never tried again. A log that cannot be read, for any reason, is a note beside the
attempt: never a failure, and it holds the step's verdict up no longer than that call. A
datasource's or a task's run has no driver: its history record's `error` and counters, which
the attempt keeps already, say why it failed.
"""

from __future__ import annotations

import re

from runner import wording
from runner.engine.context import Context
from runner.engine.phases import Phase, StepState
from runner.events import DriverLogKept
from runner.fusion import ErrorKind, FusionError
from runner.jobs import job_kind
from runner.redact import CUT
from runner.result import Attempt, Evidence

# Lines of the driver log kept: a Spark failure's last log lines, its exception and the first
# frames of its stack (and of a cause or two) fit, while a report of many failed steps stays
# small. Each line is cut to LINE_CHARACTERS (a plan printed whole, a row dumped in a message):
# at most about 100 KB a failed attempt.
DRIVER_LOG_ROWS = 50
LINE_CHARACTERS = 2000


def keep_evidence(ctx: Context, s: StepState, attempt: Attempt) -> None:
    """Read the end of the failed attempt's driver log into `attempt.evidence` (Spark jobs only),
    or a note of why it could not be read."""
    if job_kind(s.step.job)[0] != "spark":
        return
    try:
        log = ctx.fusion.driver_log(s.step.job, attempt.run_id, DRIVER_LOG_ROWS)
    except FusionError as error:
        note = wording.driver_log_unread(
            str(error),
            missing=error.kind is ErrorKind.NOT_FOUND,
            refused=error.kind is ErrorKind.CREDENTIALS,
        )
        attempt.evidence = Evidence(note=note)
        return
    lines = tuple(_cut(line) for line in log.lines[-DRIVER_LOG_ROWS:])
    attempt.evidence = Evidence(driver_log=lines, log_by="run" if log.by_run else "job")


# A line that names a Java or Python exception or error (`org.apache.spark.SparkException: ...`,
# `java.lang.OutOfMemoryError`, `ValueError: ...`), not a frame of a stack (`\tat ...`).
_ERROR = re.compile(r"\b[\w.$]*(?:Exception|Error)\b")
ERROR_CHARACTERS = 300  # of that line, said on the console


def last_error(lines: tuple[str, ...]) -> str | None:
    """The last of `lines` that names an exception or an error, stripped and cut: the console's
    one line of what went wrong.

    >>> last_error(("INFO start", "org.apache.spark.SparkException: Job aborted", "\tat a.b(c)"))
    'org.apache.spark.SparkException: Job aborted'
    >>> last_error(("INFO all well",)) is None
    True
    """
    for line in reversed(lines):
        text = line.strip()
        if _ERROR.search(text) and not text.startswith("at "):
            return text if len(text) <= ERROR_CHARACTERS else text[: ERROR_CHARACTERS - 1] + CUT
    return None


def said(ctx: Context, s: StepState, attempt: Attempt, phase: Phase) -> Phase:
    """`phase`, once the console has been told where the attempt's evidence is (after the line
    that says the attempt failed)."""
    evidence = attempt.evidence
    if evidence is not None:
        log = evidence.driver_log or ()
        kept = DriverLogKept(
            step=s.step.name,
            run_id=attempt.run_id,
            lines=len(log),
            note=evidence.note,
            error=last_error(log),
        )
        ctx.emit(kept)
    return phase


def _cut(line: str) -> str:
    return line if len(line) <= LINE_CHARACTERS else line[: LINE_CHARACTERS - 1] + CUT
