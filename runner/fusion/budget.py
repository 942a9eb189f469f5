"""The request budget: at most so many requests a second to Fusion, every step's together.

Fusion's API gateway also serves its search UI, and a plan of hundreds of runs read at once, or a
loop of retries against a Fusion that answers 429, must not be what brings it down. So every
request the client sends waits here first, on the clock fusion-run runs on: no more than `rate`
in any second (a sliding window, so a burst of `rate` goes at once), and none but a cancel while
a Retry-After that Fusion sent with a 429 or a 503 runs (at least `RETRY_AFTER_AT_LEAST`: a
`Retry-After: 0` from a Fusion that is overloaded would otherwise be no wait at all; at most
`RETRY_AFTER_AT_MOST`). A request that meets the hold is not sent (`Held`): the engine takes it up
again when the hold ends, keeping its deadlines meanwhile, and a cancel, the one request that
lightens Fusion's load, still goes. Which request goes first is the engine's to say: it acts on
due steps soonest-due first, so a start is never starved by reads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

RETRY_AFTER_AT_LEAST = 1.0  # seconds: the shortest wait a Retry-After holds every request for
RETRY_AFTER_AT_MOST = 300.0  # seconds: a longer Retry-After holds them this long
WINDOW = 1.0  # seconds: `rate` requests at most in any window this long


class Held(Exception):
    """A request not sent: Fusion asked for quiet, `remaining` seconds more."""

    def __init__(self, remaining: float) -> None:
        super().__init__(remaining)
        self.remaining = remaining


class Budget:
    def __init__(
        self, rate: int, *, monotonic: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.sent: deque[float] = deque(maxlen=rate)  # when the last `rate` requests went
        self.held_until = -float("inf")  # a Retry-After holds every request until then

    def wait(self, *, urgent: bool = False) -> None:
        """Return when one more request may go; it counts as sent then. While a Retry-After
        holds, raise Held rather than wait it out, so that the engine goes on keeping its
        deadlines (a timeout, the plan's) and takes the request up when the hold ends; an
        `urgent` request (a cancel) goes at once, within the rate."""
        while True:
            now = self.monotonic()
            if not urgent and now < self.held_until:
                raise Held(self.held_until - now)
            if len(self.sent) < self.rate or now >= self.sent[0] + WINDOW:
                break
            self.sleep(self.sent[0] + WINDOW - now)
        self.sent.append(now)

    def hold(self, retry_after: float) -> None:
        """Fusion asked for `retry_after` seconds of quiet: no request but a cancel goes until
        they pass (at least RETRY_AFTER_AT_LEAST, at most RETRY_AFTER_AT_MOST)."""
        quiet = min(max(retry_after, RETRY_AFTER_AT_LEAST), RETRY_AFTER_AT_MOST)
        self.held_until = max(self.held_until, self.monotonic() + quiet)
