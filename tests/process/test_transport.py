"""The client over real sockets, against answers that never end: a body or headers that trickle in
a byte at a time (each byte inside the read timeout), and a body that never stops. Every request
ends by its deadline, and reads a bounded answer."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from runner.fusion import ErrorKind, FusionError
from runner.fusion.client import FusionClient
from runner.fusion.transport import MAX_ANSWER

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@contextmanager
def serving(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection-at-a-time server on 127.0.0.1 that gives each request `answer`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    done = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                with contextlib.suppress(OSError):  # the client hung up: as it should
                    answer(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join()
        listener.close()


def trickle(data: bytes, every: float, stop: threading.Event) -> Callable[[socket.socket], None]:
    def answer(connection: socket.socket) -> None:
        for index in range(len(data)):
            if stop.is_set():
                return
            connection.sendall(data[index : index + 1])
            time.sleep(every)

    return answer


def timed_status(url: str, **settings: float) -> tuple[FusionError, float]:
    began = time.monotonic()
    with pytest.raises(FusionError) as caught:
        FusionClient(url=url, **settings).status("j")  # type: ignore[arg-type]
    return caught.value, time.monotonic() - began


def test_a_body_that_trickles_in_ends_by_the_deadline() -> None:
    stop = threading.Event()
    body = b'{"state": "running"' + b" " * 10_000 + b"}"
    head = HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode()
    slow = trickle(body, 0.05, stop)

    def answer(connection: socket.socket) -> None:
        connection.sendall(head)
        slow(connection)

    with serving(answer) as url:
        error, took = timed_status(url, connect_timeout=0.5, read_timeout=0.5)
        stop.set()
    # each byte came well within the read timeout; the whole answer had 0.5 + 2 x 0.5 s
    assert str(error) == f"GET {url}/api/spark/jobs/j: no whole answer within 1.5s"
    assert (error.kind, error.maybe_applied) == (ErrorKind.TRANSIENT, True)
    assert 1.5 <= took < 3.0


def test_headers_that_trickle_in_end_by_the_deadline() -> None:
    stop = threading.Event()
    with serving(trickle(HEAD + b"X-Slow: " + b"a" * 60_000, 0.05, stop)) as url:
        error, took = timed_status(url, connect_timeout=0.5, read_timeout=0.5)
        stop.set()
    assert str(error) == f"GET {url}/api/spark/jobs/j: no whole answer within 1.5s"
    assert 1.5 <= took < 3.0


def test_a_body_that_never_ends_is_read_no_further_than_the_limit() -> None:
    def endless(connection: socket.socket) -> None:
        connection.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"[" * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while True:
            connection.sendall(frame)

    with serving(endless) as url:
        tracemalloc.start()
        try:
            error, _ = timed_status(url, read_timeout=5)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert str(error) == (
        f"GET {url}/api/spark/jobs/j: Fusion's answer cannot be read: larger than 16 MiB"
    )
    assert error.unreadable
    assert peak < 3 * MAX_ANSWER, peak
