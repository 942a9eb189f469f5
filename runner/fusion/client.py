"""Talking to Fusion: one class, `FusionClient`, behind the `Fusion` protocol.

The client builds every request (`runner.fusion.routes` names the endpoints) and decodes every
answer; a `runner.fusion.transport.Transport` carries the bytes (HTTP in production; the emulator or
the test suite's simulated Fusion in process). Every request has a connect timeout, a read timeout
and a deadline for the whole answer, which is read up to `MAX_ANSWER` bytes; no redirect is
followed: a redirect is an error naming where Fusion pointed, so credentials never travel to another
host and a wrong `fusion.url` is fixed once rather than paid for on every request.

Errors are one type, `FusionError`, that says what failed in Fusion's own words and classifies
it. An answer the client cannot read (not JSON, nested past `MAX_DEPTH`, the wrong shape, too
large) is a fault of Fusion's like a 500: the engine tries again, then fails with the reason.

Fusion's words are the only way a credential can come back (it echoes requests in its errors), so
they are masked as they arrive (`runner.redact`): error messages, a run's failure message and
the string values of what it reports. What identifies a run (ids, times) is read before masking,
and names and ids are never masked.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from runner import __version__
from runner.fusion import (
    CallAnswer,
    DriverLog,
    ErrorKind,
    FusionError,
    Unreached,
    http_error,
    routes,
)
from runner.fusion.auth import Credentials, refusal_hint
from runner.fusion.budget import Budget, Held
from runner.fusion.schedule import Schedule, masked, parse_schedule, with_view
from runner.fusion.status import (
    RunStatus,
    listed_newest_first,
    newest_first,
    parse_history,
    parse_job_view,
    parse_status,
)
from runner.fusion.transport import (
    MAX_ANSWER,
    Failure,
    HttpTransport,
    Transport,
    TransportError,
    read_body,
)
from runner.jobs import job_kind
from runner.plan import Auth, Call, CallKind, SparkStart
from runner.plan.calls import shown_host, shown_path
from runner.redact import Redactor
from runner.signals import RequestInterrupted

READ_TIMEOUT_OF_GET = 15.0  # seconds: status reads, lists and cancels wait no longer
MAX_DEPTH = 64  # levels of nesting in an answer; Fusion's deepest (an exception's cause) has ~8
# What names a run, a job or a moment in an answer: read by programs (`expect`, identity), and
# never masked. Every other string of an answer may be Fusion's words quoting a request.
NAMES = frozenset(
    {"jobId", "jobRunId", "jobConfigId", "runId", "id", "resource", "type", "datasourceId"}
    | {"state", "status", "startTime", "endTime", "lastStartTime", "lastEndTime", "startedBy"}
)
NAME_SHAPE = re.compile(r"[\w.:@/+-]{1,256}")  # an id, a state, a time: no words, no spaces
TEXT = {"Accept": "text/plain"}  # what the driver log endpoint serves
QUOTED = 64 * 1024  # characters of an answer masked before the start of it is quoted


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole answer, read."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


class Unreadable(ValueError):
    """An answer that is not what the API says it is."""


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
        session: Any = None,
        transport: Transport | None = None,
        redact: Redactor | None = None,
        log: Callable[[str], None] | None = None,
        guard: Callable[[str], AbstractContextManager[None]] = lambda _: nullcontext(),
        spark_start: SparkStart = SparkStart.SPARK_API,
        monotonic: Callable[[], float] = time.monotonic,
        budget: Budget | None = None,
        hooks: Transport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api = api
        self.realm = realm
        self.timeout = (connect_timeout, read_timeout)
        # A status read is worth nothing late: it gives up sooner, and the engine reads again. So
        # does a cancel, sent again until Fusion shows the run ended: one that hangs must not
        # hold up the others for the whole read timeout.
        self.read_timeout = min(read_timeout, READ_TIMEOUT_OF_GET)
        self.guard = guard  # around each request: lets a signal cut it short
        self.log = log  # one line per request: method, URL, status, time; never headers or bodies
        self.transport = transport or HttpTransport(verify=verify, session=session)
        self.monotonic = monotonic
        self.headers = {"User-Agent": f"fusion-run/{__version__}", "Accept": "application/json"}
        self.redact = redact or Redactor.from_environ(environ)
        self.credentials = Credentials(
            auth,
            environ,
            url=self.url,
            realm=realm,
            monotonic=monotonic,
            obtained=self.redact.add,  # tokens and sessions Fusion hands out are masked too
        )
        self.auth = self.credentials.auth
        self.spark_start = spark_start
        self.upper_case_actions = False  # Fusion refused "start": it wants the spec's "START"
        self.budget = budget  # every request waits its turn there (`runner.fusion.budget`)
        self.urgent = False  # the request under way is a cancel
        # Webhooks go to other hosts: verified by the system's CAs, never with Fusion's
        # credentials, and outside Fusion's request budget
        self.hooks = hooks or HttpTransport()

    # --- jobs: Spark jobs through /spark, datasource and task jobs through /jobs ------------------

    def start(self, job: str) -> RunStatus:
        """Start a run. A Jobs API start answers with no run id: the run shows in the job's
        status and history. So does a Spark start whose answer cannot be read: Fusion took the
        start (2xx), and its run is found as a Jobs API run is. A refusal (409, or
        `accepted: false`) is a FusionError that says `refused`: a run is active already."""
        kind, ident = job_kind(job)
        if kind == "spark" and self.spark_start is SparkStart.SPARK_API:
            method, path = routes.start(job)
            url = self._api_url(path)
            reply = self._request(method, url)
            try:
                answer = _decode(reply.body)
                _refused(method, url, answer, "start", self.redact)
                status = self._status(parse_status(answer, job))
            except Unreadable:
                status = RunStatus(job=job, run_id=None, state="starting")
            if not status.named:  # no id, no start time: it names no run, though Fusion took it
                return RunStatus(job=job, run_id=None, state="starting", raw=status.raw)
            return status
        answer = self._action(kind, ident, "start")
        return RunStatus(job=job, run_id=None, state="starting", raw=self._words(answer))

    def status(self, job: str) -> RunStatus:
        """The job's latest run: a Spark job's status, or the Jobs API's view of the job. A job
        that never ran may answer 404 (undocumented): that is no run, not a missing job."""
        method, path = routes.status(job)
        parse = parse_status if job_kind(job)[0] == "spark" else parse_job_view
        try:
            return self._status(self._parsed(method, path, lambda data: parse(data, job)))
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return RunStatus(job=job, run_id=None, state="idle")
            raise

    def runs(self, job: str) -> list[RunStatus]:
        """The job's runs, newest first by start time, whatever order Fusion sent them in.

        A Spark job's newest `ALL_LIMIT` are asked for. An answer of exactly that many that
        Fusion did not list newest first may be its oldest (`limit` is undocumented there), so
        the whole list is read instead: an old run is never taken for the job's latest. (More
        than that many: Fusion ignored `limit`, and the answer is whole.)"""
        spark = job_kind(job)[0] == "spark"
        cut: list[bool] = []

        def parse(data: Any) -> list[RunStatus]:
            if isinstance(data, dict) and spark:  # one run, not in a list
                data = [data]
            if not isinstance(data, list):
                raise ValueError(f"expected a JSON list of runs, got {type(data).__name__}")
            read = parse_status if spark else parse_history
            listed = [read(item, job) for item in data if isinstance(item, dict)]
            if not all(run.named for run in listed):  # then no run could be told for new
                raise ValueError("a run in the list has neither an id nor a readable start time")
            cut.append(len(data) == routes.ALL_LIMIT and not listed_newest_first(listed))
            return newest_first(listed)

        try:
            found = self._parsed(*routes.runs(job), parse)
            if spark and cut[-1]:
                found = self._parsed(*routes.runs(job, whole=True), parse)
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return []
            raise
        return [self._status(run) for run in found]

    def cancel(self, job: str) -> None:
        """Cancel the job's run: it goes even while Fusion asked for quiet (`Budget.wait`)."""
        kind, ident = job_kind(job)
        self.urgent = True
        try:
            if kind == "spark":
                method, path = routes.cancel(job)
                self._request(method, self._api_url(path))
            else:
                self._action(kind, ident, "abort")
        finally:
            self.urgent = False

    def configuration(self, job: str) -> dict[str, Any] | None:
        """The job's configuration (or Jobs API view), or None when Fusion has no such job."""
        method, path = routes.configuration(job)
        try:
            data = self._parsed(method, path, lambda data: data)
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return self._words(data) if isinstance(data, dict) else {}

    def driver_log(self, job: str, run_id: str | None, rows: int) -> DriverLog:
        """The last `rows` lines of a Spark run's driver log, masked. Asked by the run's id, then
        (when that answers 404, or there is none) by the job configuration's: Fusion's own
        sources disagree on which the endpoint takes. A 404 to both, or any other error, is a
        FusionError; nothing is tried again."""
        kind, ident = job_kind(job)
        if kind != "spark":
            raise ValueError(f"{job}: only a Spark job has a driver log")
        if run_id and run_id != ident:
            try:
                return self._driver_log(run_id, rows, by_run=True)
            except FusionError as error:
                if error.kind is not ErrorKind.NOT_FOUND:
                    raise
        return self._driver_log(ident, rows, by_run=False)

    def _driver_log(self, name: str, rows: int, *, by_run: bool) -> DriverLog:
        """The driver log by `name`: decoded (a byte that is not UTF-8 reads as U+FFFD), masked
        whole before it is cut into lines (so no cut leaves part of a secret), its last `rows`."""
        method, path = routes.driver_log(name, rows)
        reply = self._request(method, self._api_url(path), headers=TEXT)
        lines = self.redact.mask(reply.body.decode("utf-8", "replace")).splitlines()
        return DriverLog(lines=tuple(lines[max(0, len(lines) - rows) :]), by_run=by_run)

    def schedule(self, job: str) -> Schedule | None:
        """Fusion's own schedule of the job, or None when it has none (404). Only when it has an
        enabled cron or interval trigger is the job's view read too, for its next start (a view
        that answers 404 gives none). Nothing is changed: both are GETs."""
        method, path = routes.schedule(job)
        try:
            schedule = masked(self._parsed(method, path, parse_schedule), self.redact.mask)
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        if not schedule.timed:
            return schedule
        method, path = routes.view(job)
        try:
            return with_view(schedule, self._parsed(method, path, lambda data: data))
        except FusionError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return schedule
            raise

    def _action(self, kind: str, ident: str, action: str) -> dict[str, Any]:
        """POST a Jobs API action. The docs send it in lower case, the spec's enum is upper case:
        a 400 or 422 to the one makes fusion-run send the other, from then on. An answer that
        cannot be read is taken as it came: a 2xx, the action taken."""
        method, path = routes.action(kind, ident)
        url = self._api_url(path)
        try:
            reply = self._request(method, url, json_body={"action": self._spelling(action)})
        except FusionError as error:
            if error.status not in (400, 422) or self.upper_case_actions:
                raise
            self.upper_case_actions = True
            reply = self._request(method, url, json_body={"action": self._spelling(action)})
        try:
            answer = _decode(reply.body)
        except Unreadable:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        _refused(method, url, answer, action, self.redact)
        return answer

    def _spelling(self, action: str) -> str:
        return action.upper() if self.upper_case_actions else action

    # --- requests and webhooks a plan writes ------------------------------------------------------

    def call(self, call: Call) -> CallAnswer:
        """Send a `request:` step's request to Fusion (with its credentials, within its budget)
        or a `webhook:` step's post to its URL (with only the plan's headers). Any answer is
        returned to be judged, but refused credentials and a redirect: FusionError, as for every
        request to Fusion. Errors name the path or the webhook's host, never a query."""
        if call.kind is CallKind.WEBHOOK:
            return self._post_hook(call)
        url = f"{self.url}{call.target}"
        if call.params:
            url += ("&" if "?" in url else "?") + urlencode(call.params)
        named = f"{self.url}{shown_path(call.target)}"
        body = None if call.body is None else json.loads(call.body)
        self.credentials.before(self._checked)
        reply = self._send(call.method, url, json_body=body, named=named)
        if reply.status == 401 and self.credentials.renewable:
            self.credentials.renew(self._checked)
            reply = self._send(call.method, url, json_body=body, named=named)
        if reply.status in (401, 403) or 300 <= reply.status < 400:
            self._raise_for(call.method, named, reply)
        return self._answered(reply)

    def _post_hook(self, call: Call) -> CallAnswer:
        named = f"https://{shown_host(call.target)}"
        sent = {**self.headers, "Content-Type": "application/json", **dict(call.headers)}
        deadline = self.timeout[0] + 2 * self.timeout[1]
        try:
            with self.guard("POST"):
                ends = self.monotonic() + deadline
                answer = self.hooks.send(
                    "POST",
                    call.target,
                    headers=sent,
                    body=(call.body or "{}").encode(),
                    connect_timeout=self.timeout[0],
                    read_timeout=self.timeout[1],
                    deadline=deadline,
                )
                data = read_body(answer, deadline=ends, monotonic=self.monotonic)
        except RequestInterrupted:
            raise _interrupted("POST", named, maybe_applied=True) from None
        except TransportError as error:
            raise _failure("POST", named, error, read=self.timeout[1], deadline=deadline) from None
        if self.log:
            self.log(f"POST {named} (webhook): {answer.status}")
        reply = Reply(answer.status, self.redact.mask(answer.reason), answer.headers, data)
        return self._answered(reply)

    def _answered(self, reply: Reply) -> CallAnswer:
        """`reply` as a step judges it: JSON if it is JSON, else its text; masked."""
        try:
            body: Any = self._words(_decode(reply.body, self.redact.mask)) if reply.body else None
        except Unreadable:
            body = self.redact.mask(reply.body[:QUOTED].decode("utf-8", "replace"))
        return CallAnswer(
            status=reply.status,
            reason=reply.reason,
            headers={k.lower(): self.redact.mask(v) for k, v in reply.headers.items()},
            body=body,
        )

    # --- answers ----------------------------------------------------------------------------------

    def _parsed(self, method: str, path: str, parse: Callable[[Any], Any]) -> Any:
        """The answer to `method path`, parsed; FusionError if it cannot be read."""
        url = self._api_url(path)
        reply = self._request(method, url)
        try:
            return parse(_decode(reply.body, self.redact.mask))
        except ValueError as error:  # Unreadable, or a parser's complaint about a shape
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.TRANSIENT,
                status=reply.status,
                what=f"Fusion's answer cannot be read: {self.redact.mask(str(error))}",
                unreadable=True,
            ) from None

    def _status(self, status: RunStatus) -> RunStatus:
        """`status` with Fusion's words masked; its ids and times were read before."""
        if not self.redact.active:
            return status
        message = None if status.message is None else self.redact.mask(status.message)
        return replace(status, message=message, raw=self._words(status.raw))

    def _words(self, data: Any, key: str | None = None) -> Any:
        """`data` with Fusion's words masked: every string but those that name a run, a job or
        a moment (`NAMES`: ids, states, times), which programs read. Keys stay as they are."""
        if not self.redact.active:
            return data
        if isinstance(data, dict):
            return {name: self._words(value, name) for name, value in data.items()}
        if isinstance(data, list):
            return [self._words(item, key) for item in data]
        if isinstance(data, str) and not (key in NAMES and NAME_SHAPE.fullmatch(data)):
            return self.redact.mask(data)
        return data

    # --- HTTP -------------------------------------------------------------------------------------

    def _api_url(self, path: str) -> str:
        return f"{self.url}{self.api}{path}"

    def _request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        self.credentials.before(self._checked)
        reply = self._send(method, url, json_body=json_body, params=params, headers=headers)
        if reply.status == 401 and self.credentials.renewable:
            self.credentials.renew(self._checked)  # a session timed out, a token expired: once
            reply = self._send(method, url, json_body=json_body, params=params, headers=headers)
        self._raise_for(method, url, reply)
        return reply

    def _checked(self, method: str, url: str, **kwargs: Any) -> Reply:
        """One request with no renewal of credentials (the credentials' own); FusionError on an
        error answer."""
        reply = self._send(method, url, **kwargs)
        self._raise_for(method, url, reply)
        return reply

    def _send(self, method: str, url: str, named: str | None = None, **kwargs: Any) -> Reply:
        """One exchange, logged; `named` is what errors and the log call `url` (a request a plan
        writes: its URL without the query, whose values a variable may have given)."""
        self._wait_turn(method, named or url)
        if not self.log:
            return self._exchange(method, url, named=named, **kwargs)
        began = time.monotonic()
        try:
            reply = self._exchange(method, url, named=named, **kwargs)
        except FusionError as error:
            self.log(f"{error} ({(time.monotonic() - began) * 1000:.0f} ms)")
            raise
        took = (time.monotonic() - began) * 1000
        self.log(f"{method} {named or url}: {reply.status} {reply.reason} ({took:.0f} ms)")
        return reply

    def _wait_turn(self, method: str, url: str) -> None:
        """Wait until the request budget lets one more request go, or raise a FusionError
        (`held`) while Fusion asks for quiet. Nothing has been sent yet, so a signal cuts the
        wait short whatever the request, as it would a status read: a start waiting its turn
        does not keep Ctrl-C waiting, and is known not to have gone."""
        if self.budget is None:
            return
        try:
            with self.guard("GET"):
                self.budget.wait(urgent=self.urgent)
        except RequestInterrupted:
            raise _interrupted(method, url, maybe_applied=False) from None
        except Held as held:
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.TRANSIENT,
                what=f"not sent: Fusion asked for quiet (Retry-After), {held.remaining:.0f}s more",
                retry_after=held.remaining,
                held=True,
            ) from None

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        named: str | None = None,
    ) -> Reply:
        sent = {**self.headers, **self.credentials.headers(), **(headers or {})}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        address = f"{url}?{urlencode(params)}" if params else url
        read = self.read_timeout if method in ("GET", "DELETE") else self.timeout[1]
        deadline = self.timeout[0] + 2 * read  # the whole exchange, however the bytes trickle
        try:
            with self.guard(method):
                ends = self.monotonic() + deadline
                answer = self.transport.send(
                    method,
                    address,
                    headers=sent,
                    body=body,
                    connect_timeout=self.timeout[0],
                    read_timeout=read,
                    deadline=deadline,
                )
                data = read_body(answer, deadline=ends, monotonic=self.monotonic)
        except RequestInterrupted:
            raise _interrupted(method, named or url, maybe_applied=method != "GET") from None
        except TransportError as error:
            raise _failure(method, named or url, error, read=read, deadline=deadline) from None
        self.credentials.keep(answer.cookies)
        return Reply(
            status=answer.status,
            reason=self.redact.mask(answer.reason),
            headers=answer.headers,
            body=data,
        )

    def _raise_for(self, method: str, url: str, reply: Reply) -> None:
        status = reply.status
        if 300 <= status < 400:
            where = reply.headers.get("location", "somewhere unnamed")
            raise FusionError(
                method=method,
                url=url,
                kind=ErrorKind.OTHER,
                status=status,
                what=f"{status} {reply.reason}: Fusion redirects to {self.redact.mask(where)}; "
                "fusion-run follows no redirect, so set fusion.url (or --url) to Fusion's address",
            )
        if status < 400:
            return
        retry_after = _retry_after(reply.headers.get("retry-after"), time.time())
        if self.budget is not None and retry_after is not None and status in (429, 503):
            self.budget.hold(retry_after)  # Fusion asks every request to wait, not this one
        message = _fusion_message(reply.body, self.redact.mask)
        if status == 401:
            message = (message + "; " if message else "") + refusal_hint(self.auth, self.realm)
        raise http_error(
            method,
            url,
            status,
            reply.reason,
            message,
            retry_after=retry_after,
        )


def _failure(
    method: str, url: str, error: TransportError, *, read: float, deadline: float
) -> FusionError:
    """The FusionError for a request that got no (whole) answer."""
    failure, detail = error.failure, error.detail
    kind, applied, unreached = ErrorKind.TRANSIENT, True, None
    if failure is Failure.NO_HOST:
        what, applied, unreached = f"cannot connect ({detail})", False, Unreached.NO_HOST
    elif failure is Failure.REFUSED:
        what, applied, unreached = f"cannot connect ({detail})", False, Unreached.NO_ANSWER
    elif failure is Failure.CONNECT_TIMEOUT:
        what, applied, unreached = "no connection in time", False, Unreached.NO_ANSWER
    elif failure is Failure.DROPPED:
        what = "the connection dropped"
    elif failure is Failure.READ_TIMEOUT:
        what = f"no answer within {read:g}s"
    elif failure is Failure.LATE:
        what = f"no whole answer within {deadline:g}s"
    elif failure is Failure.TOO_LARGE:
        what = f"Fusion's answer cannot be read: larger than {MAX_ANSWER // 2**20} MiB"
    elif failure is Failure.TLS:
        kind, applied = ErrorKind.OTHER, False
        what = f"TLS failed ({detail}): set fusion.verify to a CA bundle path"
    elif failure is Failure.BAD_URL:
        # Validation refuses such a URL; should one get through, it is still no crash.
        kind, applied = ErrorKind.OTHER, False
        what = f"the URL cannot be used ({detail}): check fusion.url, --url or FUSION_URL"
    else:
        kind, applied, what = ErrorKind.OTHER, False, detail
    return FusionError(
        method=method,
        url=url,
        kind=kind,
        what=what,
        maybe_applied=applied,
        unreached=unreached,
        unreadable=failure is Failure.TOO_LARGE,
    )


def _decode(body: bytes, mask: Callable[[str], str] = str) -> Any:
    """JSON, at most MAX_DEPTH deep; a number that is not finite reads as null (Jackson never
    writes one, and a report cannot hold one). Unreadable otherwise, quoting the start of the
    answer, masked."""
    try:
        data = json.loads(body, parse_constant=lambda _: None, parse_float=_finite)
    except RecursionError:
        raise Unreadable(f"nested more than {MAX_DEPTH} deep") from None
    except ValueError:  # UnicodeDecodeError and too many digits too
        raise Unreadable(f"not JSON: {_quote(body, mask)!r}") from None
    if _too_deep(data):
        raise Unreadable(f"nested more than {MAX_DEPTH} deep")
    if _LONE_ESCAPE.search(body):  # "\ud800": valid JSON, and no character a file can hold
        data = _whole(data)
    return data


_LONE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole(value: Any) -> Any:
    """`value` with each surrogate that JSON escaped alone (a message cut inside an emoji)
    replaced by U+FFFD: written as UTF-8, in a report, it would fail."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_whole(key): _whole(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole(item) for item in value]
    return value


def _finite(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _too_deep(data: Any) -> bool:
    level: list[Any] = [data]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def _fusion_message(body: bytes, mask: Callable[[str], str]) -> str | None:
    """Fusion's own words from an error body: `message`, else `error`, `details`; else the text.
    Masked before they are put on one line: a secret with runs of spaces stays whole."""
    try:
        data = _decode(body, mask)
    except Unreadable:
        return _quote(body, mask) or None
    if isinstance(data, dict):
        for key in ("message", "error", "details"):
            if isinstance(data.get(key), str) and data[key].strip():
                return _excerpt(mask(data[key]))
    return None


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header: a number of seconds, or an HTTP date (RFC 9110), from
    `now` (seconds since the epoch; a date past is no wait). None when it is neither."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            seconds = max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return seconds if 0 <= seconds < math.inf else None


def _quote(body: bytes, mask: Callable[[str], str]) -> str:
    """The start of an answer, on one line, masked before it is cut: a secret across the cut
    would otherwise leave its beginning in view."""
    return _excerpt(mask(body[:QUOTED].decode("utf-8", "replace")))


def _excerpt(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _refused(method: str, url: str, answer: Any, action: str, redact: Redactor) -> None:
    """FusionError (`refused` for a start) if `answer` says `accepted: false`: the Jobs API's
    refusal, and taken as one from the Spark API too, which documents no such answer."""
    if isinstance(answer, dict) and answer.get("accepted") is False:
        raise FusionError(
            method=method,
            url=url,
            kind=ErrorKind.OTHER,
            what=f"Fusion did not accept the {action}: "
            + redact.mask(str(answer.get("message") or "it gave no reason")),
            refused=action == "start",
        )


def _interrupted(method: str, url: str, *, maybe_applied: bool) -> FusionError:
    """A request given up on a signal: `maybe_applied` if it may have reached Fusion."""
    return FusionError(
        method=method,
        url=url,
        kind=ErrorKind.INTERRUPTED,
        what="given up: fusion-run was interrupted",
        maybe_applied=maybe_applied,
    )
