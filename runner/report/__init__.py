"""Every output at once: the console, the report's journal, JUnit and the GitHub summary each
consume the event stream as the plan runs (`runner.engine.reporter.Reporter`), then the final
result once."""

from __future__ import annotations

from runner.engine.reporter import Reporter
from runner.events import Event
from runner.result import PlanResult


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
