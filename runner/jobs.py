"""The kinds of job a plan runs and the states their runs pass through, as Fusion names them."""

from __future__ import annotations

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
