"""The seam under the client: one request out, one answer back, whatever carries them.

`runner.fusion.client.FusionClient` builds each request (URL, headers, body) and decodes each
answer; a `Transport` only carries bytes. `HttpTransport` carries them over HTTP with requests; the
emulator's in-process transport and the test suite's simulated Fusion carry them without a
network, so every test exercises the client's own decoding.

A transport hands the body over as it arrives (`Answer.chunks`), so that the client can bound an
answer by size and by time as a whole (`read_body`): a read timeout applies to each wait for
bytes, and an answer that trickles in a byte at a time would never end by it. `HttpTransport`
also enforces the whole request's deadline from a watchdog thread, which shuts the connection
down if the status line and headers trickle in as slowly.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_ANSWER = 16 * 1024 * 1024  # bytes: the largest answer read; Fusion's largest lists are far less
CHUNK = 64 * 1024


class Failure(enum.Enum):
    """Why a request got no (whole) answer."""

    NO_HOST = "no host"  # the host name does not resolve
    REFUSED = "refused"  # connection refused, no route: the request never left
    CONNECT_TIMEOUT = "connect timeout"  # no connection within the connect timeout
    DROPPED = "dropped"  # the connection broke after the request was sent: it may have applied
    READ_TIMEOUT = "read timeout"  # no byte within the read timeout
    LATE = "late"  # bytes kept coming, but the whole answer was not there by the deadline
    TOO_LARGE = "too large"  # the answer went on past MAX_ANSWER
    TLS = "tls"
    BAD_URL = "bad url"
    OTHER = "other"


class TransportError(Exception):
    """A request that got no (whole) answer: `failure` says how, `detail` in the words of the
    layer below (`Connection refused`, `certificate verify failed: ...`)."""

    def __init__(self, failure: Failure, detail: str = "") -> None:
        super().__init__(f"{failure.value}: {detail}" if detail else failure.value)
        self.failure = failure
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer whose status line and headers have arrived; its body comes in `chunks`."""

    status: int
    reason: str
    headers: Mapping[str, str]  # names in lower case
    chunks: Iterable[bytes] = ()
    cookies: Mapping[str, str] = field(default_factory=dict)  # what Set-Cookie set
    close: Callable[[], None] = lambda: None


class Transport(Protocol):
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> Answer:
        """Send the request; the answer once its headers arrived. `deadline` is the seconds the
        whole exchange may take, body included; the client checks it between chunks too."""
        ...


def read_body(
    answer: Answer, *, deadline: float, monotonic: Callable[[], float], limit: int = MAX_ANSWER
) -> bytes:
    """The whole body of `answer`, by `deadline` (a `monotonic` time) and at most `limit` bytes;
    TransportError otherwise. The connection is closed either way."""
    parts, size = [], 0
    try:
        for chunk in answer.chunks:
            size += len(chunk)
            if size > limit:
                raise TransportError(Failure.TOO_LARGE)
            parts.append(chunk)
            if monotonic() > deadline:
                raise TransportError(Failure.LATE)
    finally:
        answer.close()
    return b"".join(parts)


# --- over HTTP -----------------------------------------------------------------------------------


class HttpTransport:
    """HTTP with requests: no redirect followed, TLS verified as the plan says, the body read
    as it arrives. Cookies are the client's to keep (`Answer.cookies`), not the session's."""

    def __init__(self, *, verify: bool | str = True, session: Any = None) -> None:
        import requests  # noqa: PLC0415 - the core never imports it; --validate never needs it

        self.session = session or requests.Session()
        # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override
        # Session.verify, which would turn `verify: false` or a plan's CA bundle into a no-op.
        # Given per request, the variable still applies where the plan says true.
        self.verify = verify
        _watch_connections(self.session)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> Answer:
        self.session.cookies.clear()  # the client sends the cookies it keeps, and no others
        watch = _Watch()
        _WATCHDOG.arm(watch, time.monotonic() + deadline)
        _CURRENT.watch = watch
        try:
            response = self.session.request(
                method,
                url,
                headers=dict(headers),
                data=body,
                timeout=(connect_timeout, read_timeout),
                verify=self.verify,
                allow_redirects=False,
                stream=True,
            )
        except BaseException as error:
            _WATCHDOG.disarm(watch)
            failure = _request_failure(error, watch)
            if failure is None:  # a signal cut the request short: the caller's to handle
                raise
            raise failure from None
        finally:
            _CURRENT.watch = None
        if watch.fired:  # the shutdown ended the headers early: what came is not the answer
            _WATCHDOG.disarm(watch)
            response.close()
            raise TransportError(Failure.LATE)

        def close() -> None:
            _WATCHDOG.disarm(watch)
            response.close()

        return Answer(
            status=response.status_code,
            reason=str(response.reason or ""),
            headers={name.lower(): value for name, value in response.headers.items()},
            chunks=_chunks(response, watch),
            cookies={name: value for name, value in response.cookies.items() if value},
            close=close,
        )


def _chunks(response: Any, watch: _Watch) -> Iterator[bytes]:
    """The body as it arrives: each chunk is what one read brought (`read1`), so that the client
    sees a trickling answer chunk by chunk, not only once a whole buffer has filled."""
    import requests  # noqa: PLC0415
    import urllib3.exceptions  # noqa: PLC0415

    raw = response.raw
    if raw is None or not hasattr(raw, "read1"):  # an answer built in memory (tests' adapters)
        yield response.content
        return
    try:
        while True:
            chunk = raw.read1(CHUNK)
            if watch.fired:  # the shutdown ended the body early: what came is not all of it
                raise TransportError(Failure.LATE)
            if not chunk:
                return
            yield chunk
    except (OSError, urllib3.exceptions.HTTPError, requests.exceptions.RequestException) as error:
        if watch.fired:
            raise TransportError(Failure.LATE) from None
        if isinstance(_innermost(error), TimeoutError):
            raise TransportError(Failure.READ_TIMEOUT) from None
        raise TransportError(Failure.DROPPED) from None


# --- the watchdog: a deadline for the whole exchange, headers included ---------------------------


class _Watch:
    """The connection of the request under way, and whether its deadline passed."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread for every request's deadline: it fires each watch whose deadline passes
    (a thread per request would cost more than many a request)."""

    def __init__(self) -> None:
        self._due: dict[_Watch, float] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch, deadline: float) -> None:
        with self._changed:
            self._due[watch] = deadline
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fusion-run deadlines")
                self._thread.daemon = True
                self._thread.start()
            self._changed.notify()

    def disarm(self, watch: _Watch) -> None:
        with self._changed:
            self._due.pop(watch, None)

    def _run(self) -> None:
        while True:
            with self._changed:  # waits release the lock: an arm meanwhile wakes it
                while True:
                    now = time.monotonic()
                    late = [watch for watch, deadline in self._due.items() if deadline <= now]
                    if late:
                        break
                    self._changed.wait(timeout=min(self._due.values(), default=now + 60) - now)
                for watch in late:
                    del self._due[watch]
            for watch in late:  # outside the lock: a shutdown may take a moment
                watch.fire()


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()


def _watch_connections(session: Any) -> None:
    """Make the session's connections tell the watch of the request under way who they are.
    The pools' connection classes stay as they are (a recorder such as vcrpy replaces them)."""
    from requests.adapters import HTTPAdapter  # noqa: PLC0415
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool  # noqa: PLC0415

    class Pool(HTTPConnectionPool):
        def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
            _register(conn)
            return super()._make_request(conn, *args, **kwargs)

    class TLSPool(HTTPSConnectionPool):
        def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
            _register(conn)
            return super()._make_request(conn, *args, **kwargs)

    for prefix, adapter in list(session.adapters.items()):
        if isinstance(adapter, HTTPAdapter) and prefix in ("http://", "https://"):
            adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}


def _register(connection: Any) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None:
        watch.connection = connection
        if watch.fired:  # the deadline passed before the request went out
            watch.fire()


# --- what went wrong, in words -------------------------------------------------------------------


def _request_failure(error: BaseException, watch: _Watch) -> TransportError | None:
    """What a requests exception means; None for anything else (a signal's exception)."""
    import requests  # noqa: PLC0415
    import urllib3.exceptions  # noqa: PLC0415

    if isinstance(error, urllib3.exceptions.LocationParseError | requests.exceptions.InvalidURL):
        return TransportError(Failure.BAD_URL, reason(error))
    if isinstance(error, requests.exceptions.SSLError):
        return TransportError(Failure.TLS, reason(error))
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return TransportError(Failure.CONNECT_TIMEOUT)
    if isinstance(error, requests.exceptions.ReadTimeout):
        return TransportError(Failure.READ_TIMEOUT)
    if isinstance(error, requests.exceptions.ConnectionError):
        return TransportError(Failure.LATE) if watch.fired else _connection_failure(error)
    if isinstance(error, requests.exceptions.RequestException):
        return TransportError(Failure.OTHER, reason(error))
    return None


def _connection_failure(error: Exception) -> TransportError:
    """NO_HOST or REFUSED when the request never reached Fusion; DROPPED when it may
    have (the connection broke after it was sent)."""
    import urllib3.exceptions  # noqa: PLC0415

    cause = error.args[0] if error.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError):
        cause = cause.reason
    if isinstance(cause, urllib3.exceptions.NameResolutionError):
        return TransportError(Failure.NO_HOST, reason(error))
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        return TransportError(Failure.REFUSED, reason(error))
    return TransportError(Failure.DROPPED)


def reason(error: BaseException) -> str:
    """The innermost readable cause, e.g. 'Connection refused', 'Name or service not known' or
    'certificate verify failed: self-signed certificate'."""
    import re  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    cause = _innermost(error)
    if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
        return f"certificate verify failed: {cause.verify_message}"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    text = str(error.args[0] if error.args else error)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if found:
        return str(found[-1]).strip()
    line = " ".join(text.split())
    return line if len(line) <= 120 else line[:119] + "…"


def _innermost(error: BaseException) -> BaseException:
    """Follow requests' and urllib3's wrapping (args, .reason, __cause__) to the first cause."""
    seen = {id(error)}
    while True:
        found = getattr(error, "reason", None)
        inner = next(
            (
                each
                for each in (
                    found,
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
