"""The emulator's model behind the `Fusion` protocol, in process and without HTTP.

Engine tests and benchmarks get the same scripted behaviour as over the wire, and the same
errors: each `Reply` the model raises becomes the `FusionError` the HTTP client would raise.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from runner.emulator.model import HANG, EmulatedFusion, Reply, key_of
from runner.fusion import ErrorKind, FusionError, http_error, job_segment
from runner.scenario import FaultTarget
from runner.status import RunStatus, job_kind, parse_history, parse_status

# What each call is over HTTP, for error messages like the client's: Spark's API, then the Jobs API.
_ROUTES = {
    True: {
        FaultTarget.START: ("POST", "/spark/jobs/{id}"),
        FaultTarget.STATUS: ("GET", "/spark/jobs/{id}"),
        FaultTarget.ALL: ("GET", "/spark/jobs/{id}/all"),
        FaultTarget.CANCEL: ("DELETE", "/spark/jobs/{id}"),
        FaultTarget.CONFIGURATION: ("GET", "/spark/configurations/{id}"),
    },
    False: {
        FaultTarget.START: ("POST", "/jobs/{resource}/actions"),
        FaultTarget.STATUS: ("GET", "/jobs/{resource}/history?limit=1"),
        FaultTarget.ALL: ("GET", "/jobs/{resource}/history?limit=100"),
        FaultTarget.CANCEL: ("POST", "/jobs/{resource}/actions"),
        FaultTarget.CONFIGURATION: ("GET", "/jobs/{resource}"),
    },
}


class ModelFusion:
    """The `Fusion` protocol straight over an EmulatedFusion, without HTTP: fast engine tests
    and benchmarks get the same scripted behaviour as over the wire."""

    def __init__(self, model: EmulatedFusion, url: str = "http://emulated/api") -> None:
        self.model = model
        self.url = url

    def start(self, job: str) -> RunStatus:
        answer = self._call(job, FaultTarget.START, self.model.start)
        if job_kind(job)[0] != "spark":
            return RunStatus(job=job, run_id=None, state="starting", raw=answer)
        return parse_status(answer, job)

    def status(self, job: str) -> RunStatus:
        answer = self._call(job, FaultTarget.STATUS, self.model.status)
        if job_kind(job)[0] == "spark":
            return parse_status(answer, job)
        return (
            parse_history(answer[0], job)
            if answer
            else RunStatus(job=job, run_id=None, state="ready")
        )

    def runs(self, job: str) -> list[RunStatus]:
        parse = parse_status if job_kind(job)[0] == "spark" else parse_history
        return [parse(item, job) for item in self._call(job, FaultTarget.ALL, self.model.all_runs)]

    def cancel(self, job: str) -> None:
        self._call(job, FaultTarget.CANCEL, self.model.cancel)

    def configuration(self, job: str) -> dict[str, Any] | None:
        try:
            config: dict[str, Any] = self._call(
                job, FaultTarget.CONFIGURATION, self.model.configuration
            )
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return config

    def _call(self, job: str, what: FaultTarget, call: Callable[[str], Any]) -> Any:
        kind, ident = job_kind(job)
        method, path = _ROUTES[kind == "spark"][what]
        url = self.url + path.format(id=job_segment(ident), resource=f"{kind}:{job_segment(ident)}")
        try:
            return call(key_of(job))
        except Reply as reply:
            if reply.status == HANG:  # in process there is no waiting: as if the read timed out
                raise FusionError(
                    method=method,
                    url=url,
                    kind=ErrorKind.TRANSIENT,
                    what="no answer within 15s",
                    maybe_applied=method != "GET",
                ) from None
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
