"""Emulator scenarios as typed records, free of YAML: what each job's runs do, and the faults.

`load_scenario` reads a scenario file with the plan's reader, checks it against
schemas/scenario.schema.json and builds these records with `build_scenario`.
"""

from __future__ import annotations

import difflib
import enum
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.durations import parse_duration
from runner.jobs import job_kind

if TYPE_CHECKING:
    from runner.plan.problems import Path, Problem
    from runner.plan.source import Document

DEFAULT_DURATION = 2.0
DEFAULT_RESULT = {"docsWritten": 100}  # what an unscripted job's run reports


@dataclass(frozen=True, kw_only=True, slots=True)
class Stall:
    """A while in a run when its counters stand still: from `at` seconds into the run, for
    `lasts` seconds (None: to its end)."""

    at: float
    lasts: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RunScript:
    duration: float = DEFAULT_DURATION  # seconds
    state: str = "finished"
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    log: tuple[str, ...] | None = None  # its driver log; None: as `render.driver_log` writes it
    counters: dict[str, float] = field(default_factory=dict)  # name -> counts per second
    stalls: tuple[Stall, ...] = ()

    def counted(self, elapsed: float) -> dict[str, int]:
        """Each counter `elapsed` seconds into the run: its rate times the seconds it moved."""
        ends = [(s.at, math.inf if s.lasts is None else s.at + s.lasts) for s in self.stalls]
        still = sum(max(0.0, min(elapsed, end) - at) for at, end in ends)
        moving = max(0.0, elapsed - still)
        return {name: int(rate * moving) for name, rate in self.counters.items()}


@dataclass(frozen=True, kw_only=True, slots=True)
class PastRun:
    """A run that ended `ended_ago` s before the emulator started: history for a `require:`."""

    ended_ago: float  # seconds
    run: RunScript


class FaultTarget(enum.StrEnum):
    """The request a fault answers: one per endpoint the engine uses."""

    START = "start"
    STATUS = "status"
    ALL = "all"
    CANCEL = "cancel"
    CONFIGURATION = "configuration"
    DRIVER_LOG = "driver_log"
    SCHEDULE = "schedule"


class OnStartWhileActive(enum.StrEnum):
    """What the emulator does with a start while the job's latest run is active."""

    CONFLICT = "conflict"  # 409
    NEW_RUN = "new_run"  # a second run beside the first
    RETURN_ACTIVE = "return_active"  # 200 with the active run's status (Spark API)
    NOT_ACCEPTED = "not_accepted"  # accepted: false (Jobs API)


@dataclass(frozen=True, kw_only=True, slots=True)
class Variant:
    """Which Fusion the emulator is, where the evidence allows several (see the scenario schema)."""

    history_run_ids: bool = True
    history_lag: int = 0  # history reads that miss a new run
    history_ended_only: bool = False
    all_oldest_first: bool = False
    two_run_ids: bool = False
    clock_offset: float = 0.0  # seconds
    duration_in_seconds: bool = False
    upper_case_actions: bool = False
    token_lifetime: float = 1800.0
    session_idle_timeout: float | None = None
    driver_log_by: str = "run"  # the id the driver log is served by: run, job or none


@dataclass(frozen=True, kw_only=True, slots=True)
class Fault:
    on: FaultTarget
    answer: int | str  # an HTTP status, "reset", "hang" or "lost"
    times: int = 1
    after: int = 0
    retry_after: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class JobSchedule:
    """Fusion's own schedule of a job: its triggers as Fusion writes them, and its next start."""

    enabled: bool = True
    triggers: tuple[dict[str, Any], ...] = ()
    next_start: float | None = None  # seconds after the emulator starts; None: the view gives none


@dataclass(frozen=True, kw_only=True, slots=True)
class JobScript:
    type: str = "spark"
    config: dict[str, Any] = field(default_factory=dict)
    runs: tuple[RunScript, ...] = (RunScript(result=DEFAULT_RESULT),)
    stale_reads: int = 0
    quirks: frozenset[str] = frozenset()
    faults: tuple[Fault, ...] = ()
    schedule: JobSchedule | None = None
    history: tuple[PastRun, ...] = ()  # runs ended before the emulator started

    def run(self, attempt: int) -> RunScript:
        """The script of the `attempt`-th start (0-based); the last one repeats."""
        return self.runs[min(attempt, len(self.runs) - 1)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    jobs: dict[str, JobScript] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    on_start_while_active: OnStartWhileActive = OnStartWhileActive.CONFLICT
    session_expires_after: int | None = None
    variant: Variant = field(default_factory=Variant)
    collections: dict[str, int] = field(default_factory=dict)  # Solr's: documents in each


def build_scenario(data: dict[str, Any]) -> Scenario:
    """Records from scenario data that validated cleanly."""
    jobs = {}
    for job, given in (data.get("jobs") or {}).items():
        raw = given or {}
        runs = (
            tuple(
                RunScript(
                    duration=_seconds(run.get("duration", DEFAULT_DURATION)),
                    state=run.get("state", "finished"),
                    result=run.get("result", {}),
                    error=run.get("error"),
                    counters=run.get("counters", {}),
                    stalls=tuple(
                        Stall(
                            at=_seconds(stall["at"]),
                            lasts=None if "for" not in stall else _seconds(stall["for"]),
                        )
                        for stall in run.get("stalls", [])
                    ),
                    log=None if run.get("log") is None else tuple(run["log"]),
                )
                for run in raw.get("runs", [])
            )
            or JobScript().runs
        )
        jobs[job] = JobScript(
            type=raw.get("type", "spark"),
            config=raw.get("config", {}),
            runs=runs,
            stale_reads=raw.get("stale_reads", 0),
            quirks=frozenset(raw.get("quirks", [])),
            faults=tuple(
                Fault(**{**fault, "on": FaultTarget(fault["on"])})
                for fault in raw.get("faults", [])
            ),
            schedule=_schedule(raw["schedule"]) if "schedule" in raw else None,
            history=tuple(_past_run(past) for past in raw.get("history", [])),
        )
    return Scenario(
        jobs=jobs,
        missing=frozenset(data.get("missing", [])),
        on_start_while_active=OnStartWhileActive(data.get("on_start_while_active", "conflict")),
        session_expires_after=data.get("session_expires_after"),
        variant=_variant(data.get("fusion") or {}),
        collections=dict(data.get("collections") or {}),
    )


def _schedule(data: dict[str, Any]) -> JobSchedule:
    next_start = data.get("next_start")
    return JobSchedule(
        enabled=data.get("enabled", True),
        triggers=tuple(data.get("triggers", [])),
        next_start=None if next_start is None else _seconds(next_start),
    )


def _past_run(data: dict[str, Any]) -> PastRun:
    script = RunScript(
        duration=_seconds(data.get("duration", DEFAULT_DURATION)),
        state=data.get("state", "finished"),
        result=data.get("result", {}),
        error=data.get("error"),
    )
    return PastRun(ended_ago=_seconds(data["ended_ago"]), run=script)


def _variant(data: dict[str, Any]) -> Variant:
    idle = data.get("session_idle_timeout")
    return Variant(
        history_run_ids=data.get("history_run_ids", True),
        history_lag=data.get("history_lag", 0),
        history_ended_only=data.get("history_lists", "all") == "ended",
        all_oldest_first=data.get("all_order", "newest_first") == "oldest_first",
        two_run_ids=data.get("run_ids", "one") == "two",
        clock_offset=_seconds(data.get("clock_offset", 0)),
        duration_in_seconds=data.get("duration_unit", "ms") == "s",
        upper_case_actions=data.get("actions", "any") == "upper_case",
        token_lifetime=_seconds(data.get("token_lifetime", 1800)),
        session_idle_timeout=None if idle is None else _seconds(idle),
        driver_log_by=data.get("driver_log_by", "run"),
    )


def _seconds(value: float | str) -> float:
    return float(value) if isinstance(value, int | float) else float(parse_duration(value))


def load_scenario(path: str, *, jobs: Collection[str] | None = None) -> Scenario:
    """The scenario at `path`. With `jobs` (the plan's), each job the scenario scripts or lists
    as missing must be one of them: a script for no step would rehearse nothing. The reader
    and the validator are imported here: the emulator's model needs neither."""
    from runner.plan.problems import InvalidPlan  # noqa: PLC0415
    from runner.plan.source import parse, read_text  # noqa: PLC0415
    from runner.plan.validate import schema_problems  # noqa: PLC0415

    doc = parse(read_text(path, "the scenario"), path)
    problems = list(schema_problems(doc, "scenario.schema.json"))
    if not problems and jobs is not None:
        problems = _strangers(doc, jobs)
    if problems:
        raise InvalidPlan(problems)
    return build_scenario(doc.data)


def _strangers(doc: Document, jobs: Collection[str]) -> list[Problem]:
    """A problem for each job of the scenario that is the job of no step, with the nearest."""
    plan_jobs = {job_kind(job) for job in jobs}  # `spark:als` and `als` are one job
    named: list[tuple[str, Path, bool]] = [
        (job, ("jobs", job), True) for job in doc.data.get("jobs") or {}
    ]
    named += [(job, ("missing", i), False) for i, job in enumerate(doc.data.get("missing", []))]
    problems = []
    for job, where, key in named:
        if job_kind(job) in plan_jobs:
            continue
        close = difflib.get_close_matches(job, sorted(jobs), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"job {job!r} is the job of no step in the plan{hint}"
        problems.append(doc.problem(where, message, key=key))
    return problems
