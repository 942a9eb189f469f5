"""What the engine asks of its outputs: a `Reporter` takes each event as it happens, then the final
result once. The outputs (`runner.report`) implement it; the engine knows no more of them.
"""

from __future__ import annotations

from typing import Protocol

from runner.events import Event
from runner.result import PlanResult


class NotDurable(Exception):
    """A reporter could not put on disk what must be there before fusion-run goes on: a start's
    intent. The start is not sent."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Reporter(Protocol):
    def handle(self, event: Event, result: PlanResult) -> None: ...
    def finish(self, result: PlanResult) -> None: ...


class Silent:
    """A reporter that keeps nothing."""

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        pass
