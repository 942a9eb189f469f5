"""fusion-run on thousands of simulated Fusions that lag, drop and disagree (`tests.simulation`):
random plans x random Fusion behaviours x random crash-and-resume points, from fixed seeds, spread
over a pool of worker processes. After each, every invariant must hold
(`tests.simulation.invariants`). A failing seed prints the line that reproduces it; pin it in
PINNED (tests/scenario/test_simulation.py) once fixed.

`python bench/simulate.py --seeds 100000` runs as many seeds as wanted.
"""

from __future__ import annotations

from tests.simulation.seeds import in_parallel, reproduction

SEEDS = 3000  # in CI: about 30 s on two cores
BENIGN = 300


def test_no_seed_breaks_an_invariant() -> None:
    found = in_parallel(range(SEEDS))
    assert not found.failing, (
        f"{len(found.failing)} of {SEEDS} seeds broke an invariant:\n" + reproduction(found.failing)
    )


def test_on_a_documented_fusion_every_verdict_is_the_truth() -> None:
    """Safety alone would be easy (fail everything): on a Fusion that behaves as documented,
    never crashed, every attempt judged must be judged as its run really ended."""
    found = in_parallel(range(BENIGN), benign=True)
    assert found.judged > BENIGN, found  # most seeds judge a run or more
    assert not found.failing, reproduction(found.failing, benign=True)
