"""Which request a signal cuts short: a status read at the first, any request at the second,
and after a second signal no request begins at all."""

from __future__ import annotations

import threading
import time

import pytest

from runner.clock import SystemClock
from runner.signals import Interrupts, RequestInterrupted
from tests.helpers.fakes import FakeClock


def _interrupts(count: int) -> Interrupts:
    interrupts = Interrupts(FakeClock())
    for _ in range(count):
        interrupts.receive(2, None)
    return interrupts


@pytest.mark.parametrize(("method", "cut"), [("GET", True), ("POST", False), ("DELETE", False)])
def test_the_first_signal_cuts_short_only_a_status_read(method: str, *, cut: bool) -> None:
    interrupts = _interrupts(0)
    with interrupts.request(method):
        if cut:
            with pytest.raises(RequestInterrupted):
                interrupts.receive(2, None)
        else:
            interrupts.receive(2, None)
    assert interrupts() == 1


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_second_signal_cuts_short_any_request(method: str) -> None:
    interrupts = _interrupts(1)
    with interrupts.request(method), pytest.raises(RequestInterrupted):
        interrupts.receive(2, None)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_no_request_begins_after_a_second_signal_that_came_between_requests(method: str) -> None:
    interrupts = _interrupts(2)  # e.g. while the cancel's record was being written
    with pytest.raises(RequestInterrupted), interrupts.request(method):
        pytest.fail("the request was sent")


def test_each_signal_wakes_the_clock() -> None:
    """So that a run asleep until its next read acts on the signal at once."""
    clock = FakeClock()
    interrupts = Interrupts(clock)
    interrupts.receive(2, None)
    with interrupts.request("GET"), pytest.raises(RequestInterrupted):
        interrupts.receive(15, None)
    assert clock.woken == 2


def test_a_signal_between_requests_cuts_nothing() -> None:
    interrupts = _interrupts(0)
    interrupts.receive(2, None)
    interrupts.receive(2, None)  # no request under way: counted, nothing raised
    assert interrupts() == 2


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
