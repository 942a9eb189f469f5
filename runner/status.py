"""A Spark job run's status as Fusion reports it, parsed tolerantly into one record.

Fusion's `SparkJobStatus` (Job REST Server API): `state`, `jobId` (also `result.jobRunId`),
`startTime`/`endTime` as ISO-8601 with milli- or nanoseconds (or epoch milliseconds), `duration`
in milliseconds, and `result.exception` on failed runs. Unknown fields are kept in `raw` for
success criteria; missing ones are None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The states a run ends in, by kind of job: Spark jobs run through /spark/jobs, datasource and
# task jobs through Fusion's Jobs API.
END_STATES = {
    "spark": ("finished", "skipped", "cancelled", "error"),
    "datasource": ("success", "failed", "aborted"),
    "task": ("success", "failed", "aborted"),
}
JOB_KINDS = tuple(END_STATES)
ACTIVE = frozenset({"starting", "running", "finishing", "cancelling"})
TERMINAL = frozenset(state for states in END_STATES.values() for state in states)
NO_RUN = frozenset({"idle", "unknown", "ready"})
CANCELLED = frozenset({"cancelled", "aborted"})


def job_kind(job: str) -> tuple[str, str]:
    """(kind, id) of a plan's job: `datasource:web` is ("datasource", "web"); a bare id is Spark.

    >>> job_kind("datasource:web"), job_kind("spark:als"), job_kind("als")
    (('datasource', 'web'), ('spark', 'als'), ('spark', 'als'))
    """
    kind, colon, rest = job.partition(":")
    if colon and kind in JOB_KINDS:
        return kind, rest
    return "spark", job


_FRACTION = re.compile(r"\.(\d+)")


@dataclass(frozen=True, kw_only=True, slots=True)
class RunStatus:
    job: str  # the job configuration id
    run_id: str | None  # `jobId`, else `result.jobRunId`
    state: str  # lower case
    started: datetime | None = None
    ended: datetime | None = None
    duration: float | None = None  # seconds
    message: str | None = None  # why the run failed, in Fusion's words
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def active(self) -> bool:
        """Still going. A state Fusion adds later counts as active: we wait rather than guess."""
        return self.state not in TERMINAL and self.state not in NO_RUN

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def visible(self) -> bool:
        """False when Fusion shows no run at all (`idle`, `unknown`)."""
        return self.state not in NO_RUN


def parse_status(data: Any, job: str) -> RunStatus:
    """A RunStatus from one `SparkJobStatus` object; tolerant of absent and odd fields."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object for a run status, got {type(data).__name__}")
    result: dict[str, Any] = data["result"] if isinstance(data.get("result"), dict) else {}
    run_id = data.get("jobId") or result.get("jobRunId")
    state = str(data.get("state") or "unknown").strip().lower()
    started = parse_time(data.get("startTime"))
    ended = parse_time(data.get("endTime"))
    duration = _seconds(data.get("duration"))
    if duration is None and started and ended:
        duration = (ended - started).total_seconds()
    return RunStatus(
        job=job,
        run_id=str(run_id) if run_id else None,
        state=state,
        started=started,
        ended=ended,
        duration=duration,
        message=failure_message(result.get("exception")),
        raw=data,
    )


def parse_history(record: Any, job: str) -> RunStatus:
    """A RunStatus from one Jobs API history record (`runId`, `status`, times, `extra`, `error`)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object for a job run, got {type(record).__name__}")
    started, ended = parse_time(record.get("startTime")), parse_time(record.get("endTime"))
    run_id = record.get("runId")
    return RunStatus(
        job=job,
        run_id=str(run_id) if run_id else None,
        state=str(record.get("status") or "unknown").strip().lower(),
        started=started,
        ended=ended,
        duration=(ended - started).total_seconds() if started and ended else None,
        message=failure_message(record.get("error")),
        raw=record,
    )


def failure_message(exception: Any) -> str | None:
    """`message`, else `error`, `details`, `localizedMessage` of Fusion's serialised exception."""
    if isinstance(exception, str):
        return exception or None
    if not isinstance(exception, dict):
        return None
    for key in ("message", "error", "details", "localizedMessage"):
        value = exception.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (any fraction, `Z` or offset) or epoch milliseconds, as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python reads at most 6 fraction digits; Fusion sends up to 9.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _seconds(milliseconds: Any) -> float | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    return milliseconds / 1000
