"""A Fusion emulator: the Spark jobs API on 127.0.0.1, scripted by a scenario.

`EmulatedFusion` is the model, driven by an injected clock and free of I/O: tests that share one
fake clock between it and the client get the same answers however fast the machine is, so
recordings are reproducible. `Emulator` serves the model over HTTP in a background thread, and
`main` is the `fusion-emulator` command.

Where Fusion's API documentation is silent, the emulator decides, and
says so here: a start while a run is active answers 409 (scenario `on_start_while_active` changes
it); `/all` lists runs newest first; `duration` is in milliseconds; an unknown configuration answers
404 with a JSON `message`; a cancel with no active run answers 200.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import secrets
import socket
import string
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from runner.client import ErrorKind, FusionError, http_error, job_segment
from runner.scenario import Fault, JobScript, RunScript, Scenario, load_scenario
from runner.status import TERMINAL, RunStatus, job_kind, parse_history, parse_status

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


class Reply(Exception):
    """An HTTP answer other than 200 with JSON, or `status` 0 to drop the connection."""

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
        self.requests: list[tuple[str, str]] = []  # (kind, job), for tests and benchmarks

    def starts(self, job: str) -> int:
        return sum(1 for kind, name in self.requests if (kind, name) == ("start", key_of(job)))

    # --- the API, one method per endpoint ---------------------------------------------------------

    def start(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job, now = self._job(job_id, "start"), self.clock()
            latest = job.runs[-1] if job.runs else None
            if latest and latest.state(now) not in TERMINAL:
                policy = self.scenario.on_start_while_active
                if policy == "conflict":
                    raise Reply(
                        409, _error(409, f"Job {job_id} is already running ({latest.run_id})")
                    )
                if policy == "return_active":
                    return self._status(job_id, latest, now)
            fault = self._fault(job, "start")
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
            job, now = self._job(job_id, "status"), self.clock()
            if fault := self._fault(job, "status"):
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
            job, now = self._job(job_id, "all"), self.clock()
            if fault := self._fault(job, "all"):
                raise _fault_reply(fault)
            return [self._status(job_id, run, now) for run in reversed(job.runs)]

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job, now = self._job(job_id, "cancel"), self.clock()
            if fault := self._fault(job, "cancel"):
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
            job = self._job(job_id, "configuration")
            if fault := self._fault(job, "configuration"):
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

    def _job(self, job_id: str, kind: str) -> _Job:
        self.requests.append((kind, job_id))
        if job_id not in self.jobs:
            raise Reply(404, _error(404, f"Job configuration '{job_id}' not found"))
        return self.jobs[job_id]

    def _fault(self, job: _Job, on: str) -> Fault | None:
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


def _error(status: int, message: str) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return {"httpStatusCode": status, "httpStatusMessage": phrase, "message": message}


def _fault_reply(fault: Fault) -> Reply:
    if fault.answer == "reset":
        return Reply(0)
    status = int(fault.answer)
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    body = _error(status, f"injected fault: {status} on {fault.on}")
    return Reply(status, body, headers=headers)


# What each call is over HTTP, for error messages like the client's: Spark's API, then the Jobs API.
_ROUTES = {
    True: {
        "start": ("POST", "/spark/jobs/{id}"),
        "status": ("GET", "/spark/jobs/{id}"),
        "all": ("GET", "/spark/jobs/{id}/all"),
        "cancel": ("DELETE", "/spark/jobs/{id}"),
        "configuration": ("GET", "/spark/configurations/{id}"),
    },
    False: {
        "start": ("POST", "/jobs/{resource}/actions"),
        "status": ("GET", "/jobs/{resource}/history?limit=1"),
        "all": ("GET", "/jobs/{resource}/history?limit=100"),
        "cancel": ("POST", "/jobs/{resource}/actions"),
        "configuration": ("GET", "/jobs/{resource}"),
    },
}


class ModelFusion:
    """The `Fusion` protocol straight over an EmulatedFusion, without HTTP: fast engine tests
    and benchmarks get the same scripted behaviour as over the wire."""

    def __init__(self, model: EmulatedFusion, url: str = "http://emulated/api") -> None:
        self.model = model
        self.url = url

    def start(self, job: str) -> RunStatus:
        answer = self._call(job, "start", self.model.start)
        if job_kind(job)[0] != "spark":
            return RunStatus(job=job, run_id=None, state="starting", raw=answer)
        return parse_status(answer, job)

    def status(self, job: str) -> RunStatus:
        answer = self._call(job, "status", self.model.status)
        if job_kind(job)[0] == "spark":
            return parse_status(answer, job)
        return (
            parse_history(answer[0], job)
            if answer
            else RunStatus(job=job, run_id=None, state="ready")
        )

    def runs(self, job: str) -> list[RunStatus]:
        parse = parse_status if job_kind(job)[0] == "spark" else parse_history
        return [parse(item, job) for item in self._call(job, "all", self.model.all_runs)]

    def cancel(self, job: str) -> None:
        self._call(job, "cancel", self.model.cancel)

    def configuration(self, job: str) -> dict[str, Any] | None:
        try:
            config: dict[str, Any] = self._call(job, "configuration", self.model.configuration)
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return config

    def _call(self, job: str, what: str, call: Callable[[str], Any]) -> Any:
        kind, ident = job_kind(job)
        method, path = _ROUTES[kind == "spark"][what]
        url = self.url + path.format(id=job_segment(ident), resource=f"{kind}:{job_segment(ident)}")
        try:
            return call(key_of(job))
        except Reply as reply:
            if reply.status == 0:
                raise FusionError(
                    method=method,
                    url=url,
                    kind=ErrorKind.TRANSIENT,
                    what="the connection dropped",
                    maybe_applied=True,
                ) from None
            body = reply.body if isinstance(reply.body, dict) else {}
            retry = reply.headers.get("Retry-After")
            raise http_error(
                method,
                url,
                reply.status,
                HTTPStatus(reply.status).phrase,
                body.get("message") or body.get("error"),
                retry_after=float(retry) if retry else None,
            ) from None


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may call: nobody to check when all are None."""

    user: str | None = None
    password: str | None = None
    api_key: str | None = None
    token: str | None = None

    @property
    def open(self) -> bool:
        return not (self.user or self.api_key or self.token)


class Emulator:
    """Serves an EmulatedFusion on 127.0.0.1 in a background thread; a context manager."""

    def __init__(
        self,
        model: EmulatedFusion | None = None,
        *,
        port: int = 0,
        access: Access = Access(),
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model or EmulatedFusion()
        self.access = access
        self.log = log
        self.sessions: dict[str, int] = {}  # cookie -> requests made with it
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Emulator:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorised(self, headers: Any) -> bool:
        if self.access.open:
            return True
        if self.access.api_key and headers.get("x-api-key") == self.access.api_key:
            return True
        authorization = headers.get("Authorization", "")
        if self.access.token and authorization == f"Bearer {self.access.token}":
            return True
        if self.access.user and authorization.startswith("Basic "):
            try:
                pair = base64.b64decode(authorization[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            return pair == f"{self.access.user}:{self.access.password}"
        cookie = _cookie(headers.get("Cookie", ""), "id")
        if cookie in self.sessions:
            self.sessions[cookie] += 1
            limit = self.model.scenario.session_expires_after
            if limit is not None and self.sessions[cookie] > limit:
                del self.sessions[cookie]
                return False
            return True
        return False

    def login(self, body: bytes) -> str:
        try:
            given = json.loads(body or b"{}")
        except ValueError:
            given = {}
        if not isinstance(given, dict) or (given.get("username"), given.get("password")) != (
            self.access.user,
            self.access.password,
        ):
            raise Reply(401, {"service": "proxy", "error": "unauthorized", "path": "/api/session"})
        cookie = secrets.token_hex(16)
        self.sessions[cookie] = 0
        return cookie


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _api_path(path: str) -> list[str] | None:
    """The raw segments after /api, /api/apollo or /api/apps/{app}; None for other paths."""
    parts = path.split("/")[1:]
    if parts[:1] != ["api"]:
        return None
    rest = parts[1:]
    if rest[:1] == ["apollo"]:
        return rest[1:]
    if rest[:1] == ["apps"] and len(rest) >= 2:
        return rest[2:]
    return rest


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    model = emulator.model

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fusion-emulator"
        # Headers and body go out as two writes; with Nagle's algorithm on, the second waits for
        # the client's delayed ACK, adding 40 ms to every request on a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            if emulator.log:
                emulator.log(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            job: str | None = None
            try:
                url = urlsplit(self.path)
                if (self.command, url.path) == ("POST", "/api/session"):
                    cookie = emulator.login(body)
                    self._send(201, None, {"Set-Cookie": f"id={cookie}; Path=/; HttpOnly"})
                    return
                if not emulator.authorised(self.headers):
                    raise Reply(
                        401, {"service": "proxy", "error": "unauthorized", "path": url.path}
                    )
                segments = _api_path(url.path)
                job, answer = self._route(segments or [], parse_qs(url.query), body)
                self._send(200, answer, {}, job)
            except Reply as reply:
                if reply.status == 0:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(reply.status, reply.body, reply.headers, job)

        def _jobs_api(
            self, job: str, rest: list[str], query: dict[str, list[str]], body: bytes
        ) -> tuple[str | None, Any]:
            """Fusion's Jobs API for datasource and task jobs: view, actions, history."""
            method = self.command
            if not rest and method == "GET":
                return job, model.configuration(job)
            if rest == ["history"] and method == "GET":
                limit = int((query.get("limit") or ["100"])[0])
                return job, model.status(job) if limit == 1 else model.all_runs(job)[:limit]
            if rest == ["actions"] and method == "POST":
                action = str(json.loads(body or b"{}").get("action", "")).lower()
                if action == "start":
                    return job, model.start(job)
                if action in ("abort", "stop"):
                    return job, model.cancel(job)
                raise Reply(400, _error(400, f"Unknown action {action!r}"))
            raise Reply(404, _error(404, f"No endpoint {method} {self.path}"))

        def _route(
            self, segments: list[str], query: dict[str, list[str]], body: bytes
        ) -> tuple[str | None, Any]:
            method = self.command
            if len(segments) in (3, 4) and segments[:2] == ["spark", "jobs"]:
                job = unquote(segments[2])
                if len(segments) == 4 and segments[3] == "all" and method == "GET":
                    return job, model.all_runs(job)
                if len(segments) == 3 and method == "POST":
                    return job, model.start(job)
                if len(segments) == 3 and method == "GET":
                    return job, model.status(job)
                if len(segments) == 3 and method == "DELETE":
                    return job, model.cancel(job)
            if (
                len(segments) == 3
                and segments[:2] == ["spark", "configurations"]
                and method == "GET"
            ):
                job = unquote(segments[2])
                return job, model.configuration(job)
            if len(segments) in (2, 3) and segments[0] == "jobs":
                return self._jobs_api(key_of(unquote(segments[1])), segments[2:], query, body)
            raise Reply(404, _error(404, f"No endpoint {method} {self.path}"))

        def _send(
            self, status: int, body: Any, headers: dict[str, str], job: str | None = None
        ) -> None:
            data = b"" if body is None else model.encode(job, body)
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port", default=8764, show_default=True, help="Port on 127.0.0.1 (0: any free one)."
)
@click.option("--scenario", type=click.Path(dir_okay=False), help="A scenario YAML file.")
@click.option("--user", envvar="FUSION_USER", help="Require this user (default: $FUSION_USER).")
@click.option(
    "--password", envvar="FUSION_PASSWORD", help="Its password (default: $FUSION_PASSWORD)."
)
@click.option("--api-key", envvar="FUSION_API_KEY", help="Accept this x-api-key ($FUSION_API_KEY).")
def main(
    port: int, scenario: str | None, user: str | None, password: str | None, api_key: str | None
) -> None:
    """Serve an emulated Fusion Spark jobs API on 127.0.0.1 until interrupted."""
    from runner.cli import guarded  # noqa: PLC0415

    def serve() -> int:
        model = EmulatedFusion(load_scenario(scenario) if scenario else None)
        access = Access(user=user, password=password, api_key=api_key)
        emulator = Emulator(
            model, port=port, access=access, log=lambda line: click.echo(line, err=True)
        )
        with emulator:
            click.echo(f"fusion-emulator: serving Fusion's API at {emulator.url}/api", err=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0

    sys.exit(guarded(serve, show_traceback=False))


if __name__ == "__main__":
    main()
