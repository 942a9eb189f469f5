"""What the tables of a run show of a step beyond its outcome, from its record in the report
(`StepResult.to_dict`), the same words in the console's closing table, the GitHub summary and the
HTML page: the counters of its last run chosen by its job's kind, and the story of its attempts
when it had more than one. Nothing is asked of Fusion: each is read from what the report keeps.

- A datasource run: the documents it indexed (as the work check counts them, `runner.fusion.work`),
  then Fusion's `counter.failed`, `counter.deleted` and `counter.skipped`, those it reported.
- A Spark run: `docsWritten` in its result.
- A task: none.
"""

from __future__ import annotations

from typing import Any

from runner import wording
from runner.fusion.status import RunStatus, number
from runner.fusion.work import work
from runner.jobs import job_kind

# Fusion's datasource counters shown beside the documents indexed, as the tables name them
_DATASOURCE = (
    ("failed", "counter.failed"),
    ("deleted", "counter.deleted"),
    ("skipped", "counter.skipped"),
)


def counters(step: dict[str, Any]) -> str:
    """The counters of the step's last run, `indexed 58241, failed 0`; empty when none is known.

    >>> counters({"job": "datasource:web", "attempts": [{"state": "success", "result": {
    ...     "counter.output": 60, "counter.failed": 2, "counter.deleted": 0}}]})
    'indexed 58, failed 2, deleted 0'
    >>> counters({"job": "als", "attempts": [{"state": "finished", "result": {"docsWritten": 9}}]})
    'docsWritten 9'
    """
    attempts = step["attempts"]
    kind = job_kind(step["job"])[0]
    if not attempts or kind == "task":
        return ""
    last = attempts[-1]
    reported = last["result"] if isinstance(last["result"], dict) else None
    status = RunStatus(
        job=step["job"],
        run_id=None,
        state=last["state"] or "",
        raw={} if reported is None else {"result" if kind == "spark" else "extra": reported},
    )
    done = work(status)
    if kind == "spark":
        return "" if done is None else f"docsWritten {done.documents:g}"
    shown = [] if done is None else [f"indexed {done.documents:g}"]
    for name, counter in _DATASOURCE:
        value = number((reported or {}).get(counter))
        if value is not None:
            shown.append(f"{name} {value:g}")
    return ", ".join(shown)


def attempts_story(step: dict[str, Any]) -> str:
    """How a step that ran more than once got to its outcome: `succeeded on attempt 2; attempt
    1 failed: java.lang.OutOfMemoryError`; empty for a step that ran once or not at all."""
    attempts = step["attempts"]
    if len(attempts) < 2:
        return ""
    said = [f"{wording.outcome_words(step['outcome'])} on attempt {attempts[-1]['number']}"]
    for attempt in attempts[:-1]:
        what = (attempt["outcome"] or "open").replace("_", " ")
        why = _why(attempt)
        said.append(f"attempt {attempt['number']} {what}" + (f": {why}" if why else ""))
    return "; ".join(said)


def reason_and_story(step: dict[str, Any]) -> str:
    """The step's reason, then the story of its attempts (`attempts_story`), as one cell."""
    return "; ".join(said for said in (step["reason"] or "", attempts_story(step)) if said)


def _why(attempt: dict[str, Any]) -> str:
    """Why an attempt did not succeed: Fusion's message, else the first criterion it failed,
    else its cancel's reason."""
    if attempt["error"]:
        return str(attempt["error"])
    for criterion in attempt["criteria"]:
        if not criterion["passed"] and criterion["level"] == "fail" and criterion["reason"]:
            return str(criterion["reason"])
    cancel = attempt["cancel"]
    return str(cancel["reason"]) if cancel else ""
