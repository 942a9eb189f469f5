"""Every dependency cycle is reported (tests/plans/invalid/cycles.yaml shows them located)."""

from __future__ import annotations

import pytest

from runner.plan.validate import dependency_cycles


@pytest.mark.parametrize(
    ("waits_for", "cycles"),
    [
        ({"a": [], "b": ["a"]}, []),
        ({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]}, ["a b a", "c d c"]),
        ({"a": ["b"], "b": ["a", "c"], "c": ["a"], "d": []}, ["a b a", "a b c a"]),
        ({"x": ["y"], "y": ["z"], "z": ["x"]}, ["x y z x"]),  # once, not once per step
        ({"late": ["early"], "early": ["late"]}, ["late early late"]),  # from the first listed
        ({"a": [], "b": ["c"], "c": ["a", "b"]}, ["b c b"]),
    ],
)
def test_every_step_on_a_cycle_is_named_in_one(
    waits_for: dict[str, list[str]], cycles: list[str]
) -> None:
    assert [" ".join(cycle) for cycle in dependency_cycles(waits_for)] == cycles


def test_a_ring_of_many_steps_is_one_cycle_found_in_one_search() -> None:
    ring = {f"s{i}": [f"s{(i - 1) % 5000}"] for i in range(5000)}
    [cycle] = dependency_cycles(ring)
    assert (len(cycle), cycle[0], cycle[1], cycle[-1]) == (5001, "s0", "s4999", "s0")
