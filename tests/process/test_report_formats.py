"""Rewording every message changes nothing a resume does, across crashes at durable points and
resumes on simulated Fusions: a sweep of simulated plans, here, out of the fast loop (the plans of
tests/scenario/test_report_formats.py check the same on each kind of stop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.earlier_reports import CASES
from tests.scenario.test_report_formats import (
    FORMATS,
    earlier_format_resumes_alike,
    facts_only,
    reworded,
    rewording_changes_nothing,
)
from tests.simulation import invariants
from tests.simulation.plans import case as simulated
from tests.simulation.simulate import Simulation, simulate

__all__ = ["reworded"]  # the fixture that rewords


@pytest.mark.parametrize("version", sorted(FORMATS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_an_earlier_format_s_report_is_resumed_as_its_new_report_is_whatever_is_selected(
    name: str, version: int, tmp_path: Path
) -> None:
    """Each step alone and each step left out, as well as the selections the fast loop tries."""
    earlier_format_resumes_alike(name, version, tmp_path, every=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewording_changes_nothing_a_resume_does_whatever_is_selected(
    name: str, tmp_path: Path, reworded: Callable[[], None]
) -> None:
    rewording_changes_nothing(name, tmp_path, reworded, every=True)


SEEDS = range(120)  # with crashes at durable points and resumes on a simulated Fusion


def test_rewording_changes_nothing_across_crashes_and_resumes(
    reworded: Callable[[], None],
) -> None:
    plain = [simulate(simulated(seed)) for seed in SEEDS]
    assert sum(len(sim.processes) > 1 for sim in plain) > 20  # most seeds resume
    reworded()
    for seed, before in zip(SEEDS, plain, strict=True):
        after = simulate(simulated(seed))
        assert invariants.violations(after) == [], seed
        assert _settled(after) == _settled(before), seed


def _settled(sim: Simulation) -> Any:
    """The simulated report's facts; the file each process resumed is named anew each time."""
    report = facts_only(sim.disk.report())
    if report and report["resumed_from"]:
        report["resumed_from"]["path"] = "..."
    return report
