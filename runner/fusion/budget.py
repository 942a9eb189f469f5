"""The request budget: at most so many requests a second to Fusion, every step's together.

Fusion's API gateway also serves its search UI, and a plan of hundreds of runs read at once, or a
loop of retries against a Fusion that answers 429, must not be what brings it down. So every
request the client sends waits here first, on the clock fusion-run runs on: no more than `rate`
in any second (a sliding window, so a burst of `rate` goes at once), and none while a Retry-After
that Fusion sent with a 429 or a 503 runs (at least `RETRY_AFTER_AT_LEAST`: a `Retry-After: 0`
from a Fusion that is overloaded would otherwise be no wait at all). Which request goes first is
the engine's to say: it acts on due steps soonest-due first, so a start is never starved by reads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

RETRY_AFTER_AT_LEAST = 1.0  # seconds: the shortest wait a Retry-After holds every request for
WINDOW = 1.0  # seconds: `rate` requests at most in any window this long


class Budget:
    def __init__(
        self, rate: int, *, monotonic: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.sent: deque[float] = deque(maxlen=rate)  # when the last `rate` requests went
        self.held_until = -float("inf")  # a Retry-After holds every request until then

    def wait(self) -> None:
        """Return when one more request may go; it counts as sent then."""
        while True:
            now = self.monotonic()
            at = self.held_until
            if len(self.sent) == self.rate:
                at = max(at, self.sent[0] + WINDOW)
            if now >= at:
                break
            self.sleep(at - now)
        self.sent.append(now)

    def hold(self, retry_after: float) -> None:
        """Fusion asked for `retry_after` seconds of quiet: no request goes until they pass."""
        until = self.monotonic() + max(retry_after, RETRY_AFTER_AT_LEAST)
        self.held_until = max(self.held_until, until)
