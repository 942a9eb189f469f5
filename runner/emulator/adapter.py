"""The emulator's model behind the `Fusion` protocol, in process and without HTTP.

Engine tests and benchmarks get the same scripted behaviour as over the wire, and the same
errors: each `Reply` the model raises becomes the `FusionError` the HTTP client would raise, and
each call reads what `runner.client.FusionClient` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from runner.emulator.model import HANG, EmulatedFusion, Reply, key_of
from runner.fusion import ErrorKind, FusionError, http_error, job_segment
from runner.plan import SparkStart
from runner.scenario import FaultTarget
from runner.status import (
    RunStatus,
    job_kind,
    newest_first,
    parse_history,
    parse_job_view,
    parse_status,
)

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
        FaultTarget.STATUS: ("GET", "/jobs/{resource}"),
        FaultTarget.ALL: ("GET", "/jobs/{resource}/history?limit=100"),
        FaultTarget.CANCEL: ("POST", "/jobs/{resource}/actions"),
        FaultTarget.CONFIGURATION: ("GET", "/jobs/{resource}"),
    },
}


class ModelFusion:
    """The `Fusion` protocol straight over an EmulatedFusion, without HTTP: fast engine tests
    and benchmarks get the same scripted behaviour as over the wire."""

    def __init__(
        self,
        model: EmulatedFusion,
        url: str = "http://emulated/api",
        *,
        spark_start: SparkStart = SparkStart.SPARK_API,
    ) -> None:
        self.model = model
        self.url = url
        self.spark_start = spark_start
        self.upper_case_actions = False

    def start(self, job: str) -> RunStatus:
        spark = job_kind(job)[0] == "spark"
        if spark and self.spark_start is SparkStart.SPARK_API:
            return parse_status(self._call(job, FaultTarget.START, self.model.start), job)
        answer = self._action(job, "start")
        if answer.get("accepted") is False:
            method, url = self._where(job, FaultTarget.START)
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.OTHER,
                what=f"Fusion did not accept the start: {answer.get('message')}",
                refused=True,
            )
        return RunStatus(job=job, run_id=None, state="starting", raw=answer)

    def status(self, job: str) -> RunStatus:
        answer = self._call(job, FaultTarget.STATUS, self.model.status)
        if job_kind(job)[0] == "spark":
            return parse_status(answer, job)
        return parse_job_view(answer, job)

    def runs(self, job: str) -> list[RunStatus]:
        parse = parse_status if job_kind(job)[0] == "spark" else parse_history
        return newest_first(
            parse(item, job) for item in self._call(job, FaultTarget.ALL, self.model.all_runs)
        )

    def cancel(self, job: str) -> None:
        if job_kind(job)[0] == "spark":
            self._call(job, FaultTarget.CANCEL, self.model.cancel)
        else:
            self._action(job, "abort")

    def configuration(self, job: str) -> dict[str, Any] | None:
        target = FaultTarget.CONFIGURATION if job_kind(job)[0] == "spark" else FaultTarget.STATUS
        try:
            config: dict[str, Any] = self._call(job, target, self.model.configuration)
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return config

    def _action(self, job: str, action: str) -> dict[str, Any]:
        """As the client does: the lower-case spelling, then the upper case if Fusion refuses."""
        kind, ident = job_kind(job)
        resource = f"{kind}:{ident}"
        target = FaultTarget.START if action == "start" else FaultTarget.CANCEL

        def post(job_id: str) -> Any:
            spelt = action.upper() if self.upper_case_actions else action
            return self.model.action(job_id, spelt, resource=resource)

        try:
            answer = self._call(job, target, post)
        except FusionError as error:
            if error.status not in (400, 422) or self.upper_case_actions:
                raise
            self.upper_case_actions = True
            answer = self._call(job, target, post)
        return answer if isinstance(answer, dict) else {}

    def _where(self, job: str, what: FaultTarget) -> tuple[str, str]:
        kind, ident = job_kind(job)
        spark_api = kind == "spark" and (
            what is not FaultTarget.START or self.spark_start is SparkStart.SPARK_API
        )
        method, path = _ROUTES[spark_api][what]
        resource = f"{kind}:{job_segment(ident)}"
        return method, self.url + path.format(id=job_segment(ident), resource=resource)

    def _call(self, job: str, what: FaultTarget, call: Callable[[str], Any]) -> Any:
        method, url = self._where(job, what)
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
