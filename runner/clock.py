"""Time as an input: the engine asks a Clock, so tests run hours of polling in milliseconds."""

from __future__ import annotations

import contextlib
import os
import select
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> datetime: ...  # UTC, for reports
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock. `wake()` ends the current sleep early, or the next one at once.

    A signal handler calls `wake()`, and runs in the main thread between any two of its
    bytecodes, so `wake()` takes no lock: a lock (a threading.Event's) that the interrupted main
    thread held while it began to sleep would never be released, and a burst of SIGTERMs once
    deadlocked fusion-run that way. It writes a byte to a pipe that the sleep waits on instead.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            select.select([self._read], [], [], seconds)
        with contextlib.suppress(BlockingIOError):  # the wakes that came are spent
            while os.read(self._read, 512):
                pass

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # the pipe is full: a wake is pending anyway
            os.write(self._write, b"!")

    def __del__(self) -> None:
        for descriptor in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(descriptor)
