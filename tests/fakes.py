"""Test doubles shared by the test modules."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.emulator import FIXED_EPOCH


@dataclass
class FakeClock:
    """Monotonic time that moves only when told to: `sleep` advances it at once."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Known fake credentials: tests set them, and the cassette scan proves none is ever stored.
CREDENTIALS = {
    "FUSION_USER": "fusion-admin",
    "FUSION_PASSWORD": "Pa55-w0rd-for-tests",
    "FUSION_API_KEY": "k3y-for-tests-0123456789",
    "FUSION_TOKEN": "t0ken-for-tests-0123456789",
}
EPOCH = FIXED_EPOCH
