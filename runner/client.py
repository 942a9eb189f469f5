"""Talking to Fusion over HTTP: one class, `FusionClient`, behind the `Fusion` protocol.

Every request has a connect and a read timeout, and no redirect is followed: a redirect is an
error naming where Fusion pointed, so credentials never travel to another host and a wrong
`fusion.url` is fixed once rather than paid for on every request. Errors are one type,
`FusionError`, that says what failed in Fusion's own words and classifies it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import requests
import urllib3.exceptions

from runner import __version__
from runner.errors import UsageError
from runner.fusion import ErrorKind, FusionError, http_error, job_segment, resource
from runner.plan import Auth
from runner.signals import RequestInterrupted
from runner.status import RunStatus, job_kind, parse_history, parse_status

READ_TIMEOUT_OF_GET = 15.0  # seconds: status reads and lists wait no longer for an answer

_NEEDS = {
    Auth.BASIC: ("FUSION_USER", "FUSION_PASSWORD"),
    Auth.SESSION: ("FUSION_USER", "FUSION_PASSWORD"),
    Auth.API_KEY: ("FUSION_API_KEY",),
    Auth.BEARER: ("FUSION_TOKEN",),
    Auth.NONE: (),
}


def credentials(auth: Auth, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment variables `auth` needs; UsageError naming the first one missing."""
    found = {}
    for name in _NEEDS[auth]:
        value = environ.get(name)
        if not value:
            needs = " and ".join(_NEEDS[auth])
            raise UsageError(
                f"{name} is not set: fusion.auth {auth} needs {needs} in the environment"
            )
        found[name] = value
    return found


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
    ) -> None:
        self.url = url.rstrip("/")
        self.api = api
        self.auth = auth
        self.realm = realm
        self.timeout = (connect_timeout, read_timeout)
        # A status read is worth nothing late: it gives up sooner, and the engine reads again.
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
        self._secrets = credentials(auth, environ)
        if auth is Auth.BASIC:
            self.session.auth = (self._secrets["FUSION_USER"], self._secrets["FUSION_PASSWORD"])
        elif auth is Auth.API_KEY:
            self.session.headers["x-api-key"] = self._secrets["FUSION_API_KEY"]
        elif auth is Auth.BEARER:
            self.session.headers["Authorization"] = f"Bearer {self._secrets['FUSION_TOKEN']}"
        self._logged_in = False

    # --- jobs: Spark jobs through /spark, datasource and task jobs through /jobs ------------------

    def start(self, job: str) -> RunStatus:
        """Start a run. A Jobs API start answers with no run id: it shows up in the history."""
        kind, ident = job_kind(job)
        if kind == "spark":
            return parse_status(self._json("POST", f"/spark/jobs/{job_segment(ident)}"), job)
        path = f"/jobs/{resource(kind, ident)}/actions"
        answer = self._json("POST", path, json={"action": "start"})
        if isinstance(answer, dict) and answer.get("accepted") is False:
            raise FusionError(
                method="POST",
                url=self._api_url(path),
                kind=ErrorKind.OTHER,
                what="Fusion did not accept the start: "
                + str(answer.get("message") or "it gave no reason"),
            )
        return RunStatus(
            job=job, run_id=None, state="starting", raw=answer if isinstance(answer, dict) else {}
        )

    def status(self, job: str) -> RunStatus:
        """The job's latest run (Spark: its status; other jobs: the newest history record)."""
        kind, ident = job_kind(job)
        if kind == "spark":
            return parse_status(self._json("GET", f"/spark/jobs/{job_segment(ident)}"), job)
        history = self._history(kind, ident, limit=1)
        return (
            parse_history(history[0], job)
            if history
            else RunStatus(job=job, run_id=None, state="ready")
        )

    def runs(self, job: str) -> list[RunStatus]:
        """The job's runs, newest first."""
        kind, ident = job_kind(job)
        if kind != "spark":
            return [parse_history(record, job) for record in self._history(kind, ident, limit=100)]
        data = self._json("GET", f"/spark/jobs/{job_segment(ident)}/all")
        items = data if isinstance(data, list) else [data]
        return [parse_status(item, job) for item in items if isinstance(item, dict)]

    def cancel(self, job: str) -> None:
        kind, ident = job_kind(job)
        if kind == "spark":
            self._request("DELETE", self._api_url(f"/spark/jobs/{job_segment(ident)}"))
        else:
            self._json("POST", f"/jobs/{resource(kind, ident)}/actions", json={"action": "abort"})

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

    def _history(self, kind: str, ident: str, *, limit: int) -> list[Any]:
        data = self._json("GET", f"/jobs/{resource(kind, ident)}/history?limit={limit}")
        return (
            [record for record in data if isinstance(record, dict)]
            if isinstance(data, list)
            else []
        )

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
        if self.auth is Auth.SESSION and not self._logged_in:
            self._login()
        response = self._send(method, url, **kwargs)
        if response.status_code == 401 and self.auth is Auth.SESSION:
            self._login()  # the session expired: log in again, once
            response = self._send(method, url, **kwargs)
        _raise_for(method, url, response)
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
        timeout = (self.timeout[0], self.read_timeout) if method == "GET" else self.timeout
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
            refused = _never_connected(error)
            what = f"cannot connect ({_reason(error)})" if refused else "the connection dropped"
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.TRANSIENT,
                what=what,
                maybe_applied=not refused,
            ) from None
        except requests.exceptions.RequestException as error:
            raise FusionError(
                method=method, url=url, kind=ErrorKind.OTHER, what=_reason(error)
            ) from None

    def _login(self) -> None:
        url = f"{self.url}/api/session"
        body = {
            "username": self._secrets["FUSION_USER"],
            "password": self._secrets["FUSION_PASSWORD"],
        }
        response = self._send("POST", url, params={"realmName": self.realm}, json=body)
        _raise_for("POST", url, response)
        self._logged_in = True


def _raise_for(method: str, url: str, response: requests.Response) -> None:
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
    raise http_error(
        method,
        url,
        status,
        response.reason,
        _fusion_message(response),
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


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )


def _reason(error: Exception) -> str:
    """The innermost readable cause, e.g. 'Connection refused'."""
    text = str(error.args[0] if error.args else error)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    return found[-1].strip() if found else _excerpt(text, 120)
