"""The emulator's model: Fusion's jobs as a state machine over an injected clock, free of I/O.

Tests that share one fake clock between it and the client get the same answers however fast the
machine is, so recordings are reproducible. Each method is one endpoint; an answer other than 200
with JSON is raised as `Reply`. `runner.emulator.adapter` serves the model in process,
`runner.emulator.server` over HTTP.

Where Fusion's API documentation is silent, the emulator decides, and says so here; a scenario's
`fusion:` switches (`runner.emulator.scenario.Variant`) make it any other Fusion the evidence
allows. By default: a start while a run is active answers 409 (`on_start_while_active` changes it);
`/all` lists runs newest first; `duration` is in milliseconds; a start's answer has one run id;
history records carry `runId` and list running runs at once; times agree with the clock; an unknown
configuration answers 404 with a JSON `message`; a cancel with no active run answers 200; a job
that the scenario gives no schedule has an enabled schedule with no trigger.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from runner.emulator.render import Render, Run, action_answer, config
from runner.emulator.scenario import (
    Fault,
    FaultTarget,
    JobSchedule,
    JobScript,
    OnStartWhileActive,
    RunScript,
    Scenario,
)
from runner.emulator.solr import Solr
from runner.fusion.routes import key as key_of
from runner.jobs import job_kind

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
HANG = -1  # a Reply status: the request gets no answer for HANG_SECONDS, then the connection drops
HANG_SECONDS = 3600.0
FIXED_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the wall time at clock 0 in tests


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
class _Job:
    script: JobScript
    runs: list[Run] = field(default_factory=list)  # oldest first
    stale: int = 0  # status reads left that show the run before the latest
    seen: dict[int, int] = field(default_factory=dict)  # fault index -> matching requests so far


class EmulatedFusion:
    """Fusion's jobs as a state machine over an injected clock. Thread-safe."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        epoch: float | None = None,
        seed: int | None = 0,  # of the run ids; None: new ones in each process
        extra_jobs: Iterable[str] = (),
    ) -> None:
        self.scenario = scenario or Scenario()
        self.variant = self.scenario.variant
        self.clock = clock
        self.began = clock()  # a scenario's next starts count from here
        self.render = Render(time.time() - clock() if epoch is None else epoch, self.variant)
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
        self.solr = Solr(self.scenario.collections)  # what a plan's request: steps call
        for job_id, job in self.jobs.items():
            job.runs = self._history(job_id, job.script, clock())

    def starts(self, job: str) -> int:
        wanted = (FaultTarget.START, key_of(job))
        return sum(1 for request in self.requests if request == wanted)

    def runs_of(self, job: str) -> list[Run]:
        """Every run of `job`, oldest first: what Fusion holds, whatever it shows."""
        return list(self.jobs[key_of(job)].runs)

    # --- the API, one method per endpoint ---------------------------------------------------------

    def start(self, job_id: str) -> dict[str, Any]:
        """POST /spark/jobs/{id}, or a Jobs API start action (see `action`)."""
        with self.lock:
            job, now = self._job(job_id, FaultTarget.START), self.clock()
            via_jobs_api = job_kind(job_id)[0] != "spark"
            latest = job.runs[-1] if job.runs else None
            if latest and not latest.ended(now):
                answer = self._while_active(job_id, job, latest, now, via_jobs_api)
                if answer is not None:
                    return answer
            run = self._begin(job_id, job, now)
            if via_jobs_api:  # the Jobs API answers with no run id
                resource = job_id if ":" in job_id else f"spark:{job_id}"
                return action_answer(
                    resource, "start", accepted=True, message=f"Started job {resource}"
                )
            return self.render.spark_status(job_id, job.script, run, now, answer=True)

    def action(self, job_id: str, action: str, *, resource: str) -> dict[str, Any] | None:
        """POST /jobs/{resource}/actions: start or abort, spelt as the variant accepts."""
        if self.variant.upper_case_actions and action != action.upper():
            target = FaultTarget.START if action.lower() == "start" else FaultTarget.CANCEL
            with self.lock:
                self.requests.append((target, job_id))  # it reached Fusion, which refused it
            raise Reply(400, error_body(400, f"Invalid action '{action}': expected START, ABORT"))
        if action.lower() == "start":
            if job_kind(job_id)[0] == "spark":  # a Spark job started through the Jobs API
                return self._start_spark_through_jobs_api(job_id, resource)
            return self.start(job_id)
        if action.lower() in ("abort", "stop"):
            self.cancel(job_id)
            return action_answer(
                resource, action, accepted=True, message=f"Aborting job {resource}"
            )
        raise Reply(400, error_body(400, f"Unknown action {action!r}"))

    def status(self, job_id: str) -> Any:
        """Spark: the latest run's status. Jobs API: the job's view, of its latest run."""
        with self.lock:
            job, now = self._job(job_id, FaultTarget.STATUS), self.clock()
            if fault := self._fault(job, FaultTarget.STATUS):
                raise _fault_reply(fault)
            shown = job.runs
            if job.stale:
                job.stale -= 1
                shown = job.runs[:-1]
            if job_kind(job_id)[0] != "spark":
                return self.render.job_view(job_id, job.script, shown, now)
            if not shown:
                return {"state": "idle", "jobConfig": config(job_id, job.script)}
            return self.render.spark_status(job_id, job.script, shown[-1], now)

    def all_runs(self, job_id: str, limit: int | None = 100) -> list[dict[str, Any]]:
        """Spark: GET /spark/jobs/{id}/all, the first `limit` in its order (every run when None).
        Jobs API: GET /jobs/{resource}/history?limit=N."""
        with self.lock:
            job, now = self._job(job_id, FaultTarget.ALL), self.clock()
            if fault := self._fault(job, FaultTarget.ALL):
                raise _fault_reply(fault)
            if job_kind(job_id)[0] == "spark":
                runs = job.runs if self.variant.all_oldest_first else list(reversed(job.runs))
                return [self.render.spark_status(job_id, job.script, r, now) for r in runs[:limit]]
            listed = []
            for run in reversed(job.runs):
                run.history_reads += 1
                if run.history_reads <= self.variant.history_lag:
                    continue  # the history lags
                if self.variant.history_ended_only and not run.ended(now):
                    continue
                listed.append(self.render.history_record(job_id, job.script, run, now))
            return listed[:limit]

    def cancel(self, job_id: str) -> None:
        with self.lock:
            job, now = self._job(job_id, FaultTarget.CANCEL), self.clock()
            if fault := self._fault(job, FaultTarget.CANCEL):
                raise _fault_reply(fault)
            for run in job.runs:
                if run.cancelled is None and now < run.end():
                    run.cancelled = now

    def configuration(self, job_id: str) -> dict[str, Any]:
        """A Spark job's configuration. A datasource's or task's is its view: a status read."""
        if job_kind(job_id)[0] != "spark":
            view: dict[str, Any] = self.status(job_id)
            return view
        with self.lock:
            job = self._job(job_id, FaultTarget.CONFIGURATION)
            if fault := self._fault(job, FaultTarget.CONFIGURATION):
                raise _fault_reply(fault)
            return config(job_id, job.script)

    def driver_log(self, ident: str, rows: int) -> str:
        """GET /spark/driver/log/{id}: the last `rows` lines of a run's driver log, by the run's
        id, or by its job's for the job's latest run, as the variant's `driver_log_by` says."""
        with self.lock:
            self.requests.append((FaultTarget.DRIVER_LOG, ident))
            by = self.variant.driver_log_by
            found = None
            if by == "job" and ident in self.jobs and self.jobs[ident].runs:
                found = ident, self.jobs[ident].runs[-1]
            if by == "run":
                found = next(
                    (
                        (key, run)
                        for key, job in self.jobs.items()
                        for run in job.runs
                        if ident in (run.run_id, run.alt_id)
                    ),
                    None,
                )
            if found is None:
                raise Reply(404, error_body(404, f"No driver pod found for {ident}"))
            key, run = found
            if fault := self._fault(self.jobs[key], FaultTarget.DRIVER_LOG):
                raise _fault_reply(fault)
            lines = run.script.log
            if lines is None:
                lines = tuple(self.render.driver_log(key, run, self.clock()))
            return "".join(line + "\n" for line in lines[max(0, len(lines) - rows) :])

    def schedule(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/{resource}/schedule: the job's `JobConfig`."""
        with self.lock:
            job = self._job(job_id, FaultTarget.SCHEDULE)
            if fault := self._fault(job, FaultTarget.SCHEDULE):
                raise _fault_reply(fault)
            given = job.script.schedule or JobSchedule()
            resource = job_id if ":" in job_id else f"spark:{job_id}"
            triggers = list(given.triggers)
            return {"resource": resource, "enabled": given.enabled, "triggers": triggers}

    def view(self, job_id: str) -> Any:
        """GET /jobs/{resource}: a status read, with the schedule's `enabled` and next start."""
        answer = self.status(job_id)
        given = self.jobs[job_id].script.schedule
        if given is None or not isinstance(answer, dict):
            return answer
        answer = {**answer, "enabled": given.enabled}
        if given.next_start is not None:
            when = self.began + given.next_start
            answer["nextStartTime"] = self.render.time(when, self.jobs[job_id].script)
        return answer

    # --- helpers ---------------------------------------------------------------------------------

    def _while_active(
        self, job_id: str, job: _Job, latest: Run, now: float, via_jobs_api: bool
    ) -> dict[str, Any] | None:
        """The answer to a start while `latest` is active; None to start a second run."""
        policy = self.scenario.on_start_while_active
        if policy is OnStartWhileActive.NEW_RUN:
            return None
        refused = policy is OnStartWhileActive.NOT_ACCEPTED or (
            policy is OnStartWhileActive.RETURN_ACTIVE and via_jobs_api
        )
        if via_jobs_api and refused:
            resource = job_id if ":" in job_id else f"spark:{job_id}"
            message = f"Job {resource} is already running"
            return action_answer(resource, "start", accepted=False, message=message)
        if policy is OnStartWhileActive.RETURN_ACTIVE:
            return self.render.spark_status(job_id, job.script, latest, now)
        raise Reply(409, error_body(409, f"Job {job_id} is already running ({latest.run_id})"))

    def _begin(self, job_id: str, job: _Job, now: float) -> Run:
        fault = self._fault(job, FaultTarget.START)
        if fault and fault.answer != "lost":
            raise _fault_reply(fault)
        run_id = self._run_id()
        alt_id = self._run_id() if self.variant.two_run_ids else run_id
        starts = len(job.runs) - len(job.script.history)  # the scenario's runs follow its history
        run = Run(job_id, run_id, alt_id, now, job.script.run(starts))
        job.runs.append(run)
        job.stale = job.script.stale_reads
        if fault:  # lost: the run has begun, but its answer never arrives
            raise Reply(0)
        return run

    def _start_spark_through_jobs_api(self, job_id: str, resource: str) -> dict[str, Any]:
        with self.lock:
            job, now = self._job(job_id, FaultTarget.START), self.clock()
            latest = job.runs[-1] if job.runs else None
            if latest and not latest.ended(now):
                answer = self._while_active(job_id, job, latest, now, True)
                if answer is not None:
                    return answer
            self._begin(job_id, job, now)
            return action_answer(
                resource, "start", accepted=True, message=f"Started job {resource}"
            )

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

    def _history(self, job_id: str, script: JobScript, now: float) -> list[Run]:
        """The runs a scenario says ended before now, oldest first, with ids of their own."""
        past = sorted(script.history, key=lambda p: -p.ended_ago)
        return [
            Run(job_id, run_id, run_id, now - p.ended_ago - p.run.duration, p.run)
            for p in past
            for run_id in [self._run_id()]
        ]

    def _run_id(self) -> str:
        return "".join(self.random.choices(string.ascii_lowercase + string.digits, k=10))

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
