"""Time as an input: the engine asks a Clock, so tests run hours of polling in milliseconds; and
times as Fusion and the report write them, read with `parse_time`."""

from __future__ import annotations

import contextlib
import os
import re
import select
import time
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> datetime: ...  # UTC, for reports
    def sleep(self, seconds: float) -> None: ...


class WakingClock(Clock, Protocol):
    """A clock whose sleep a signal can end early (`runner.signals`): `wake()` ends the sleep
    under way, or the next one at once. A command takes one, and builds a `SystemClock` when it
    is given none."""

    def wake(self) -> None: ...


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


_FRACTION = re.compile(r"\.(\d+)")


def format_time(value: datetime) -> str:
    """A time as the report and every message write it: UTC, to the millisecond, with `Z`.

    >>> format_time(datetime(2026, 1, 1, 3, 0, 5, 123456, tzinfo=UTC))
    '2026-01-01T03:00:05.123Z'
    """
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (any fraction, `Z` or offset) or epoch milliseconds, as an aware UTC datetime;
    None for anything else, a time no calendar holds included."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, ValueError, OSError):  # NaN, infinite, millions of years off
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python reads at most 6 fraction digits; Fusion sends up to 9.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:00-05:00 is past the calendar's end
        return None
