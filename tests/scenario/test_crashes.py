"""The crash-point explorer (`tests.helpers.crashes`) in this process, on a diamond with run_if,
every durable point crashed at (tests/process/test_crashes.py explores more plans, its points
shared among a pool of processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.emulator.scenario import RunScript, Scenario
from tests.helpers.crashes import explore, runs
from tests.helpers.fakes import step

FIGURES: dict[str, tuple[int, int]] = {}


# The plan's runs are short, so that a run takes few status reads: each read is two durable
# points, and each point a run of the plan, so the explorer's work grows as the square of the
# reads. What a crash can meet is kept: runs that end while fusion-run is dead (`dead`), and one
# that takes exactly as long.


def test_a_diamond_with_run_if(tmp_path: Path) -> None:
    """Every run ends while fusion-run is dead; b's takes exactly as long."""
    scenario = Scenario(
        jobs={
            "a": runs(RunScript(duration=0.2)),
            "b": runs(RunScript(duration=0.5)),
            "c": runs(RunScript(duration=0.3, state="error")),
            "d": runs(RunScript(duration=0.2)),
            "e": runs(RunScript(duration=0.1)),
        }
    )
    steps = [
        step("a"),
        step("b", "a"),
        step("c", "a", allow_failure=True),
        step("d", "b", "c", run_if="all_done"),
        step("e", "c", run_if="at_least_one_failed"),
    ]
    FIGURES["diamond"] = explore(steps, scenario, tmp_path, dead=0.5)


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    for name, (points, resumes) in FIGURES.items():
        print(f"\ncrash explorer, {name}: {points} durable points, {resumes} resumes")
