"""Plans run by the engine against the emulator's model on a fake clock: no HTTP, no waiting."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runner import wording
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.engine import Engine
from runner.events import Event
from runner.outcomes import PlanOutcome
from runner.plan import Auth, FusionSettings, Plan, Step
from runner.report import Journal
from runner.reporting import Reporters
from runner.result import PlanResult
from runner.scenario import JobScript, RunScript, Scenario
from tests.helpers.fakes import EPOCH, FakeClock
from tests.helpers.reports import valid


class Recorder:
    """A reporter that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event, result: PlanResult) -> None:
        self.events.append(event)

    def finish(self, result: PlanResult) -> None:
        pass


@dataclass
class Result:
    engine: Engine
    model: EmulatedFusion
    clock: FakeClock
    outcome: PlanOutcome
    events: list[Event] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)  # each report the journal wrote

    @property
    def report(self) -> dict[str, Any]:
        return self.reports[-1]

    def step(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["steps"] if s["name"] == name)

    def outcomes(self) -> dict[str, str]:
        return {s["name"]: s["outcome"] for s in self.report["steps"]}

    def of(self, kind: type[Event], **facts: Any) -> list[Any]:
        """The events of `kind` whose fields equal `facts`."""
        return [
            e
            for e in self.events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in facts.items())
        ]

    def lines(self, kind: type[Event], **facts: Any) -> list[str]:
        """`step: words` of those events, as the console words them."""
        return [f"{e.step}: {wording.line(e)}" for e in self.of(kind, **facts)]


def plan_of(steps: list[Step], **settings: Any) -> Plan:
    return Plan(
        file="plan.yaml",
        name="test",
        sha256=settings.get("sha256", "0" * 64),
        fusion=FusionSettings(
            url="http://emulated",
            api="/api",
            auth=Auth.NONE,
            verify=True,
            **settings.get("fusion", {}),
        ),
        max_parallel=settings.get("max_parallel", 4),
        fail_fast=settings.get("fail_fast", False),
        timeout=settings.get("timeout"),
        steps=tuple(steps),
    )


def run(
    steps: list[Step],
    scenario: Scenario | None = None,
    *,
    before: Callable[[EmulatedFusion, FakeClock], None] | None = None,
    interrupts: Callable[[float], int] | None = None,
    selected: Iterable[str] | None = None,
    **settings: Any,
) -> Result:
    """Run `steps` against the emulator's model; every report the journal writes is checked."""
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=[s.job for s in steps])
    if before:
        before(model, clock)
    recorder = Recorder()
    reports: list[dict[str, Any]] = []
    engine = Engine(
        plan_of(steps, **settings),
        ModelFusion(model),
        clock,
        url="http://emulated",
        rng=random.Random(7),
        reporter=Reporters(recorder, Journal(lambda report: reports.append(valid(report)))),
        interrupts=(lambda: interrupts(clock.now)) if interrupts else (lambda: 0),
        selected=None if selected is None else frozenset(selected),
    )
    engine.preflight()
    outcome = engine.execute()
    return Result(engine, model, clock, outcome, recorder.events, reports)


def jobs(**scripts: JobScript) -> Scenario:
    return Scenario(jobs=scripts)


def runs(*scripts: RunScript, **kwargs: Any) -> JobScript:
    return JobScript(runs=scripts, **kwargs)
