"""The JSON report on disk: the journal that writes it as the plan runs, and reading one back.

The report is `PlanResult.to_dict()`, described by schemas/report.schema.json. The journal writes
it atomically (a temporary file, fsync, rename), so the file on disk is valid JSON at every moment:
at once when the steps start, before each start request (its intent), as soon as a start's answer
names the run, and at the end; by the end of any pass of the engine in which a step ended, was
cancelled or retried, or fusion-run was interrupted; within a second of a run's state change.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runner import events as ev
from runner.engine.reporter import NotDurable
from runner.errors import FatalError, UsageError
from runner.facts import BadFact, criterion_from_fact, from_fact
from runner.report.paths import file_in_the_way
from runner.report.upgrade import upgrade
from runner.result import REPORT_VERSION, PlanResult, summary
from runner.schemas import load_schema

# Written before anything else happens: a start's intent before its request goes out, its run
# id as soon as the answer arrives (write-ahead), and the report at the start and the end.
_AT_ONCE = (
    ev.PlanStarted,
    ev.StartRequested,
    ev.Started,
    ev.RunPickedUp,
    ev.RunIdentified,
    ev.Answered,
    ev.PlanEnded,
)
# After these the report shows something new: on disk by the end of the engine's pass; so does
# any event kept among the report's warnings.
_URGENT = (ev.Cancelling, ev.Retrying, ev.StepEnded, ev.InterruptReceived)
_MINOR = (ev.StateChanged,)  # written within a second
MINOR_DELAY = 1.0


class Journal:
    """A reporter that keeps the report on disk in step with the plan.

    A write that fails (a full disk, an I/O error, a permission taken away) leaves the last good
    report in place: the journal warns once, tries again at the next change, and remembers the
    failure (`unwritten`) so that the caller can say so at the end. Only two writes must succeed:
    the first, before anything starts (else `FatalError`), and a start's intent, before its
    request goes out (else `NotDurable`, and the start is not sent). Fusion's words in it were
    masked as they arrived (`runner.redact`); nothing else is changed.
    """

    def __init__(
        self,
        write: Callable[[dict[str, Any]], None],
        *,
        path: str = "the report",
        warn: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.write = write
        self.path = path
        self.warn = warn
        self.unwritten: OSError | None = None  # why the latest write failed, if it did
        self._warned = False
        self._refused = False  # the first write failed: the plan stopped before it began
        self._dirty = self._urgent = False
        self._written = float("-inf")
        # The record of each step that has ended: it never changes again, so a write builds only
        # the records of the steps still going or pending, and costs what changes, not the
        # plan's size.
        self._ended: dict[str, dict[str, Any]] = {}
        self._waiting: dict[str, tuple[object, dict[str, Any]]] = {}  # no attempt yet: by state

    def handle(self, event: ev.Event, result: PlanResult) -> None:
        if self._refused:
            return
        if isinstance(event, _AT_ONCE):
            if self._save(result, event.at):
                return
            assert self.unwritten is not None
            if isinstance(event, ev.PlanStarted):  # nothing started yet: stop, nothing is lost
                self._refused = True  # and no more tries: the error says it all
                why = why_unwritable(self.unwritten)
                raise FatalError(f"cannot write the report {self.path}: {why}")
            self._warn_once()
            if isinstance(event, ev.StartRequested):
                raise NotDurable(why_unwritable(self.unwritten))
        elif isinstance(event, ev.Tick):
            due = self._urgent or event.at - self._written >= MINOR_DELAY
            if self._dirty and due and not self._save(result, event.at):
                self._warn_once()
        elif isinstance(event, _URGENT) or (result.warnings and result.warnings[-1] is event):
            self._dirty = self._urgent = True  # a warning too: kept, so said in the report
        elif isinstance(event, _MINOR):
            self._dirty = True

    def finish(self, result: PlanResult) -> None:
        pass

    def rewrite(self, result: PlanResult) -> None:
        """The final report once more: warnings joined it after the plan ended (an output of
        its own that could not be written or sent)."""
        if not self._save(result, self._written):
            self._warn_once()

    def _steps(self, result: PlanResult) -> list[dict[str, Any]]:
        records = []
        for step in result.steps:
            record = self._ended.get(step.name)
            state = (step.started, step.reason)  # all a step with no attempt yet can change
            waited = None if step.attempts else self._waiting.get(step.name)
            if record is None and waited is not None and waited[0] == state:
                record = waited[1]
            if record is None:
                record = step.to_dict()
                if step.outcome is not None:
                    self._ended[step.name] = record
                elif not step.attempts:
                    self._waiting[step.name] = (state, record)
            records.append(record)
        return records

    def _save(self, result: PlanResult, at: float) -> bool:
        try:
            report = result.to_dict(steps=[])
            report["steps"] = self._steps(result)
            report["summary"] = summary(report["steps"])
            self.write(report)
        except OSError as error:
            self.unwritten, self._dirty = error, True
            return False
        self.unwritten = None
        self._dirty = self._urgent = False
        self._written = at
        return True

    def _warn_once(self) -> None:
        if self._warned or self.unwritten is None:
            return
        self._warned = True
        self.warn(
            f"fusion-run: cannot write the report {self.path}: {why_unwritable(self.unwritten)}; "
            "the last good one stays in place, and fusion-run tries again at every change"
        )


def why_unwritable(error: OSError) -> str:
    """Why a file could not be written, in words: `out is a file, not a folder` rather than
    mkdir's `File exists` when the path goes through a file."""
    if isinstance(error, FileExistsError | NotADirectoryError) and error.filename:
        blocking = file_in_the_way(error.filename)  # the folder mkdir was making
        if blocking is not None:
            return f"{blocking} is a file, not a folder"
    return error.strerror or str(error)


def report_file(path: str) -> Callable[[dict[str, Any]], None]:
    """A journal's writer for `path`. Its first write also removes the temporary files a killed
    fusion-run may have left beside the report (a kill -9 between creating one and renaming it).
    While the plan runs, the report is written compact, each step's record encoded again only
    when it is a new object (`Journal` keeps the others); the final one is indented."""
    first = True
    encoded: list[tuple[dict[str, Any], str]] = []  # each step's record, and its JSON

    def write(data: dict[str, Any]) -> None:
        nonlocal first, encoded
        if first:
            first = False
            target = Path(path)
            for stale in target.parent.glob(f".{target.name}.*.tmp"):
                stale.unlink(missing_ok=True)
        if data["ended_at"] is not None:
            write_atomically(path, data)
            return
        texts = []
        for index, step in enumerate(data["steps"]):
            same = index < len(encoded) and encoded[index][0] is step
            texts.append(encoded[index][1] if same else _compact(step))
        encoded = list(zip(data["steps"], texts, strict=True))
        head = _compact({key: value for key, value in data.items() if key != "steps"})
        body = ",".join(texts)
        write_text_atomically(path, f'{head[:-1]},"steps":[{body}]}}\n')

    return write


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


# The report formats read back, each with its schema: the one written, and those before it (read
# as the one written: `runner.report.upgrade`).
READS = {
    2: "report-2.schema.json",
    3: "report-3.schema.json",
    4: "report-4.schema.json",
    REPORT_VERSION: "report.schema.json",
}


# Levels of nesting a report may have: its own few, and what Fusion said, which the client cuts
# at 64 levels (`runner.fusion.client.MAX_DEPTH`).
MAX_DEPTH = 100


def _not_json(constant: str) -> float:
    """json's reader takes NaN and Infinity, which JSON has not, and no report holds."""
    raise ValueError(f"{constant} is not a JSON value")


def _depth(value: Any) -> int:
    """How deeply `value` nests, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def read_report(path: str, flag: str) -> dict[str, Any]:
    """An earlier report, checked against its schema, in the format written now; UsageError
    naming `flag` and the fault."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{flag} {path}: cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{flag} {path}: not a report: not UTF-8 (byte {error.start})") from None
    try:
        report = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise UsageError(f"{flag} {path}: not a report: nested too deeply") from None
    except ValueError as error:
        raise UsageError(f"{flag} {path}: not JSON ({error})") from None
    if _depth(report) > MAX_DEPTH:  # more than any report holds; its readers walk it by recursion
        raise UsageError(f"{flag} {path}: not a report: nested too deeply")
    version = report.get("report_version") if isinstance(report, dict) else None
    if isinstance(version, int) and version not in READS:
        writer = report.get("fusion_run_version")
        by = f"fusion-run {writer}" if isinstance(writer, str) else "another fusion-run"
        raise UsageError(
            f"{flag} {path}: the report is in format {version} ({by}); this fusion-run reads "
            f"formats {min(READS)} to {max(READS)} only: run the plan afresh, or use {by}"
        )
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - 45 ms, for reading reports only

    # not even a version: checked as the newest, which says what is wrong
    schema = READS[version] if isinstance(version, int) else READS[REPORT_VERSION]
    problems = sorted(
        Draft202012Validator(load_schema(schema)).iter_errors(report),
        key=lambda e: list(e.absolute_path),
    )
    if problems:
        where = "".join(f"[{p!r}]" for p in problems[0].absolute_path)
        first = f"{where or 'top level'}: {problems[0].message}"
        raise UsageError(f"{flag} {path}: not a fusion-run report ({first})")
    report = upgrade(report)
    for at, fact in _facts(report):
        try:
            if at[-1] == "criteria":
                criterion_from_fact(fact)
            else:
                from_fact(fact)
        except BadFact as bad:
            place = "".join(f"[{part!r}]" for part in at)
            raise UsageError(f"{flag} {path}: not a fusion-run report ({place}: {bad})") from None
    return report


def _facts(report: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every fact of a report (valid against its schema), with where it is."""
    if report["error_fact"] is not None:
        yield ("error_fact",), report["error_fact"]
    for i, step in enumerate(report["steps"]):
        if step["reason_fact"] is not None:
            yield ("steps", i, "reason_fact"), step["reason_fact"]
        for j, attempt in enumerate(step["attempts"]):
            where = ("steps", i, "attempts", j)
            if attempt["cancel"] is not None:
                yield (*where, "cancel", "cause"), attempt["cancel"]["cause"]
            for criterion in attempt["criteria"]:
                yield (*where, "criteria"), criterion


def write_atomically(path: str, data: dict[str, Any]) -> None:
    """Replace `path` with `data` as JSON: a reader (or a crash) sees the old file or the new."""
    write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _umask() -> int:
    """The process's umask. Reading it means setting it, so it is set straight back."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_text_atomically(path: str, text: str) -> None:
    """Replace `path` with `text` by writing a temporary file, syncing it, and renaming it."""
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(descriptor, 0o666 & ~_umask())  # as open() would make it; mkstemp makes 0600
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
