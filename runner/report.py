"""The JSON report: built from the engine's state, described by schemas/report.schema.json, and
written atomically after every change, so the file on disk is valid JSON at every moment.

While a plan runs, `outcome` is `running` and unfinished steps are `pending` or `running`; a
finished report has only the final outcomes.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from runner import __version__
from runner.errors import UsageError
from runner.scheduler import Outcome
from runner.schemas import load_schema

if TYPE_CHECKING:
    from runner.engine import Attempt, Engine, StepRun

REPORT_VERSION = 1
STEP_OUTCOMES = [*(str(o) for o in Outcome), "pending", "running"]


def build_report(engine: Engine) -> dict[str, Any]:
    plan = engine.plan
    steps = [_step(run) for run in engine.runs.values()]
    summary = dict.fromkeys(STEP_OUTCOMES, 0)
    for step in steps:
        summary[step["outcome"]] += 1
    ended = engine.ended_at
    return {
        "report_version": REPORT_VERSION,
        "fusion_run_version": __version__,
        "outcome": engine.outcome,
        "error": engine.error,
        "detached": engine.detached,
        "resumed_from": None
        if engine.resume is None
        else {"path": engine.resume.path, "outcome": engine.resume.outcome},
        "plan": {"path": plan.file, "name": plan.name, "sha256": plan.sha256},
        "fusion": {"url": engine.url, "api": plan.fusion.api},
        "started_at": _time(engine.started_at),
        "ended_at": _time(ended),
        "duration": None if ended is None else (ended - engine.started_at).total_seconds(),
        "summary": {"steps": len(steps), **summary},
        "warnings": list(engine.warnings),
        "steps": steps,
    }


def _step(run: StepRun) -> dict[str, Any]:
    if run.outcome is not None:
        outcome = str(run.outcome)
    else:
        outcome = "running" if run.active or run.attempts else "pending"
    attempts = [_attempt(attempt) for attempt in run.attempts]
    return {
        "name": run.step.name,
        "job": run.step.job,
        "outcome": outcome,
        "reason": run.reason,
        "allow_failure": run.step.allow_failure,
        "depends_on": list(run.step.depends_on),
        "line": run.step.line,
        "run_id": run.attempts[-1].run_id if run.attempts else None,
        "started_at": attempts[0]["started_at"] if attempts else None,
        "ended_at": attempts[-1]["ended_at"] if attempts else None,
        "attempts": attempts,
    }


def _attempt(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "run_id": attempt.run_id,
        "adopted": attempt.adopted,
        "state": attempt.state,
        "started_at": _time(attempt.started_at),
        "ended_at": _time(attempt.ended_at),
        "duration": attempt.duration,
        "error": attempt.error,
        "status_reads": attempt.status_reads,
        "criteria": [
            {
                "name": c.name,
                "expected": c.expected,
                "actual": c.actual,
                "passed": c.passed,
                "reason": c.reason,
            }
            for c in attempt.criteria
        ],
    }


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
