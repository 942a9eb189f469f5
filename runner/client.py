"""Talking to Fusion over HTTP: one class, `FusionClient`, behind the `Fusion` protocol.

Every request has a connect and a read timeout, and no redirect is followed: a redirect is an
error naming where Fusion pointed, so credentials never travel to another host and a wrong
`fusion.url` is fixed once rather than paid for on every request. Errors are one type,
`FusionError`, that says what failed in Fusion's own words and classifies it.
"""

from __future__ import annotations

import os
import re
import ssl
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import requests
import urllib3.exceptions

from runner import __version__
from runner.auth import Credentials
from runner.fusion import ErrorKind, FusionError, Unreached, http_error, job_segment, resource
from runner.plan import Auth, SparkStart
from runner.signals import RequestInterrupted
from runner.status import (
    RunStatus,
    job_kind,
    newest_first,
    parse_history,
    parse_job_view,
    parse_status,
)

READ_TIMEOUT_OF_GET = 15.0  # seconds: status reads, lists and cancels wait no longer


class FusionClient:
    def __init__(
        self,
        *,
        url: str,
        api: str = "/api",
        auth: Auth = Auth.NONE,
        environ: Mapping[str, str] = os.environ,
        verify: bool | str = True,
        realm: str = "native",
        connect_timeout: float = 10,
        read_timeout: float = 60,
        session: requests.Session | None = None,
        log: Callable[[str], None] | None = None,
        guard: Callable[[str], AbstractContextManager[None]] = lambda _: nullcontext(),
        spark_start: SparkStart = SparkStart.SPARK_API,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.api = api
        self.auth = auth
        self.realm = realm
        self.timeout = (connect_timeout, read_timeout)
        # A status read is worth nothing late: it gives up sooner, and the engine reads again. So
        # does a cancel, sent again until Fusion shows the run ended: one that hangs must not
        # hold up the others for the whole read timeout.
        self.read_timeout = min(read_timeout, READ_TIMEOUT_OF_GET)
        self.guard = guard  # around each request: lets a signal cut it short
        self.log = log  # one line per request: method, URL, status, time; never headers or bodies
        self.session = session or requests.Session()
        # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override
        # Session.verify, which would turn `verify: false` or a plan's CA bundle into a no-op.
        # Given per request, the variable still applies where the plan says true.
        self.verify = verify
        self.session.headers["User-Agent"] = f"fusion-run/{__version__}"
        self.session.headers["Accept"] = "application/json"
        self.credentials = Credentials(
            auth, environ, url=self.url, realm=realm, session=self.session, monotonic=monotonic
        )
        self.auth = self.credentials.auth
        self.spark_start = spark_start
        self.upper_case_actions = False  # Fusion refused "start": it wants the spec's "START"

    # --- jobs: Spark jobs through /spark, datasource and task jobs through /jobs ------------------

    def start(self, job: str) -> RunStatus:
        """Start a run. A Jobs API start answers with no run id: the run shows in the job's
        status and history. A refusal (409, or `accepted: false`) is a FusionError that says
        `refused`: a run is active already."""
        kind, ident = job_kind(job)
        if kind == "spark" and self.spark_start is SparkStart.SPARK_API:
            return parse_status(self._json("POST", f"/spark/jobs/{job_segment(ident)}"), job)
        answer = self._action(kind, ident, "start")
        return RunStatus(job=job, run_id=None, state="starting", raw=answer)

    def status(self, job: str) -> RunStatus:
        """The job's latest run: a Spark job's status, or the Jobs API's view of the job."""
        kind, ident = job_kind(job)
        if kind == "spark":
            return parse_status(self._json("GET", f"/spark/jobs/{job_segment(ident)}"), job)
        return parse_job_view(self._json("GET", f"/jobs/{resource(kind, ident)}"), job)

    def runs(self, job: str) -> list[RunStatus]:
        """The job's runs, newest first by start time, whatever order Fusion sent them in."""
        kind, ident = job_kind(job)
        if kind == "spark":
            data = self._json("GET", f"/spark/jobs/{job_segment(ident)}/all")
            items = data if isinstance(data, list) else [data]
            return newest_first(parse_status(item, job) for item in items if isinstance(item, dict))
        data = self._json("GET", f"/jobs/{resource(kind, ident)}/history?limit=100")
        records = data if isinstance(data, list) else []
        return newest_first(parse_history(r, job) for r in records if isinstance(r, dict))

    def cancel(self, job: str) -> None:
        kind, ident = job_kind(job)
        if kind == "spark":
            self._request("DELETE", self._api_url(f"/spark/jobs/{job_segment(ident)}"))
        else:
            self._action(kind, ident, "abort")

    def _action(self, kind: str, ident: str, action: str) -> dict[str, Any]:
        """POST a Jobs API action. The docs send it in lower case, the spec's enum is upper case:
        a 400 or 422 to the one makes fusion-run send the other, from then on."""
        path = f"/jobs/{resource(kind, ident)}/actions"
        try:
            answer = self._json("POST", path, json={"action": self._spelling(action)})
        except FusionError as error:
            if error.status not in (400, 422) or self.upper_case_actions:
                raise
            self.upper_case_actions = True
            answer = self._json("POST", path, json={"action": self._spelling(action)})
        answer = answer if isinstance(answer, dict) else {}
        if answer.get("accepted") is False:
            raise FusionError(
                method="POST",
                url=self._api_url(path),
                kind=ErrorKind.OTHER,
                what=f"Fusion did not accept the {action}: "
                + str(answer.get("message") or "it gave no reason"),
                refused=action == "start",
            )
        return answer

    def _spelling(self, action: str) -> str:
        return action.upper() if self.upper_case_actions else action

    def configuration(self, job: str) -> dict[str, Any] | None:
        """The job's configuration (or Jobs API view), or None when Fusion has no such job."""
        kind, ident = job_kind(job)
        path = (
            f"/spark/configurations/{job_segment(ident)}"
            if kind == "spark"
            else f"/jobs/{resource(kind, ident)}"
        )
        try:
            data = self._json("GET", path)
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return data if isinstance(data, dict) else {}

    # --- HTTP -------------------------------------------------------------------------------------

    def _api_url(self, path: str) -> str:
        return f"{self.url}{self.api}{path}"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self._api_url(path)
        response = self._request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.OTHER,
                status=response.status_code,
                what=f"Fusion's answer is not JSON: {_excerpt(response.text)!r}",
            ) from None

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.credentials.before(self._checked)
        response = self._send(method, url, **kwargs)
        if response.status_code == 401 and self.credentials.renewable:
            self.credentials.renew(self._checked)  # a session timed out, a token expired: once
            response = self._send(method, url, **kwargs)
        _raise_for(method, url, response, self.auth)
        return response

    def _checked(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        response = self._send(method, url, **kwargs)
        _raise_for(method, url, response, self.auth)
        return response

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if not self.log:
            return self._exchange(method, url, **kwargs)
        began = time.monotonic()
        try:
            response = self._exchange(method, url, **kwargs)
        except FusionError as error:
            self.log(f"{error} ({(time.monotonic() - began) * 1000:.0f} ms)")
            raise
        took = (time.monotonic() - began) * 1000
        self.log(f"{method} {url}: {response.status_code} {response.reason} ({took:.0f} ms)")
        return response

    def _exchange(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        short = method in ("GET", "DELETE")
        timeout = (self.timeout[0], self.read_timeout) if short else self.timeout
        try:
            with self.guard(method):
                return self.session.request(
                    method,
                    url,
                    timeout=timeout,
                    verify=self.verify,
                    allow_redirects=False,
                    **kwargs,
                )
        except RequestInterrupted:
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.INTERRUPTED,
                what="given up: fusion-run was interrupted",
                maybe_applied=method != "GET",
            ) from None
        except requests.exceptions.SSLError as error:
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.OTHER,
                what=f"TLS failed ({_reason(error)}): set fusion.verify to a CA bundle path",
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.TRANSIENT,
                what=f"no connection within {self.timeout[0]:g}s",
                unreached=Unreached.NO_ANSWER,
            ) from None
        except requests.exceptions.ReadTimeout:
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.TRANSIENT,
                what=f"no answer within {timeout[1]:g}s",
                maybe_applied=True,
            ) from None
        except requests.exceptions.ConnectionError as error:
            unreached = _unreached(error)
            what = f"cannot connect ({_reason(error)})" if unreached else "the connection dropped"
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.TRANSIENT,
                what=what,
                maybe_applied=unreached is None,
                unreached=unreached,
            ) from None
        except requests.exceptions.RequestException as error:
            raise FusionError(
                method=method, url=url, kind=ErrorKind.OTHER, what=_reason(error)
            ) from None


def _raise_for(method: str, url: str, response: requests.Response, auth: Auth = Auth.NONE) -> None:
    status = response.status_code
    if 300 <= status < 400:
        where = response.headers.get("Location", "somewhere unnamed")
        raise FusionError(
            method=method,
            url=url,
            kind=ErrorKind.OTHER,
            status=status,
            what=f"{status} {response.reason}: Fusion redirects to {where}; "
            "fusion-run follows no redirect, so set fusion.url (or --url) to Fusion's address",
        )
    if status < 400:
        return
    message = _fusion_message(response)
    if status == 401 and auth is Auth.BEARER:
        message = (message + "; " if message else "") + (
            "the token from FUSION_TOKEN may have expired: with fusion.auth: oauth2, "
            "fusion-run gets its own tokens and renews them"
        )
    raise http_error(
        method,
        url,
        status,
        response.reason,
        message,
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )


def _fusion_message(response: requests.Response) -> str | None:
    """Fusion's own words from an error body: `message`, else `error`, `details`; else the text."""
    try:
        body = response.json()
    except ValueError:
        return _excerpt(response.text) or None
    if isinstance(body, dict):
        for key in ("message", "error", "details"):
            if isinstance(body.get(key), str) and body[key].strip():
                return _excerpt(body[key])
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in seconds; an HTTP date is ignored."""
    if value and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return float(value)
    return None


def _excerpt(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _unreached(error: requests.exceptions.ConnectionError) -> Unreached | None:
    """Why the request never reached Fusion, or None if it may have (the connection dropped)."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return Unreached.NO_HOST
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return Unreached.NO_ANSWER
    return None


def _reason(error: Exception) -> str:
    """The innermost readable cause, e.g. 'Connection refused', 'Name or service not known' or
    'certificate verify failed: self-signed certificate'."""
    cause = _innermost(error)
    if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
        return f"certificate verify failed: {cause.verify_message}"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    text = str(error.args[0] if error.args else error)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    return found[-1].strip() if found else _excerpt(text, 120)


def _innermost(error: BaseException) -> BaseException:
    """Follow requests' and urllib3's wrapping (args, .reason, __cause__) to the first cause."""
    seen = {id(error)}
    while True:
        reason = getattr(error, "reason", None)
        inner = next(
            (
                each
                for each in (
                    reason,
                    error.args[0] if error.args else None,
                    error.__cause__,
                    error.__context__,
                )
                if isinstance(each, BaseException) and id(each) not in seen
            ),
            None,
        )
        if inner is None:
            return error
        seen.add(id(inner))
        error = inner
