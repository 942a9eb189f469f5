"""The JSON report on disk: the journal that writes it as the plan runs, and reading one back.

The report is `PlanResult.to_dict()`, described by schemas/report.schema.json. The journal writes
it atomically (a temporary file, fsync, rename), so the file on disk is valid JSON at every moment:
at once when the steps start; by the end of any pass of the engine in which a step started,
ended, was cancelled, retried or identified its run, or fusion-run was interrupted; within a
second of a run's state change; and at the end.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from runner import events as ev
from runner.errors import FatalError, UsageError
from runner.result import PlanResult
from runner.schemas import load_schema

# Events after which the report shows something new, to be on disk by the end of the pass.
_URGENT = (
    ev.Started,
    ev.RunIdentified,
    ev.Cancelling,
    ev.Retrying,
    ev.StepEnded,
    ev.InterruptReceived,
)
_MINOR = (ev.StateChanged,)  # written within a second
MINOR_DELAY = 1.0


class Journal:
    """A reporter that keeps the report on disk in step with the plan."""

    def __init__(self, write: Callable[[dict[str, Any]], None]) -> None:
        self.write = write
        self._dirty = self._urgent = False
        self._written = float("-inf")

    def handle(self, event: ev.Event, result: PlanResult) -> None:
        if isinstance(event, ev.PlanStarted | ev.PlanEnded):
            self._save(result, event.at)
        elif isinstance(event, ev.Tick):
            if self._dirty and (self._urgent or event.at - self._written >= MINOR_DELAY):
                self._save(result, event.at)
        elif isinstance(event, _URGENT):
            self._dirty = self._urgent = True
        elif isinstance(event, _MINOR):
            self._dirty = True

    def finish(self, result: PlanResult) -> None:
        pass

    def _save(self, result: PlanResult, at: float) -> None:
        self.write(result.to_dict())
        self._dirty = self._urgent = False
        self._written = at


def report_file(path: str) -> Callable[[dict[str, Any]], None]:
    """A journal's writer for `path`: a failed write is one line naming the file (exit 3)."""

    def write(data: dict[str, Any]) -> None:
        try:
            write_atomically(path, data)
        except OSError as error:
            raise FatalError(f"cannot write the report {path}: {error.strerror or error}") from None

    return write


def read_report(path: str, flag: str) -> dict[str, Any]:
    """An earlier report, checked against its schema; UsageError naming `flag` and the fault."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{flag} {path}: cannot read it: {error.strerror or error}") from None
    try:
        report = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{flag} {path}: not JSON ({error})") from None
    problems = sorted(
        Draft202012Validator(load_schema("report.schema.json")).iter_errors(report),
        key=lambda e: list(e.absolute_path),
    )
    if problems:
        where = "".join(f"[{p!r}]" for p in problems[0].absolute_path)
        first = f"{where or 'top level'}: {problems[0].message}"
        raise UsageError(f"{flag} {path}: not a fusion-run report ({first})")
    return dict(report)


def write_atomically(path: str, data: dict[str, Any]) -> None:
    """Replace `path` with `data` as JSON: a reader (or a crash) sees the old file or the new."""
    write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def write_text_atomically(path: str, text: str) -> None:
    """Replace `path` with `text` by writing a temporary file, syncing it, and renaming it."""
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not every file system lets a folder be opened
        folder_descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder_descriptor)
    except OSError:
        pass
    finally:
        os.close(folder_descriptor)
