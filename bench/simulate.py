"""Run the Fusion simulation over many seeds, and print what it found and how fast.

    python bench/simulate.py --seeds 100000          # seeds 0 .. 99999, on every core
    python bench/simulate.py --seeds 1000 --first 5000
    python bench/simulate.py --seed 1234 -v          # one seed: its case, console and violations
    python bench/simulate.py --seeds 1000 --benign   # a documented Fusion: verdicts must be true

Each seed is a random plan on a random Fusion (`tests.simulation`), with fusion-run crashed and
resumed at random durable points; every invariant is checked after it. A seed that breaks one
prints the command that reproduces it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.simulation import invariants
from tests.simulation.plans import case
from tests.simulation.seeds import in_parallel, reproduction
from tests.simulation.simulate import simulate


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000, help="how many seeds")
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("--seed", type=int, help="one seed only, told in full")
    parser.add_argument("--benign", action="store_true", help="a Fusion as documented")
    parser.add_argument("--jobs", type=int, help="processes (default: the cores, at most 4)")
    parser.add_argument("-v", "--verbose", action="store_true")
    options = parser.parse_args()
    if options.seed is not None:
        return _one(options.seed, benign=options.benign)
    seeds = range(options.first, options.first + options.seeds)
    began = time.perf_counter()
    found = in_parallel(seeds, benign=options.benign, jobs=options.jobs)
    took = time.perf_counter() - began
    print(
        f"{found.seeds} seeds in {took:.1f}s ({found.seeds / took:.0f} seeds/s): "
        f"{found.requests} requests, {found.crashes} crashes and resumes, "
        f"{found.checks} invariant checks; {len(found.failing)} seed(s) broke an invariant; "
        f"{found.judged} attempts judged, {found.disagreed} more cautiously than the truth"
    )
    if found.failing:
        print(reproduction(found.failing, benign=options.benign, limit=20))
        kinds = Counter(line.split(":")[0] for lines in found.failing.values() for line in lines)
        print("\nby kind:", dict(kinds.most_common(15)))
    return 1 if found.failing else 0


def _one(seed: int, *, benign: bool) -> int:
    given = case(seed, adversity=not benign)
    sim = simulate(given)
    found = invariants.violations(sim)
    if benign:
        found += invariants.disagreements(sim)[0]
    print(given.brief())
    for process in sim.processes:
        print(f"--- a fusion-run process, {process.how} ---")
        print(process.console or process.error or "")
    print(
        reproduction({seed: found}, benign=benign)
        if found
        else f"seed {seed}: every invariant holds"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
