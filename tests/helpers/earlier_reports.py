"""Plans whose reports a resume must read alike in every report format: a detached run, fail_fast
stopping on a skip, the plan's timeout cancelling a run, and every kind of run_if skip. Each is
run on the in-process emulator; `detach_at` interrupts it with on_interrupt: detach.

tests/fixtures/report-2/ holds the reports fusion-run wrote of these plans in format 2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript, Scenario
from runner.engine import Engine
from runner.plan import AllowedFailures, Plan, RunIf, Step
from runner.report.journal import Journal, write_atomically
from tests.helpers.engine import jobs, plan_of, runs
from tests.helpers.fakes import EPOCH, FakeClock, step


@dataclass(frozen=True)
class Case:
    steps: list[Step]
    scenario: Scenario
    fail_fast: bool = False
    timeout: int | None = None
    detach_at: float | None = None

    def run(self, path: Path) -> tuple[EmulatedFusion, FakeClock]:
        """The plan run to its end (or its detach), its report at `path`."""
        clock = FakeClock()
        jobs_ = [s.job for s in self.steps]
        model = EmulatedFusion(self.scenario, clock=clock, epoch=EPOCH, extra_jobs=jobs_)
        at = self.detach_at
        Engine(
            self.plan(),
            ModelFusion(model),
            clock,
            url="http://emulated",
            rng=random.Random(1),
            reporter=Journal(lambda report: write_atomically(str(path), report)),
            detach=at is not None,
            interrupts=lambda: int(at is not None and clock.now >= at),
        ).execute()
        return model, clock

    def plan(self) -> Plan:
        return plan_of(self.steps, fail_fast=self.fail_fast, timeout=self.timeout)


CASES = {
    "detached": Case(
        steps=[step("a"), step("b", "a"), step("c", "a", retries=1, retry_delay=1)],
        scenario=jobs(
            a=runs(RunScript(duration=5)),
            b=runs(RunScript(duration=100)),
            c=runs(RunScript(duration=3, state="error"), RunScript(duration=3, state="error")),
        ),
        detach_at=30,
    ),
    "fail-fast-skip": Case(
        steps=[
            step("a", allow_failure=True),
            replace(step("b", "a"), allowed_failures=AllowedFailures.FAIL),
            step("c"),
            step("d", "c"),
        ],
        scenario=jobs(
            a=runs(RunScript(duration=5, state="error")),
            b=runs(RunScript(duration=5)),
            c=runs(RunScript(duration=100)),
            d=runs(RunScript(duration=5)),
        ),
        fail_fast=True,
    ),
    "plan-timeout": Case(
        steps=[step("a"), step("b", timeout=20, retries=1, retry_on=("timeout",)), step("c", "a")],
        scenario=jobs(
            a=runs(RunScript(duration=100)),
            b=runs(RunScript(duration=100), RunScript(duration=100)),
            c=runs(RunScript(duration=5)),
        ),
        timeout=60,
    ),
    "run-if": Case(
        steps=[
            step("a", allow_failure=True),
            step("b"),
            replace(
                step("x", "a", "b", run_if=RunIf.ALL_FAILED), allowed_failures=AllowedFailures.FAIL
            ),
            step("y", "b", run_if=RunIf.AT_LEAST_ONE_FAILED),
            step("z", "y"),
            replace(step("w", "a"), allowed_failures=AllowedFailures.FAIL),
            step("v", "w", "b", run_if=RunIf.NONE_FAILED),
        ],
        scenario=jobs(
            a=runs(RunScript(duration=5, state="error")),
            b=runs(RunScript(duration=5)),
            x=runs(RunScript(duration=5)),
            y=runs(RunScript(duration=5)),
            z=runs(RunScript(duration=5)),
            w=runs(RunScript(duration=5)),
            v=runs(RunScript(duration=5)),
        ),
    ),
}
