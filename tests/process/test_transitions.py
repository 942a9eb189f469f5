"""Every move of the engine's transition table is taken somewhere: the simulation's first seeds,
then each scenario of tests/scenario/test_transitions.py for the moves the seeds leave out. A sweep
of a few hundred simulated plans: here, out of the fast loop."""

from __future__ import annotations

from pathlib import Path

from tests.scenario.test_transitions import EDGES, SCENARIOS, SEEDS, Edge, moves, words
from tests.simulation.plans import case
from tests.simulation.simulate import simulate

__all__ = ["moves"]  # the fixture that records each move


def test_every_move_of_the_table_is_taken(moves: set[Edge], tmp_path: Path) -> None:
    """The seeds, then every scenario: each move of the table must have been taken."""
    for seed in range(SEEDS):
        simulate(case(seed))
    by_seeds = set(moves)
    for _, scenario in SCENARIOS:
        folder = tmp_path / scenario.__name__
        folder.mkdir()
        scenario(folder)
    assert moves <= EDGES  # the engine refuses any other move: none can be recorded
    missing = sorted(map(words, EDGES - moves))
    print(f"taken by a scenario, not by the first {SEEDS} seeds:")
    print(*sorted(map(words, moves - by_seeds)), sep="\n")
    print("taken nowhere:", *missing, sep="\n")
    assert not missing, "moves of TRANSITIONS that nothing takes:\n" + "\n".join(missing)
