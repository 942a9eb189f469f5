"""The one small protocol every output implements: the console, the report's journal, JUnit and
the GitHub summary each consume the event stream as the plan runs, then the final result once."""

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


class Reporters:
    """Several reporters as one, each called in the order given."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def handle(self, event: Event, result: PlanResult) -> None:
        for reporter in self.reporters:
            reporter.handle(event, result)

    def finish(self, result: PlanResult) -> None:
        for reporter in self.reporters:
            reporter.finish(result)


class Silent:
    """A reporter that keeps nothing."""

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        pass
