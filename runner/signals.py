"""SIGINT and SIGTERM, turned into a cancellation that the engine carries out, promptly.

A signal is counted and wakes the clock, so the engine acts on it at once. If it arrives while
the engine waits on Fusion, the request is given up rather than waited for: a status read at the
first signal (the cancels must go out now), any request at the second (fusion-run must stop now).
A start is never given up at the first signal: its answer names the run that must be cancelled.

Once interrupted, fusion-run ignores further signals while it finishes, so that a burst of them
still ends with exit code 130 and a report on disk, not with the signal's default death.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from runner.clock import WakingClock

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_DEFAULTS = (signal.SIG_DFL, signal.default_int_handler)


class RequestInterrupted(Exception):
    """Raised out of a request that a signal cut short."""


class Interrupts:
    """Counts the signals; cuts short the request under way when the signal calls for it."""

    def __init__(self, clock: WakingClock) -> None:
        self.count = 0
        self.clock = clock
        self._request: str | None = None  # the method of the request under way

    def __call__(self) -> int:
        return self.count

    def receive(self, _signal: int, _frame: FrameType | None) -> None:
        self.count += 1
        self.clock.wake()
        method = self._request
        if method is not None and (method == "GET" or self.count > 1):
            self._request = None
            raise RequestInterrupted

    @contextmanager
    def request(self, method: str) -> Iterator[None]:
        """Around one request to Fusion: a signal may cut it short (see the module). After a
        second signal no request begins: one that came between requests must not be waited on."""
        if self.count > 1:
            raise RequestInterrupted
        self._request = method
        try:
            yield
        finally:
            self._request = None


@contextmanager
def catching_signals(clock: WakingClock) -> Iterator[Interrupts]:
    interrupts = Interrupts(clock)
    previous = {sig: signal.signal(sig, interrupts.receive) for sig in SIGNALS}
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            interrupted = interrupts.count > 0 and handler in _DEFAULTS
            signal.signal(sig, signal.SIG_IGN if interrupted else handler)
