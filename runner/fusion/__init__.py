"""What the engine needs from Fusion, free of HTTP: the `Fusion` protocol and its one error type.

`runner.fusion.client.FusionClient` speaks HTTP behind this protocol; the emulator's in-process
adapter and the tests' fakes implement it without a network. `FusionError` says what failed in
Fusion's own words and classifies it, so the engine decides from the kind, never from the text.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from runner.errors import ExitCode, FatalError
from runner.fusion.schedule import Schedule
from runner.fusion.status import RunStatus
from runner.plan import Call

# 500 too: a proxy or a pod restarting answers it as often as Fusion's own bugs do. The engine
# rides out a few in a row (`SERVER_ERROR_TRIES`), then takes one as Fusion's answer.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class ErrorKind(enum.StrEnum):
    CREDENTIALS = "credentials refused"  # 401, 403
    NOT_FOUND = "not found"  # 404
    TRANSIENT = "transient"  # connection error, timeout, 429, 500, 502-504, an unreadable answer
    INTERRUPTED = "interrupted"  # a signal cut the request short: not Fusion's fault
    OTHER = "other"


class Unreached(enum.Enum):
    """Why a request never reached Fusion: a wrong URL shows this way before anything else."""

    NO_HOST = "no host"  # the host name does not resolve
    NO_ANSWER = "no answer"  # connection refused, no route, no connection within the timeout


class FusionError(FatalError):
    exit_code = ExitCode.FUSION

    def __init__(
        self,
        *,
        method: str,
        url: str,
        kind: ErrorKind,
        what: str,
        status: int | None = None,
        retry_after: float | None = None,
        maybe_applied: bool = False,
        refused: bool = False,
        unreached: Unreached | None = None,
        unreadable: bool = False,
        held: bool = False,
    ) -> None:
        super().__init__(f"{method} {url}: {what}")
        self.method = method
        self.url = url
        self.kind = kind
        self.status = status
        self.retry_after = retry_after  # seconds, from a 429 or 503 Retry-After header
        self.maybe_applied = maybe_applied  # the request reached Fusion; its effect is unknown
        self.refused = refused or (method == "POST" and status == 409)  # a start: a run is active
        self.unreached = unreached
        self.unreadable = unreadable  # an answer that is not what the API says: Fusion's fault
        self.held = held  # never sent: Fusion asked for quiet (a Retry-After), `retry_after` more


@dataclass(frozen=True, slots=True)
class DriverLog:
    """The end of a Spark run's driver log, as Fusion served it, masked: one string a line."""

    lines: tuple[str, ...]
    by_run: bool  # served for the run's id; False: for the job configuration's id


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """The answer to a `request:` or `webhook:` step's request, masked: every string of its
    body and every header value went through the redactor."""

    status: int
    reason: str
    headers: Mapping[str, str]  # names in lower case
    body: Any  # the JSON it held; its text when it is not JSON; None when empty


class Fusion(Protocol):
    """Fusion's job APIs as the engine uses them, whatever carries the requests."""

    def start(self, job: str) -> RunStatus: ...
    def status(self, job: str) -> RunStatus: ...
    def runs(self, job: str) -> list[RunStatus]: ...
    def cancel(self, job: str) -> None: ...
    def configuration(self, job: str) -> dict[str, Any] | None: ...
    def driver_log(self, job: str, run_id: str | None, rows: int) -> DriverLog: ...
    def schedule(self, job: str) -> Schedule | None: ...
    def call(self, call: Call) -> CallAnswer: ...


def http_error(
    method: str,
    url: str,
    status: int,
    reason: str,
    message: str | None,
    *,
    retry_after: float | None = None,
) -> FusionError:
    """The FusionError for an HTTP error answer, classified by its status."""
    if status in (401, 403):
        kind = ErrorKind.CREDENTIALS
    elif status == 404:
        kind = ErrorKind.NOT_FOUND
    elif status in TRANSIENT_STATUSES:
        kind = ErrorKind.TRANSIENT
    else:
        kind = ErrorKind.OTHER
    return FusionError(
        method=method,
        url=url,
        kind=kind,
        status=status,
        what=f"{status} {reason}" + (f": {message}" if message else ""),
        retry_after=retry_after,
        maybe_applied=method == "POST" and status >= 500,
    )


def job_segment(job: str) -> str:
    """`job` as exactly one path segment: no id can reach another endpoint.

    >>> job_segment("a/b"), job_segment(".."), job_segment("%2e"), job_segment("é x")
    ('a%2Fb', '%2E%2E', '%252e', '%C3%A9%20x')
    """
    segment = quote(job, safe="")
    return segment.replace(".", "%2E") if set(job) == {"."} else segment


def resource(kind: str, ident: str) -> str:
    """A Jobs API resource, `datasource:<id>`, with the id as safe as a job segment."""
    return f"{kind}:{job_segment(ident)}"
