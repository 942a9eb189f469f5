"""The result model: what happened to the plan and each step, as data the reporters read.

The engine fills it in as the plan runs. `PlanResult.to_dict` is the JSON report
(schemas/report.schema.json) and `PlanResult.from_dict` reads one back, for `--resume`: one round
trip, so what a report says and what a resume picks up cannot drift apart. Each reason is written
twice: in words (`runner.wording`), for people, and as a fact with its kind and figures
(`runner.facts`), which is all a resume reads. Runtime-only facts (whether a skip fails nothing)
are not in the report.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runner import __version__, wording
from runner.clock import format_time, parse_time
from runner.criteria import Criterion
from runner.events import Event, FusionMayStart
from runner.facts import criterion_fact, criterion_from_fact, from_fact, to_fact
from runner.outcomes import FAILURES, AttemptOutcome, Outcome, PlanOutcome
from runner.reasons import (
    Cause,
    NotSelected,
    Reason,
)

# 3: reasons as facts (`reason_fact`, `error_fact`, a cancel's `cause`); 4: criteria's levels, a
# run's work and baseline (`previous`), failure evidence, `require:` steps' `gate`, Fusion's
# `schedules`, and warnings that name their step; 5: the plan's OpenTelemetry `trace`
REPORT_VERSION = 5
PENDING, RUNNING = "pending", "running"  # a step's outcome in the report until it has one
STEP_OUTCOMES = [*(str(o) for o in Outcome), PENDING, RUNNING]


@dataclass(kw_only=True)
class Attempt:
    """One start of a step's job (or the adoption of a run already going). It is recorded before
    the start request goes out (`requested_at`, `listed_before`), so that a crash between the
    request and its answer leaves on disk what a resume needs to find the run."""

    number: int
    round: int = 1
    outcome: AttemptOutcome | None = None  # None while the attempt is open
    requested_at: datetime | None = None
    listed_before: tuple[str, ...] | None = None
    run_id: str | None = None
    run_keys: tuple[str, ...] = ()  # what identifies the run (`RunStatus.keys`, Fusion's status)
    adopted: bool = False
    accepted: bool = False  # Fusion took the start, naming no run: a run began; never resent
    state: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None  # seconds
    error: str | None = None  # Fusion's failure message
    result: dict[str, Any] | None = None  # what Fusion reported at the end (`RunStatus.reported`)
    criteria: list[Criterion] = field(default_factory=list)
    previous: dict[str, Any] | None = None  # the job's last good run before this start
    warned: list[str] = field(default_factory=list)  # "late", "stalled": said of its run
    remainder_of: str | None = None  # the interrupted datasource run whose rest ours crawls
    status_reads: int = 0
    cancel: CancelRecord | None = None  # fusion-run asked Fusion to cancel the run
    evidence: Evidence | None = None  # what explains the run's failure, kept when it failed

    @property
    def open(self) -> bool:
        return self.outcome is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "round": self.round,
            "outcome": None if self.outcome is None else str(self.outcome),
            "requested_at": _time(self.requested_at),
            "listed_before": None if self.listed_before is None else list(self.listed_before),
            "run_id": self.run_id,
            "run_keys": list(self.run_keys),
            "adopted": self.adopted,
            "accepted": self.accepted,
            "state": self.state,
            "started_at": _time(self.started_at),
            "ended_at": _time(self.ended_at),
            "duration": self.duration,
            "error": self.error,
            "result": self.result,
            "status_reads": self.status_reads,
            "cancel": None if self.cancel is None else self.cancel.to_dict(),
            "previous": self.previous,
            "warned": list(self.warned),
            "remainder_of": self.remainder_of,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "criteria": [criterion_record(c) for c in self.criteria],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        listed = data["listed_before"]
        return cls(
            number=data["number"],
            round=data["round"],
            outcome=None if data["outcome"] is None else AttemptOutcome(data["outcome"]),
            requested_at=parse_time(data["requested_at"]),
            listed_before=None if listed is None else tuple(listed),
            run_id=data["run_id"],
            run_keys=tuple(data["run_keys"]),
            adopted=data["adopted"],
            accepted=data["accepted"],
            state=data["state"],
            started_at=parse_time(data["started_at"]),
            ended_at=parse_time(data["ended_at"]),
            duration=data["duration"],
            error=data["error"],
            result=data["result"],
            status_reads=data["status_reads"],
            cancel=None if data["cancel"] is None else CancelRecord.from_dict(data["cancel"]),
            previous=data["previous"],
            warned=list(data["warned"]),
            remainder_of=data["remainder_of"],
            criteria=[criterion_from_fact(criterion) for criterion in data["criteria"]],
            evidence=Evidence.from_dict(data["evidence"]),
        )


def criterion_record(c: Criterion) -> dict[str, Any]:
    """A criterion as the report writes it: its figures, and what it found in words (None when
    it held with nothing to say)."""
    return {**criterion_fact(c), "reason": wording.criterion(c) or wording.note(c) or None}


def step_duration(attempts: list[Attempt]) -> float | None:
    """A step's duration in seconds, from the start of its first run to the end of its last.
    A run starts when Fusion says it did (else when fusion-run saw it begin) and lasts its
    `duration` (Fusion's, or what fusion-run saw of it going if that is longer): one run's
    duration is the step's; a step retried spans every run and the waits between them. None
    when no run started, or its last run's duration is unknown (a run adopted, or left going)."""
    runs = [(a.started_at, a.duration) for a in attempts if a.started_at is not None]
    if not runs:
        return None
    (first, _), (last, took) = runs[0], runs[-1]
    return None if took is None else max((last - first).total_seconds(), 0.0) + took


def summary(steps: list[dict[str, Any]]) -> dict[str, int]:
    """The report's count of steps, and of steps by outcome, from their records."""
    counts = dict.fromkeys(STEP_OUTCOMES, 0)
    for step in steps:
        counts[step["outcome"]] += 1
    return {"steps": len(steps), **counts}


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelRecord:
    """fusion-run asked Fusion to cancel an attempt's run: the step's outcome once Fusion shows
    the run ended, and why. On disk before the cancel goes out, so that a resume after a crash
    judges the run as the cancel meant (a step timeout is retried if retry_on says so; a
    stall, as a criteria failure)."""

    outcome: Outcome  # timed_out, cancelled, or failed (a stall: on_stall: cancel)
    cause: Cause

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "cause": to_fact(self.cause),
            "reason": wording.text(self.cause),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CancelRecord:
        cause = typing.cast(Cause, from_fact(data["cause"]))
        return cls(outcome=Outcome(data["outcome"]), cause=cause)


@dataclass(frozen=True, kw_only=True, slots=True)
class Evidence:
    """What fusion-run kept of a failed Spark run before Fusion deletes its driver pod: the end
    of its driver log (masked, each line cut short), or a note saying why there is none."""

    driver_log: tuple[str, ...] | None = None  # None: none was read (the note says why)
    log_by: str | None = None  # the id Fusion served the log by: "run", or the job's ("job")
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        log = None if self.driver_log is None else list(self.driver_log)
        return {"driver_log": log, "log_by": self.log_by, "note": self.note}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Evidence | None:
        """None for None: an attempt that kept none."""
        if data is None:
            return None
        log = data["driver_log"]
        return cls(
            driver_log=None if log is None else tuple(log), log_by=data["log_by"], note=data["note"]
        )


@dataclass(kw_only=True)
class GateRecord:
    """What a `require:` step found: its window, when it read the job's runs, and the newest run
    that ended in an accepted state (all None until it reads them, or when none counts)."""

    succeeded_within: float  # seconds
    checked_at: datetime | None = None
    run_id: str | None = None  # how to name the run: its id, or when it started
    state: str | None = None
    ended_at: datetime | None = None
    listed: int | None = None  # how many runs Fusion listed

    def to_dict(self) -> dict[str, Any]:
        return {
            "succeeded_within": self.succeeded_within,
            "checked_at": _time(self.checked_at),
            "run_id": self.run_id,
            "state": self.state,
            "ended_at": _time(self.ended_at),
            "listed": self.listed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateRecord:
        return cls(
            succeeded_within=data["succeeded_within"],
            checked_at=parse_time(data["checked_at"]),
            run_id=data["run_id"],
            state=data["state"],
            ended_at=parse_time(data["ended_at"]),
            listed=data["listed"],
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class CallRecord:
    """What a `request:` or `webhook:` step sends, as a report may keep it: the method and the
    path (a webhook: its host), the names of the query parameters, whether a body goes with it;
    never a value, a body or a header. Each attempt's answer is in its `result`."""

    kind: str  # request, webhook
    method: str
    sent: str
    params: tuple[str, ...] = ()
    body: bool = False
    repeat_safe: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": self.method,
            "sent": self.sent,
            "params": list(self.params),
            "body": self.body,
            "repeat_safe": self.repeat_safe,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallRecord:
        return cls(
            kind=data["kind"],
            method=data["method"],
            sent=data["sent"],
            params=tuple(data["params"]),
            body=data["body"],
            repeat_safe=data["repeat_safe"],
        )


@dataclass(kw_only=True)
class StepResult:
    name: str
    job: str
    allow_failure: bool
    depends_on: tuple[str, ...]
    line: int
    outcome: Outcome | None = None  # None until the step ends, or when its run was left going
    reason: Reason | None = None
    started: bool = False  # came due: "running" rather than "pending" until it ends
    excused: bool = False  # runtime only: skipped, and failing nothing (see fails_the_plan)
    attempts: list[Attempt] = field(default_factory=list)
    gate: GateRecord | None = None  # a `require:` step's findings; None for a step that runs
    for_each: str | None = None  # made by a for_each: that step's name as the plan writes it
    call: CallRecord | None = None  # what a `request:` or `webhook:` step sends

    @property
    def run_id(self) -> str | None:
        return self.attempts[-1].run_id if self.attempts else None

    @property
    def duration(self) -> float | None:
        """The step's one duration (`step_duration`), as every output shows it."""
        return step_duration(self.attempts)

    @property
    def fails_the_plan(self) -> bool:
        """It never ended, or its run was left going (whether or not the step may fail: nobody
        knows how the run ends), or, not allowed to fail, it ended other than succeeded or
        excused: skipped by its own run_if (a failure it handles did not happen), or skipped
        because of an upstream failure that fails the plan already (the verdict names that one).
        A required step skipped only because a step allowed to fail failed fails the plan: it
        did not run, and nothing else says so. A step --select or --exclude left out (`not
        selected`) fails nothing, unless its run may still be going; one left out that had
        failed keeps its failure (`runner.engine.carry`)."""
        if isinstance(self.reason, NotSelected) and self.outcome is not None:
            return False
        if self.outcome is None:
            return True
        if self.allow_failure or self.excused:
            return False
        return self.outcome is not Outcome.SUCCEEDED

    @property
    def failed_as_allowed(self) -> bool:
        """It failed, timed out or was cancelled as `allow_failure` let it: a warning in every
        output, never a failure. One skipped is skipped, as any other."""
        return self.allow_failure and self.outcome in FAILURES

    @property
    def status(self) -> str:
        """The outcome as the report writes it: `pending` or `running` until there is one."""
        if self.outcome is not None:
            return str(self.outcome)
        return RUNNING if self.started or self.attempts else PENDING

    def to_dict(self) -> dict[str, Any]:
        attempts = [attempt.to_dict() for attempt in self.attempts]
        return {
            "name": self.name,
            "job": self.job,
            "outcome": self.status,
            "reason": None if self.reason is None else wording.text(self.reason),
            "reason_fact": None if self.reason is None else to_fact(self.reason),
            "allow_failure": self.allow_failure,
            "depends_on": list(self.depends_on),
            "line": self.line,
            "run_id": self.run_id,
            "started_at": attempts[0]["started_at"] if attempts else None,
            "ended_at": attempts[-1]["ended_at"] if attempts else None,
            "duration": self.duration,
            "attempts": attempts,
            "gate": None if self.gate is None else self.gate.to_dict(),
            "for_each": self.for_each,
            "call": None if self.call is None else self.call.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        status = data["outcome"]
        return cls(
            name=data["name"],
            job=data["job"],
            allow_failure=data["allow_failure"],
            depends_on=tuple(data["depends_on"]),
            line=data["line"],
            outcome=None if status in (PENDING, RUNNING) else Outcome(status),
            reason=_fact(data["reason_fact"]),
            started=status == RUNNING,
            attempts=[Attempt.from_dict(attempt) for attempt in data["attempts"]],
            gate=None if data["gate"] is None else GateRecord.from_dict(data["gate"]),
            for_each=data["for_each"],
            call=None if data["call"] is None else CallRecord.from_dict(data["call"]),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Noted:
    """A warning read back from a report: the step it is about (None: the plan), in words."""

    step: str | None
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ResumedFrom:
    path: str
    outcome: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Judged:
    """How fusion-run exits for a plan that is over (`runner.verdict`): its exit code, and why
    it is not 0 in words (None when it is). Kept in the report, so that what is made of it alone
    (an HTML page of an earlier run) says what the run said."""

    exit_code: int
    why: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "why": self.why}


@dataclass(kw_only=True)
class PlanResult:
    plan_path: str
    plan_name: str
    plan_sha256: str
    url: str
    api: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: PlanOutcome = PlanOutcome.RUNNING
    error: Cause | None = None  # why fusion-run stopped before the plan ended
    stopped: Cause | None = None  # runtime only: why the plan stopped starting steps, if it did
    unrecorded: str | None = None  # runtime only: why the final report could not be written
    detached: bool = False
    resumed_from: ResumedFrom | None = None
    warnings: list[Event | Noted] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    # the triggers of Fusion's own scheduler that may start a plan job during the plan
    schedules: list[FusionMayStart] = field(default_factory=list)
    trace: TraceIds | None = None  # the OpenTelemetry trace exported of the plan, if one is
    verdict: Judged | None = None  # how fusion-run exits, once the plan is over
    max_requests_per_second: int | None = None  # the request budget (None: an older report's)
    target: str | None = None  # the plan's target the run read it with (None: none)
    # the settings the plan resolved to (`runner.plan.resolved`; None: an older report's)
    plan_settings: dict[str, Any] | None = None

    def step(self, name: str) -> StepResult:
        return next(step for step in self.steps if step.name == name)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, between the times as the report writes them (to the ms)."""
        if self.ended_at is None:
            return None
        return (_to_ms(self.ended_at) - _to_ms(self.started_at)).total_seconds()

    def to_dict(self, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The report. `steps`: each step's record, if the caller has them already."""
        steps = [step.to_dict() for step in self.steps] if steps is None else steps
        return {
            "report_version": REPORT_VERSION,
            "fusion_run_version": __version__,
            "outcome": str(self.outcome),
            "error": None if self.error is None else wording.text(self.error),
            "error_fact": None if self.error is None else to_fact(self.error),
            "detached": self.detached,
            "resumed_from": None
            if self.resumed_from is None
            else {"path": self.resumed_from.path, "outcome": self.resumed_from.outcome},
            "plan": {
                "path": self.plan_path,
                "name": self.plan_name,
                "sha256": self.plan_sha256,
                "target": self.target,
                "settings": self.plan_settings,
            },
            "fusion": {
                "url": self.url,
                "api": self.api,
                "max_requests_per_second": self.max_requests_per_second,
            },
            "started_at": _time(self.started_at),
            "ended_at": _time(self.ended_at),
            "duration": self.duration,
            "summary": summary(steps),
            "warnings": [warning_record(w) for w in self.warnings],
            "schedules": [_schedule(found) for found in self.schedules],
            "steps": steps,
            "trace": None if self.trace is None else self.trace.to_dict(),
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanResult:
        resumed = data["resumed_from"]
        started = parse_time(data["started_at"])
        assert started is not None  # the schema requires it
        return cls(
            plan_path=data["plan"]["path"],
            plan_name=data["plan"]["name"],
            plan_sha256=data["plan"]["sha256"],
            url=data["fusion"]["url"],
            api=data["fusion"]["api"],
            started_at=started,
            ended_at=parse_time(data["ended_at"]),
            outcome=PlanOutcome(data["outcome"]),
            error=typing.cast(Cause | None, _fact(data["error_fact"])),
            detached=data["detached"],
            resumed_from=None if resumed is None else ResumedFrom(**resumed),
            warnings=[Noted(step=w["step"], text=w["text"]) for w in data["warnings"]],
            steps=[StepResult.from_dict(step) for step in data["steps"]],
            schedules=[
                FusionMayStart(
                    step=found["step"],
                    job=found["job"],
                    trigger=found["trigger"],
                    says=found["says"],
                    next_start=found["next_start"],
                )
                for found in data["schedules"]
            ],
            trace=TraceIds.from_dict(data["trace"]),
            verdict=None if data["verdict"] is None else Judged(**data["verdict"]),
            max_requests_per_second=data["fusion"]["max_requests_per_second"],
            target=data["plan"]["target"],
            plan_settings=data["plan"]["settings"],
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceIds:
    """The OpenTelemetry trace of a plan, decided before its first start: the trace's id and the
    id of the span of the plan's first run (the parent of every resumed run's span), in hex."""

    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits

    def to_dict(self) -> dict[str, str]:
        return {"trace_id": self.trace_id, "span_id": self.span_id}

    @classmethod
    def from_dict(cls, data: dict[str, str] | None) -> TraceIds | None:
        """None for None: a report of a plan no trace was exported of."""
        return None if data is None else cls(trace_id=data["trace_id"], span_id=data["span_id"])


def _fact(data: dict[str, Any] | None) -> Any:
    return None if data is None else from_fact(data)


def warning_record(warning: Event | Noted) -> dict[str, Any]:
    """A warning as the report writes it: the step it is about (None: the plan), in words."""
    if isinstance(warning, Noted):
        return {"step": warning.step, "text": warning.text}
    return {"step": warning.step, "text": wording.line(warning)}


def _schedule(found: FusionMayStart) -> dict[str, Any]:
    return {
        "step": found.step,
        "job": found.job,
        "trigger": found.trigger,
        "says": found.says,
        "next_start": found.next_start,
        "finding": wording.line(found),
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
