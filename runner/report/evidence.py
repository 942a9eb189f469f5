"""What JUnit and the GitHub summary show of why a step failed, beyond its reason: for each
failed attempt, Fusion's failure message, a datasource's or task's counters, and the end of a
Spark run's driver log (or the note that says why there is none), from the cleaned report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runner.jobs import job_kind

FAILED_STEPS = ("failed", "timed_out", "cancelled")


@dataclass(frozen=True, slots=True)
class Shown:
    """One failed attempt's evidence: a title, and its lines."""

    title: str
    lines: list[str]


def failed_attempts(step: dict[str, Any]) -> list[Shown]:
    """The evidence of each failed attempt of a step that failed; none for any other step."""
    if step["outcome"] not in FAILED_STEPS:
        return []
    spark = job_kind(step["job"])[0] == "spark"
    shown = []
    for attempt in step["attempts"]:
        if attempt["outcome"] != "failed":
            continue
        evidence = attempt["evidence"]
        run = f"run {attempt['run_id']}" if attempt["run_id"] else "its run"
        lines = [f"error: {attempt['error']}"] if attempt["error"] else []
        if not spark and attempt["result"]:
            counters = json.dumps(attempt["result"], ensure_ascii=False, sort_keys=True)
            lines.append(f"counters: {counters}")
        log = None if evidence is None else evidence["driver_log"]
        if log is not None:
            last = "last line" if len(log) == 1 else f"last {len(log)} lines"
            title = f"driver log of {run} ({last})"
            lines += log
        elif evidence is not None:
            title = f"no driver log of {run}"
            lines.append(f"no driver log: {evidence['note']}")
        elif lines:
            title = f"{'error' if spark else 'error and counters'} of {run}"
        else:
            continue
        shown.append(Shown(title=f"attempt {attempt['number']}: {title}", lines=lines))
    return shown
