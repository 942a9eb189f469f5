"""A run's status as Fusion reports it, parsed tolerantly into one record.

Three shapes: Fusion's `SparkJobStatus` (Job REST Server API: `state`, `jobId` and
`result.jobRunId`, `startTime`/`endTime`, `duration`, `result.exception` on failed runs), a Jobs
API history record (`runId`, `status`, times, `extra`, `error`), and a Jobs API job view (`status`,
`lastStartTime`, `lastEndTime`, `extra`: the job's latest run). Times are ISO-8601 with milli- or
nanoseconds, or epoch milliseconds. Unknown fields are kept in `raw` for success criteria.

A run is identified by `keys`, strings that need nothing Fusion may not give: each run id it
carries (`jobId` and `result.jobRunId` may differ), its start time (the Jobs API's history may have
no `runId`, and a job view never has one), and, with neither, the whole record. Two records are
the same run when their keys meet. Durations come from the times when both are there (Fusion's
`duration` has no documented unit), `duration` being the fallback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from runner.clock import format_time, parse_time
from runner.jobs import NO_RUN, TERMINAL, job_kind

MAX_DURATION = 366 * 86400.0  # seconds: a `duration` beyond this is not milliseconds
COUNT_DIGITS = 4000  # a count given as text longer than this stays text (Python reads 4,300)


@dataclass(frozen=True, kw_only=True, slots=True)
class RunStatus:
    job: str  # the job configuration id
    run_id: str | None  # `jobId`, else `result.jobRunId`, else `runId`
    state: str  # lower case
    started: datetime | None = None
    ended: datetime | None = None
    duration: float | None = None  # seconds
    message: str | None = None  # why the run failed, in Fusion's words
    keys: frozenset[str] = frozenset()  # what identifies the run (see the module)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    view: bool = False  # a Jobs API job view: its status and counters may be another run's
    unit_assumed: bool = False  # `duration` is Fusion's field, read as ms (its unit is unknown)

    @property
    def label(self) -> str | None:
        """How to name the run to a person: its id, or when it started."""
        if self.run_id:
            return self.run_id
        if self.started:
            return "started " + format_time(self.started)
        return None

    @property
    def reported(self) -> dict[str, Any] | None:
        """What Fusion reports of the run beside its state: a Spark status's `result` (the job's
        own output, `docsWritten` and the like), a Jobs API run's `extra` counters."""
        value = self.raw.get("result" if job_kind(self.job)[0] == "spark" else "extra")
        return dict(value) if isinstance(value, dict) else None

    @property
    def counters(self) -> tuple[tuple[str, int | float], ...]:
        """The numbers among `reported`, in Fusion's order: `counter.input`, `docsWritten`...;
        5.x connectors' nested counters as `counters.<name>`."""
        found = []
        for name, value in (self.reported or {}).items():
            if number(value) is not None:
                found.append((name, value))
            elif name == "counters" and isinstance(value, dict):
                found += [
                    (f"counters.{inner}", counter["count"])
                    for inner, counter in value.items()
                    if isinstance(counter, dict) and number(counter.get("count")) is not None
                ]
        return tuple(found)

    @property
    def named(self) -> bool:
        """It carries an id or a start time: what can tell it from every run before it. A
        record with neither (its times unreadable) could be any run, and is never taken for a
        new one."""
        return any(not key.startswith("record:") for key in self.keys)

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
    """A RunStatus from one `SparkJobStatus` object; tolerant of absent fields, and of odd ones
    but those that tell which run it is and how it is (ids, state, times): an answer with one
    of those that cannot be read is not read at all (ValueError)."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object for a run status, got {type(data).__name__}")
    result: dict[str, Any] = data["result"] if isinstance(data.get("result"), dict) else {}
    config = data["jobConfig"] if isinstance(data.get("jobConfig"), dict) else {}
    _of(job, _text(result, "jobConfigId") or _text(config, "id"))
    ids = [_text(value, name) for value, name in ((data, "jobId"), (result, "jobRunId"))]
    started, ended = _time(data, "startTime"), _time(data, "endTime")
    measured, given = _between(started, ended), _given(data.get("duration"))
    return RunStatus(
        job=job,
        run_id=next((i for i in ids if i), None),
        state=(_text(data, "state") or "unknown").strip().lower(),
        started=started,
        ended=ended,
        duration=measured if measured is not None else given,
        unit_assumed=measured is None and given is not None,
        message=failure_message(result.get("exception")),
        keys=_keys([i for i in ids if i], data.get("startTime"), data),
        raw=data,
    )


def parse_history(record: Any, job: str) -> RunStatus:
    """A RunStatus from one Jobs API history record (`runId`, `status`, times, `extra`, `error`)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object for a job run, got {type(record).__name__}")
    record = normalised(record)
    _of(job, _text(record, "resource"))
    started, ended = _time(record, "startTime"), _time(record, "endTime")
    run_id = _text(record, "runId")
    ids = [run_id] if run_id else []
    return RunStatus(
        job=job,
        run_id=run_id or None,
        state=(_text(record, "status") or "unknown").strip().lower(),
        started=started,
        ended=ended,
        duration=_between(started, ended),
        message=failure_message(record.get("error")),
        keys=_keys(ids, record.get("startTime"), record),
        raw=record,
    )


def parse_job_view(view: Any, job: str) -> RunStatus:
    """The job's latest run, from a Jobs API job view (`GET /jobs/{resource}`): its status, times
    and counters, identified by its start time (a view names no run). A job that never ran is
    `ready` (Fusion 4 may leave the status out)."""
    if not isinstance(view, dict):
        raise ValueError(f"expected a JSON object for a job, got {type(view).__name__}")
    view = normalised(view)
    resource = _text(view, "resource")
    if resource is None:  # every view names its job; an object that does not is no view
        raise ValueError("a job view with no resource")
    _of(job, resource)
    started, ended = _time(view, "lastStartTime"), _time(view, "lastEndTime")
    state = (_text(view, "status") or "ready").strip().lower()
    if state not in TERMINAL:  # the latest run's end time belongs to an earlier run
        ended = None
    return RunStatus(
        job=job,
        run_id=None,
        state=state,
        started=started,
        ended=ended,
        duration=_between(started, ended),
        keys=_keys([], view.get("lastStartTime"), None) if started else frozenset(),
        raw=view,
        view=True,
    )


def with_counters_of(record: RunStatus, view: RunStatus) -> RunStatus:
    """`record`, a history record that has no `extra` (the 4.2 reference's have none), with the
    counters of the job's view if they say they are this run's: their `startTime` (epoch
    milliseconds, as Fusion's datasource counters carry it) within a second of the record's,
    and the view says the run ended (a view that lags or sticks shows its counters of a moment
    it went on). Otherwise the view's counters may be another run's, or not the run's final
    ones, and `record` stays as it is."""
    if isinstance(record.raw.get("extra"), dict) or record.started is None or not view.terminal:
        return record
    if not counters_started(view, record.started):
        return record
    return replace(record, raw={**record.raw, "extra": view.raw["extra"]})


def counters_started(view: RunStatus, started: datetime) -> bool:
    """A job view's counters are those of the run that started at `started`: their own
    `startTime` (epoch milliseconds, as Fusion's datasource counters carry it) is within a second
    of it. A view may show its latest run's status beside another run's counters."""
    extra = view.raw.get("extra")
    own = parse_time(extra.get("startTime")) if isinstance(extra, dict) else None
    return own is not None and abs((own - started).total_seconds()) <= 1


def _of(job: str, named: str | None) -> None:
    """ValueError if an answer names a job (`resource`, `jobConfigId`) that is not `job`: it
    is another job's, and none of its runs can be ours."""
    if named is not None and job_kind(named) != job_kind(job):
        raise ValueError(f"the answer is of job {named!r}, not of {job!r}")


def _text(record: dict[str, Any], name: str) -> str | None:
    """`record[name]`, a string, or None if absent; ValueError if it is something else."""
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{name} is {_kind(value)}, not a string")


def _time(record: dict[str, Any], name: str) -> datetime | None:
    """`record[name]` as a time, or None if absent; ValueError if it is there and no time."""
    value = record.get(name)
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"{name} is {_kind(value)} that is no time")
    return parsed


def _kind(value: Any) -> str:
    """What a JSON value is, in words, and never what it says (it may quote a secret)."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "a list" if isinstance(value, list) else "an object")


def normalised(record: dict[str, Any]) -> dict[str, Any]:
    """A Jobs API record with its counters where a plan's `expect` finds them: 5.12's
    `extra.extra` lifted into `extra`, and nested counts given as strings (`"count": "901"`,
    as 5.x timers have them) made numbers."""
    extra = record.get("extra")
    if not isinstance(extra, dict):
        return record
    inner = extra.get("extra")
    if isinstance(inner, dict):
        extra = {**{k: v for k, v in extra.items() if k != "extra"}, **inner}
    for group in ("counters", "timers"):
        nested = extra.get(group)
        if isinstance(nested, dict):
            extra = {**extra, group: {name: _counted(value) for name, value in nested.items()}}
    return {**record, "extra": extra}


def _counted(value: Any) -> Any:
    """A nested counter with its count as a number, when Fusion wrote it as a string of ASCII
    digits Python can read (other digits, "²", and counts of thousands of digits stay text)."""
    count = value.get("count") if isinstance(value, dict) else None
    if isinstance(count, str):
        digits = count.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= COUNT_DIGITS:
            return {**value, "count": int(digits)}
    return value


def number(value: Any) -> int | float | None:
    """`value` if it is a count Fusion wrote as a number (a boolean is none), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def newest_first(runs: Iterable[RunStatus]) -> list[RunStatus]:
    """Runs by start time, newest first, whatever order Fusion listed them in. Runs with no start
    time come first, in the order given: a Spark status shows its times only once it has ended."""
    listed = list(runs)
    return sorted(listed, key=lambda r: (r.started is not None, -(r.started or _EPOCH).timestamp()))


_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def listed_newest_first(runs: Iterable[RunStatus]) -> bool:
    """Whether runs, in the order Fusion listed them, are newest first by the start times they
    show, with at least two shown: what makes the first N of a list its newest N."""
    times = [run.started for run in runs if run.started is not None]
    return len(times) >= 2 and all(a >= b for a, b in pairwise(times))


def _keys(ids: list[str], start: Any, record: dict[str, Any] | None) -> frozenset[str]:
    keys = {f"id:{run_id}" for run_id in ids}
    started = parse_time(start)
    if started is not None:
        keys.add("start:" + started.isoformat(timespec="milliseconds"))
    if not keys and record is not None:
        import hashlib  # noqa: PLC0415 - rarely needed, and 3 ms to import

        canonical = json.dumps(record, sort_keys=True, default=str).encode()
        keys.add("record:" + hashlib.sha256(canonical).hexdigest()[:16])
    return frozenset(keys)


def _between(started: datetime | None, ended: datetime | None) -> float | None:
    """Seconds between the times when both are there and make sense. Identical start and end
    times make none: Fusion 4.2.1's history gives them to runs that took longer."""
    if started and ended and 0 < (ended - started).total_seconds() <= MAX_DURATION:
        return (ended - started).total_seconds()
    return None


def _given(duration: Any) -> float | None:
    """Fusion's `duration` field in seconds, read as milliseconds (as far as anyone can tell;
    `unit_assumed` says so), if it is plausible."""
    seconds = _seconds(duration)
    return seconds if seconds is not None and 0 <= seconds <= MAX_DURATION else None


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


def _seconds(milliseconds: Any) -> float | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    return milliseconds / 1000
