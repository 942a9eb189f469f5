"""The crash-point explorer (`tests.helpers.crashes`), its points shared among a pool of worker
processes: a chain with a retry and a timeout, lost starts and status faults, every durable point
crashed at; a fifty-step plan, at sixty of its points (tests/scenario/test_crashes.py explores a
small plan in this process)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario, Variant
from runner.plan import Step
from tests.helpers.crashes import explore, runs
from tests.helpers.fakes import step

JOBS = max(1, min(4, os.cpu_count() or 1))
FIGURES: dict[str, tuple[int, int]] = {}


# Each small plan's runs are short, so that a run takes few status reads: each read is two durable
# points, and each point a run of the plan, so the explorer's work grows as the square of the
# reads. What a crash can meet is kept: which runs end while fusion-run is dead (`dead`), which
# go on past it, a resume within a step's timeout and one past it, a crash in a retry delay.


def test_a_chain_with_a_retry_and_a_timeout(tmp_path: Path) -> None:
    """a and b end while fusion-run is dead, c's first run outlives its timeout (3 s, longer
    than the 1.5 s dead: a resume may come within it), its retry takes as long as the dead."""
    scenario = Scenario(
        jobs={
            "a": runs(RunScript(duration=0.3)),
            "b": runs(
                RunScript(duration=0.4, state="error", error="boom"), RunScript(duration=0.4)
            ),
            "c": runs(RunScript(duration=120), RunScript(duration=1.5)),
        }
    )
    steps = [
        step("a"),
        step("b", "a", retries=1, retry_delay=1),
        step("c", "b", timeout=3, retries=1, retry_on=("timeout",), retry_delay=1),
    ]
    FIGURES["chain"] = explore(steps, scenario, tmp_path, dead=1.5, jobs=JOBS)


@pytest.mark.parametrize(
    "variant",
    [Variant(), Variant(history_run_ids=False, history_lag=2, all_oldest_first=True)],
    ids=["documented", "no run ids, lag, oldest first"],
)
def test_a_lost_start_status_faults_and_jobs_api_jobs(tmp_path: Path, variant: Variant) -> None:
    """The crawl outlives the dead (2.5 s), the others end within it; each lost start's run is
    still going when fusion-run first looks for it (a second after the start)."""
    lost = (Fault(on=FaultTarget.START, answer="lost"),)
    flaky = (Fault(on=FaultTarget.STATUS, answer=503, times=2, after=1),)
    scenario = Scenario(
        jobs={
            "datasource:web": runs(RunScript(duration=3), faults=lost),
            "spark": runs(RunScript(duration=2), faults=flaky, stale_reads=1),
            "task:warm": runs(RunScript(duration=2), faults=lost + flaky),
        },
        variant=variant,
    )
    steps = [
        step("crawl", job="datasource:web", states=("success",)),
        step("aggregate", "crawl", job="spark"),
        step("warm", "aggregate", job="task:warm", states=("success",)),
    ]
    FIGURES[f"lost start, {'documented' if variant == Variant() else 'no run ids'}"] = explore(
        steps, scenario, tmp_path, dead=2.5, jobs=JOBS
    )


def test_a_fifty_step_plan_sampled(tmp_path: Path) -> None:
    rng = random.Random(50)
    steps: list[Step] = []
    scripts: dict[str, JobScript] = {}
    for index in range(50):
        name = f"s{index:02d}"
        upstream = rng.sample([s.name for s in steps[-10:]], k=min(len(steps), rng.randint(0, 2)))
        # A resume repairs a step that failed with its retries spent (a new round), so a job
        # that failed once and would then succeed could end differently after a crash, by
        # design. Here a job either always fails, or fails at most once and has the retry
        # that absorbs it within its first round: every verdict is one a repair keeps.
        kind = rng.choice(["sound", "flaky", "broken"])
        first = "finished" if kind == "sound" else "error"
        later = "error" if kind == "broken" else "finished"
        retries = 1 if kind == "flaky" else rng.choice([0, 1])
        steps.append(step(name, *upstream, retries=retries, retry_delay=1))
        scripts[name] = runs(
            RunScript(duration=rng.uniform(0.5, 8), state=first),
            RunScript(duration=rng.uniform(0.5, 8), state=later),
        )
    FIGURES["fifty"] = explore(steps, Scenario(jobs=scripts), tmp_path, points=60, jobs=JOBS)


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    for name, (points, resumes) in FIGURES.items():
        print(f"\ncrash explorer, {name}: {points} durable points, {resumes} resumes")
