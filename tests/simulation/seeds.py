"""Many seeds at once: each simulated and checked, on every core; what they found, and figures."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.simulation import invariants
from tests.simulation.plans import case
from tests.simulation.simulate import simulate


@dataclass
class Findings:
    seeds: int = 0
    failing: dict[int, list[str]] = field(default_factory=dict)  # seed -> violations
    requests: int = 0
    crashes: int = 0  # fusion-run processes killed at a durable point, each then resumed
    checks: int = 0  # invariant checks made
    judged: int = 0  # attempts judged against what their run really did
    disagreed: int = 0  # ... that a cautious verdict judged otherwise (not a violation)

    def add(self, other: Findings) -> None:
        self.seeds += other.seeds
        self.failing.update(other.failing)
        self.requests += other.requests
        self.crashes += other.crashes
        self.checks += other.checks
        self.judged += other.judged
        self.disagreed += other.disagreed


def check(seeds: Iterable[int], benign: bool = False) -> Findings:
    """Simulate and check each seed; on a documented FusION (`benign`), every verdict must
    also be the truth."""
    found = Findings()
    before = invariants.TALLY["checks"]
    for seed in seeds:
        sim = simulate(case(seed, adversity=not benign))
        violations = invariants.violations(sim)
        wrong, judged = invariants.disagreements(sim)
        if benign:
            violations += wrong
        if violations:
            found.failing[seed] = violations
        found.seeds += 1
        found.requests += len(sim.fusion.exchanges)
        found.crashes += sum(1 for p in sim.processes if p.how == "crashed")
        found.judged += judged
        found.disagreed += sum(1 for line in wrong if " attempt " in line)
    found.checks = invariants.TALLY["checks"] - before
    return found


def _check_adversarial(seeds: range) -> Findings:
    return check(seeds)


def _check_benign(seeds: range) -> Findings:
    return check(seeds, benign=True)


def in_parallel(seeds: range, *, benign: bool = False, jobs: int | None = None) -> Findings:
    """`check` over `seeds`, split across `jobs` processes (forked: nothing is imported again)."""
    jobs = jobs or max(1, min(4, multiprocessing.cpu_count()))
    size = max(1, -(-len(seeds) // jobs))
    chunks = [range(start, min(start + size, seeds.stop)) for start in seeds[::size]]
    work = _check_benign if benign else _check_adversarial
    total = Findings()
    if jobs == 1 or len(chunks) == 1:
        total.add(work(seeds))
        return total
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for part in pool.map(work, chunks):
            total.add(part)
    return total


def reproduction(failing: dict[int, list[str]], *, benign: bool = False, limit: int = 10) -> str:
    """The command that reproduces each failing seed, and what it broke."""
    flag = " --benign" if benign else ""
    return "\n".join(
        f"seed {seed}: python bench/simulate.py --seed {seed}{flag} -v\n  " + "\n  ".join(found[:5])
        for seed, found in sorted(failing.items())[:limit]
    )
