"""Plans run by the engine against the emulator's model on a fake clock: no HTTP, no waiting."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runner import wording
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion, Reply
from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from runner.engine import Engine
from runner.engine.reporter import Reporter
from runner.events import Event
from runner.outcomes import PlanOutcome
from runner.plan import Auth, FusionSettings, Plan, Step
from runner.redact import Redactor
from runner.report import Reporters
from runner.report.journal import Journal
from runner.result import PlanResult
from tests.helpers.fakes import EPOCH, FakeClock, step
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
    reporter: Reporter | None = None,
    redact: Redactor | None = None,
    **settings: Any,
) -> Result:
    """Run `steps` against the emulator's model; every report the journal writes is checked.
    `reporter` (a console, say) gets the events too; `redact` masks what Fusion says."""
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=[s.job for s in steps])
    if before:
        before(model, clock)
    recorder = Recorder()
    reports: list[dict[str, Any]] = []
    engine = Engine(
        plan_of(steps, **settings),
        ModelFusion(model, redact=redact),
        clock,
        url="http://emulated",
        rng=random.Random(7),
        reporter=Reporters(
            recorder,
            Journal(lambda report: reports.append(valid(report))),
            *([reporter] if reporter else []),
        ),
        interrupts=(lambda: interrupts(clock.now)) if interrupts else (lambda: 0),
        selected=None if selected is None else frozenset(selected),
    )
    engine.preflight()
    outcome = engine.execute()
    return Result(engine, model, clock, outcome, recorder.events, reports)


TRANSIENT_ANSWERS: list[int | str] = [503, "reset"]
RUN_IFS = ["all_success"] * 4 + [
    "all_done",
    "at_least_one_success",
    "none_failed",
    "at_least_one_failed",
    "all_failed",
]


def random_plan(rng: random.Random, *, size: int = 12) -> tuple[list[Step], Scenario]:
    """A random DAG of up to `size` steps: run_ifs, retries, allowed failures, step timeouts,
    runs that finish, fail or are skipped, and transient faults on status reads."""
    names = [f"s{i}" for i in range(rng.randint(1, size))]
    steps, scripts = [], {}
    for index, name in enumerate(names):
        upstream = rng.sample(names[:index], k=min(index, rng.randint(0, 2)))
        steps.append(
            step(
                name,
                *upstream,
                run_if=rng.choice(RUN_IFS),
                retries=rng.choice([0, 0, 1]),
                retry_delay=5,
                allow_failure=rng.random() < 0.2,
                timeout=rng.choice([7200, 30]),
            )
        )
        states = [rng.choice(["finished", "finished", "error", "skipped"]) for _ in range(2)]
        faults = (
            (Fault(on=FaultTarget.STATUS, answer=rng.choice(TRANSIENT_ANSWERS), times=2, after=1),)
            if rng.random() < 0.3
            else ()
        )
        scripts[name] = JobScript(
            runs=tuple(RunScript(duration=rng.uniform(0.5, 60), state=s) for s in states),
            faults=faults,
        )
    return steps, Scenario(jobs=scripts)


def revoke_after(seconds: float) -> Callable[[EmulatedFusion, FakeClock], None]:
    """A `before` hook: Fusion refuses the credentials on status reads after `seconds`."""

    def before(model: EmulatedFusion, clock: FakeClock) -> None:
        real = model.status

        def status(job_id: str) -> Any:
            if clock.now > seconds:
                raise Reply(401, {"error": "unauthorized"})
            return real(job_id)

        model.status = status  # type: ignore[method-assign]

    return before


def jobs(**scripts: JobScript) -> Scenario:
    return Scenario(jobs=scripts)


def runs(*scripts: RunScript, **kwargs: Any) -> JobScript:
    return JobScript(runs=scripts, **kwargs)
