"""The reports written as plans run: each is the plan as it stands, and each is checked against
the report schema (tests.helpers.reports)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.engine import Engine
from runner.report.journal import Journal
from tests.helpers.engine import jobs, plan_of, random_plan, run
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.reports import valid

# --- a write costs what changed, and is never stale -----------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_every_report_the_journal_writes_is_the_plan_as_it_stands(seed: int) -> None:
    """The journal keeps the records of ended steps and builds only the others again: each
    write must still equal the whole result built afresh, through retries, timeouts, skips,
    a plan timeout and interrupts."""
    rng = random.Random(seed)
    steps, scenario = random_plan(rng)
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=[s.job for s in steps])
    written: list[tuple[dict[str, Any], dict[str, Any]]] = []
    interrupt_at = rng.uniform(5, 80) if seed % 3 == 0 else float("inf")
    engine = Engine(
        plan_of(steps, timeout=rng.choice([None, 100])),
        ModelFusion(model),
        clock,
        url="http://emulated",
        rng=random.Random(seed),
        reporter=Journal(lambda report: written.append((report, engine.result.to_dict()))),
        interrupts=lambda: int(clock.now >= interrupt_at),
    )
    engine.preflight()
    engine.execute()
    assert len(written) > 2
    for report, afresh in written:
        assert report == afresh


def test_the_tests_report_check_finds_what_is_wrong_among_steps_it_proved_before() -> None:
    """`tests.helpers.reports.valid` checks each step once: a step changed since, or a step it
    proved in another report beside one that is wrong, is still judged."""
    report = run([step("a"), step("b", "a")], jobs()).report
    assert valid(report) is report
    changed = {**report, "steps": [report["steps"][0], {**report["steps"][1], "outcome": "bad"}]}
    with pytest.raises(AssertionError, match="'bad' is not one of"):
        valid(changed)
    beside = {**report, "steps": [*report["steps"], {"name": "c"}]}
    with pytest.raises(AssertionError, match="'job' is a required property"):
        valid(beside)
    as_tuple = {**report, "steps": [{**report["steps"][0], "attempts": ()}, report["steps"][1]]}
    with pytest.raises(AssertionError, match="is not of type 'array'"):
        valid(as_tuple)
