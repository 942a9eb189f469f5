"""The real clock's wake, as a signal handler calls it: it ends the sleep under way, or the next
one, and takes no lock."""

from __future__ import annotations

import threading
import time

from runner.clock import SystemClock


def test_a_wake_ends_the_sleep_under_way_or_the_next_one_and_takes_no_lock() -> None:
    """A signal handler wakes the clock between any two bytecodes of the main thread: a wake
    that took a lock the sleep held would deadlock (a burst of SIGTERMs once did)."""
    clock = SystemClock()
    clock.wake()
    began = time.monotonic()
    clock.sleep(5)  # the wake came first: no wait
    clock.sleep(0)
    assert time.monotonic() - began < 1
    timer = threading.Timer(0.2, clock.wake)
    timer.start()
    began = time.monotonic()
    clock.sleep(5)
    assert 0.1 < time.monotonic() - began < 2
    timer.join()
    began = time.monotonic()
    clock.sleep(0.3)  # no wake pending: a whole sleep
    assert time.monotonic() - began >= 0.29
