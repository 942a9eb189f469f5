"""Which request a signal cuts short: a status read at the first, any request at the second,
and after a second signal no request begins at all."""

from __future__ import annotations

import pytest

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
