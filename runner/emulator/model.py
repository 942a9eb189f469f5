"""The emulator's model: Fusion's jobs as a state machine over an injected clock, free of I/O.

Tests that share one fake clock between it and the client get the same answers however fast the
machine is, so recordings are reproducible. Each method is one endpoint; an answer other than 200
with JSON is raised as `Reply`. `runner.emulator.adapter` serves the model in process,
`runner.emulator.server` over HTTP.

Where Fusion's API documentation is silent, the emulator decides, and says so here: a start while
a run is active answers 409 (scenario `on_start_while_active` changes it); `/all` lists runs newest
first; `duration` is in milliseconds; an unknown configuration answers 404 with a JSON `message`;
a cancel with no active run answers 200.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from runner.scenario import Fault, FaultTarget, JobScript, OnStartWhileActive, RunScript, Scenario
from runner.status import TERMINAL, job_kind

# The configuration in the example of Fusion's API docs, "Start a job run" (POST /spark/jobs/{id}).
DOCUMENTED_JOBS = {
    "my-python-job": JobScript(
        type="custom_python_job",
        config={
            "script": "/compare_fusion_apis.py",
            "verboseReporting": False,
            "updates": [
                {"userId": "demo-user", "timestamp": "2025-12-03T22:17:23.651897283Z"},
                {"userId": "demo-user", "timestamp": "2025-12-03T22:17:23.653890793Z"},
            ],
        },
    )
}
FIXED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # the wall time at clock 0 in tests
CANCEL_SECONDS = 1.0  # how long a cancelled run shows `cancelling`
HOSTNAME = "127.0.0.1"


HANG = -1  # a Reply status: the request gets no answer for HANG_SECONDS, then the connection drops
HANG_SECONDS = 3600.0


class Reply(Exception):
    """An HTTP answer other than 200 with JSON; `status` 0 drops the connection, HANG hangs."""

    def __init__(
        self, status: int, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Run:
    job: str
    run_id: str
    started: float  # model clock
    script: RunScript
    cancelled: float | None = None

    def state(self, now: float) -> str:
        if self.cancelled is not None:
            return "cancelling" if now < self.cancelled + CANCEL_SECONDS else "cancelled"
        elapsed, phase = now - self.started, min(1.0, self.script.duration / 4)
        if elapsed >= self.script.duration:
            return self.script.state
        if elapsed < phase:
            return "starting"
        return "running" if elapsed < self.script.duration - phase else "finishing"

    def end(self) -> float:
        if self.cancelled is not None:
            return self.cancelled + CANCEL_SECONDS
        return self.started + self.script.duration


@dataclass
class _Job:
    script: JobScript
    runs: list[Run] = field(default_factory=list)  # oldest first
    stale: int = 0  # status reads left that show the run before the latest
    seen: dict[int, int] = field(default_factory=dict)  # fault index -> matching requests so far


class EmulatedFusion:
    """Fusion's Spark jobs as a state machine over an injected clock. Thread-safe."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        epoch: float | None = None,
        seed: int = 0,
        extra_jobs: Iterable[str] = (),
    ) -> None:
        self.scenario = scenario or Scenario()
        self.clock = clock
        self.epoch = time.time() - clock() if epoch is None else epoch
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        scripts = {
            **DOCUMENTED_JOBS,
            **{job: _unscripted(job) for job in extra_jobs},
            **self.scenario.jobs,
        }
        missing = {key_of(job) for job in self.scenario.missing}
        self.jobs = {
            key_of(job): _Job(script)
            for job, script in scripts.items()
            if key_of(job) not in missing
        }
        self.requests: list[tuple[FaultTarget, str]] = []  # (kind, job), for tests and benchmarks

    def starts(self, job: str) -> int:
        return sum(
            1 for kind, name in self.requests if (kind, name) == (FaultTarget.START, key_of(job))
        )

    # --- the API, one method per endpoint ---------------------------------------------------------

    def start(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job, now = self._job(job_id, FaultTarget.START), self.clock()
            latest = job.runs[-1] if job.runs else None
            if latest and latest.state(now) not in TERMINAL:
                policy = self.scenario.on_start_while_active
                if policy is OnStartWhileActive.CONFLICT:
                    raise Reply(
                        409, error_body(409, f"Job {job_id} is already running ({latest.run_id})")
                    )
                if policy is OnStartWhileActive.RETURN_ACTIVE:
                    return self._status(job_id, latest, now)
            fault = self._fault(job, FaultTarget.START)
            if fault and fault.answer != "lost":
                raise _fault_reply(fault)
            run = Run(job_id, self._run_id(), now, job.script.run(len(job.runs)))
            job.runs.append(run)
            job.stale = job.script.stale_reads
            if fault:  # lost: the run has begun, but its answer never arrives
                raise Reply(0)
            if job_kind(job_id)[0] != "spark":  # the Jobs API answers with no run id
                return {
                    "resource": job_id,
                    "action": "start",
                    "accepted": True,
                    "message": f"Started job {job_id}",
                }
            return self._status(job_id, run, now)

    def status(self, job_id: str) -> Any:
        """Spark: the latest run's status. Jobs API: the history's newest record, as a list."""
        with self.lock:
            job, now = self._job(job_id, FaultTarget.STATUS), self.clock()
            if fault := self._fault(job, FaultTarget.STATUS):
                raise _fault_reply(fault)
            shown = job.runs
            if job.stale:
                job.stale -= 1
                shown = job.runs[:-1]
            if job_kind(job_id)[0] != "spark":
                return [self._status(job_id, shown[-1], now)] if shown else []
            if not shown:
                return self._idle(job_id)
            return self._status(job_id, shown[-1], now)

    def all_runs(self, job_id: str) -> list[dict[str, Any]]:
        with self.lock:
            job, now = self._job(job_id, FaultTarget.ALL), self.clock()
            if fault := self._fault(job, FaultTarget.ALL):
                raise _fault_reply(fault)
            return [self._status(job_id, run, now) for run in reversed(job.runs)]

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job, now = self._job(job_id, FaultTarget.CANCEL), self.clock()
            if fault := self._fault(job, FaultTarget.CANCEL):
                raise _fault_reply(fault)
            for run in job.runs:
                if run.cancelled is None and now < run.end():
                    run.cancelled = now
            if job_kind(job_id)[0] != "spark":
                return {
                    "resource": job_id,
                    "action": "abort",
                    "accepted": True,
                    "message": f"Aborting job {job_id}",
                }
            return None

    def configuration(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self._job(job_id, FaultTarget.CONFIGURATION)
            if fault := self._fault(job, FaultTarget.CONFIGURATION):
                raise _fault_reply(fault)
            if job_kind(job_id)[0] != "spark":  # the Jobs API's view of the job
                latest = self._status(job_id, job.runs[-1], self.clock()) if job.runs else None
                return {
                    "resource": job_id,
                    "enabled": True,
                    "status": latest["status"] if latest else "ready",
                    "lastStartTime": latest["startTime"] if latest else None,
                    "lastEndTime": latest.get("endTime") if latest else None,
                    "extra": latest["extra"] if latest else {},
                }
            return self._config(job_id, job.script)

    # --- helpers ---------------------------------------------------------------------------------

    def _job(self, job_id: str, kind: FaultTarget) -> _Job:
        self.requests.append((kind, job_id))
        if job_id not in self.jobs:
            raise Reply(404, error_body(404, f"Job configuration '{job_id}' not found"))
        return self.jobs[job_id]

    def _fault(self, job: _Job, on: FaultTarget) -> Fault | None:
        """The fault this request meets, if any; every fault on `on` counts the request."""
        met = None
        for index, fault in enumerate(job.script.faults):
            if fault.on != on:
                continue
            seen = job.seen.get(index, 0)
            job.seen[index] = seen + 1
            if met is None and fault.after <= seen < fault.after + fault.times:
                met = fault
        return met

    def _run_id(self) -> str:
        return "".join(self.random.choices(string.ascii_lowercase + string.digits, k=10))

    def _config(self, job_id: str, script: JobScript) -> dict[str, Any]:
        return {"type": script.type, "id": job_id, **script.config}

    def _idle(self, job_id: str) -> dict[str, Any]:
        return {"state": "idle", "jobConfig": self._config(job_id, self.jobs[job_id].script)}

    def _status(self, job_id: str, run: Run, now: float) -> dict[str, Any]:
        if job_kind(job_id)[0] != "spark":
            return self._record(job_id, run, now)
        script = self.jobs[job_id].script
        state = _SPARK_STATE.get(run.state(now), run.state(now))
        result: dict[str, Any] = {"jobConfigId": job_id, "jobRunId": run.run_id}
        body: dict[str, Any] = {
            "state": state.upper() if "upper_case_states" in script.quirks else state,
            "jobId": run.run_id,
            "jobConfig": self._config(job_id, script),
            "hostname": HOSTNAME,
            "result": result,
        }
        if state in ("finished", "error", "skipped", "cancelled"):
            end = run.end()
            if state in ("finished", "skipped"):
                result.update(run.script.result)
            if state == "error":
                message = run.script.error or "The job run failed"
                result["exception"] = {
                    "jobRunId": run.run_id,
                    "httpStatusCode": 500,
                    "httpStatusMessage": "Internal Server Error",
                    "error": "Internal Server Error",
                    "message": message,
                    "details": message,
                }
            body["startTime"] = self._time(run.started, script)
            body["endTime"] = self._time(end, script)
            body["duration"] = round((end - run.started) * 1000)
        return body

    def _record(self, job_id: str, run: Run, now: float) -> dict[str, Any]:
        """A Jobs API history record (GET /jobs/{type}:{id}/history), counters in `extra`."""
        script = self.jobs[job_id].script
        state = run.state(now)
        status = _JOBS_STATUS.get(state, state)
        record: dict[str, Any] = {
            "resource": job_id,
            "runId": run.run_id,
            "status": status.upper() if "upper_case_states" in script.quirks else status,
            "startTime": self._time(run.started, script),
            "startedBy": "admin",
            "extra": {},
        }
        if status in ("success", "failed", "aborted"):
            record["endTime"] = self._time(run.end(), script)
            record["extra"] = dict(run.script.result)
            if status == "failed":
                record["error"] = run.script.error or "The job run failed"
        return record

    def _time(self, clock_time: float, script: JobScript) -> str | int:
        wall = self.epoch + clock_time
        if "epoch_millis_times" in script.quirks:
            return round(wall * 1000)
        stamp = datetime.fromtimestamp(wall, tz=UTC)
        if "nanosecond_times" in script.quirks:
            return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

    def encode(self, job_id: str | None, body: Any) -> bytes:
        """JSON as Fusion writes it, quirks included (a repeated "type" key, as Jackson emits)."""
        text = json.dumps(body)
        job = self.jobs.get(job_id or "")
        if job and "duplicate_type_key" in job.script.quirks:
            typed = f'"type": {json.dumps(job.script.type)}'
            text = text.replace("{" + typed, "{" + typed + ", " + typed, 1)  # the configuration
        return text.encode()


def _unscripted(job: str) -> JobScript:
    """How a job nobody scripted behaves: it succeeds after 2 s, with plausible numbers."""
    if job_kind(job)[0] == "spark":
        return JobScript()
    counters = {"counter.input": 100, "counter.output": 100, "counter.failed": 0}
    return JobScript(runs=(RunScript(result=counters),))


def key_of(job: str) -> str:
    """How the emulator files a job: Spark jobs by id, others as `datasource:<id>`, `task:<id>`."""
    kind, ident = job_kind(job)
    return ident if kind == "spark" else f"{kind}:{ident}"


# A run's state in the terms of each API: scenarios may use either API's words.
_JOBS_STATUS = {
    "starting": "running", "running": "running", "finishing": "running", "cancelling": "running",
    "finished": "success", "skipped": "success", "error": "failed", "cancelled": "aborted",
}  # fmt: skip
_SPARK_STATE = {"success": "finished", "failed": "error", "aborted": "cancelled"}


def error_body(status: int, message: str) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return {"httpStatusCode": status, "httpStatusMessage": phrase, "message": message}


def _fault_reply(fault: Fault) -> Reply:
    if fault.answer == "reset":
        return Reply(0)
    if fault.answer == "hang":
        return Reply(HANG)
    status = int(fault.answer)
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    body = error_body(status, f"injected fault: {status} on {fault.on}")
    return Reply(status, body, headers=headers)
