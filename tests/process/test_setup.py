"""A Fusion that takes connections and never answers, or hangs up at once, on the real clock and
real sockets: fusion-run gives it the first-contact window, not the retry budget."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from runner.clock import SystemClock
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan


@contextlib.contextmanager
def silent_server(*, close: bool) -> Iterator[str]:
    """A port that accepts connections and then never answers (or, `close`, hangs up at once,
    as a TLS port does to plain HTTP)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            if close:
                connection.close()
            else:
                held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.mark.parametrize(
    ("close", "error"),
    [(False, "no answer within 1s"), (True, "the connection dropped")],
    ids=["never-answers", "hangs-up"],
)
def test_a_fusion_that_takes_connections_but_never_answers_gets_the_first_contact_window(
    write_plan: WritePlan, close: bool, error: str
) -> None:
    plan = write_plan(
        "version: 1\nfusion:\n  auth: none\n  first_contact: 2s\n  read_timeout: 1s\n"
        "steps: [crawl]\n"
    )
    with silent_server(close=close) as url:
        began = time.monotonic()
        result = invoke(plan, "--url", url, clock=SystemClock())
        took = time.monotonic() - began
    assert result.exit_code == 3
    assert took < 5  # the first-contact window (and one request's timeout), not the budget
    last = result.stderr.splitlines()[-1]
    head, _, tail = last.partition(" did not answer for ")
    seconds, _, rest = tail.partition("s (last error: ")
    assert head == f"fusion-run: Fusion at {url}"
    assert seconds in ("2", "3")  # the window, or a second over when a try straddles its end
    assert rest == (
        f"GET {url}/api/spark/configurations/crawl: {error}): check that Fusion is up there, "
        "and fusion.url, --url or FUSION_URL (fusion.first_contact sets how long to try)"
    )
