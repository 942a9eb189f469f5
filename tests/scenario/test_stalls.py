"""Late and stalled runs (warn_after, stall_after, on_stall) against the emulator's model on a
fake clock: when each warning comes, in which words, and what a stall's cancel ends as."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import FaultTarget, RunScript, Scenario, Stall
from runner.events import Cancelling, NoBaseline, RunLate, RunStalled
from runner.outcomes import PlanOutcome
from runner.plan import OnStall, Step, WarnAfter
from tests.helpers.cli import invoke
from tests.helpers.crashes import World, explore
from tests.helpers.engine import Result, jobs, run, runs
from tests.helpers.fakes import FakeClock, step
from tests.helpers.paths import EXAMPLES
from tests.helpers.reports import read_report

COUNTING: dict[str, float] = {"counter.input": 10, "counter.output": 9}


def crawl(**settings: Any) -> Step:
    return replace(step("crawl", states=("finished",)), **settings)


def counting(*stalls: Stall, duration: float = 3600, state: str = "finished") -> RunScript:
    """A run whose counters grow 10 and 9 a second, except while `stalls` hold them."""
    return RunScript(duration=duration, state=state, counters=COUNTING, stalls=stalls)


def run_id(result: Result) -> str:
    found = result.step("crawl")["run_id"]
    assert isinstance(found, str)
    return found


# --- warn_after -----------------------------------------------------------------------------------


def test_a_late_run_is_warned_of_once_when_warn_after_passes_and_goes_on() -> None:
    result = run(
        [crawl(warn_after=WarnAfter(seconds=1800))],
        jobs(crawl=runs(RunScript(duration=5400))),
    )
    late = result.of(RunLate)
    assert [event.at for event in late] == [1800.0]  # read when it falls due, said once
    assert result.lines(RunLate) == [
        f"crawl: run {run_id(result)} has run 30m, longer than warn_after 30m"
    ]
    assert result.report["warnings"] == [
        {"step": "crawl", "text": f"run {run_id(result)} has run 30m, longer than warn_after 30m"}
    ]
    assert result.outcome is PlanOutcome.SUCCEEDED  # a warning changes nothing
    assert result.step("crawl")["outcome"] == "succeeded"


def test_a_run_that_ends_before_warn_after_gets_no_warning() -> None:
    result = run(
        [crawl(warn_after=WarnAfter(seconds=1800))],
        jobs(crawl=runs(RunScript(duration=1799))),
    )
    assert result.of(RunLate) == []
    assert result.report["warnings"] == []


def test_warn_after_counts_in_multiples_of_the_last_good_run() -> None:
    def earlier_run(model: EmulatedFusion, clock: FakeClock) -> None:
        model.start("crawl")  # the job's last good run: 10 minutes
        clock.advance(3600)

    result = run(
        [crawl(warn_after=WarnAfter(times=3))],
        jobs(crawl=runs(RunScript(duration=600), RunScript(duration=3600))),
        before=earlier_run,
    )
    late = result.of(RunLate)
    assert [event.at - earlier(result) for event in late] == [1800.0]
    assert result.lines(RunLate) == [
        f"crawl: run {run_id(result)} has run 30m, longer than warn_after 30m "
        "(3x its last good run, 10m)"
    ]
    assert result.of(NoBaseline) == []


def earlier(result: Result) -> float:
    """When our run started, in the plan's seconds."""
    return next(event.at for event in result.events if type(event).__name__ == "Started")


def test_a_multiple_with_no_last_good_run_says_so_once_and_never_warns() -> None:
    result = run(
        [crawl(warn_after=WarnAfter(times=1.5))],
        jobs(crawl=runs(RunScript(duration=3600))),
    )
    assert result.of(RunLate) == []
    assert result.report["warnings"] == []
    assert result.lines(NoBaseline) == [
        "crawl: no last good run of the job is known, so warn_after 1.5x gives no warning for "
        "this run"
    ]


# --- stall_after ----------------------------------------------------------------------------------


def test_a_stalled_run_is_warned_of_once_naming_its_counters_and_goes_on() -> None:
    result = run(
        [crawl(stall_after=600)],
        jobs(crawl=runs(counting(Stall(at=120), duration=3600))),
    )
    stalled = result.of(RunStalled)
    assert len(stalled) == 1
    # the counters stood still from 120 s: the clock starts at the first read that shows it
    first_still = stalled[0].at - stalled[0].stall.still
    assert 120 <= first_still < 135
    assert stalled[0].stall.still == 600.0  # read when it fell due
    assert result.lines(RunStalled) == [
        f"crawl: run {run_id(result)} may be stuck: no counter moved for 10m (stall_after 10m): "
        "counter.input 1200, counter.output 1080; it goes on (on_stall: cancel would cancel it)"
    ]
    assert result.report["warnings"] == [
        {"step": "crawl", "text": result.lines(RunStalled)[0].removeprefix("crawl: ")}
    ]
    assert result.step("crawl")["outcome"] == "succeeded"
    assert result.outcome is PlanOutcome.SUCCEEDED


def test_counters_that_move_start_the_stall_clock_again() -> None:
    stalls = (Stall(at=60, lasts=500), Stall(at=600, lasts=500), Stall(at=1200, lasts=500))
    result = run([crawl(stall_after=600)], jobs(crawl=runs(counting(*stalls, duration=1800))))
    assert result.of(RunStalled) == []
    assert result.step("crawl")["outcome"] == "succeeded"


def test_a_run_whose_counters_never_show_is_never_judged_stalled() -> None:
    result = run([crawl(stall_after=60)], jobs(crawl=runs(RunScript(duration=3600))))
    assert result.of(RunStalled) == []
    assert result.report["warnings"] == []
    assert result.step("crawl")["outcome"] == "succeeded"


def test_a_jobs_api_run_is_judged_on_its_views_counters() -> None:
    """A datasource's counters come in its job view's `extra`; their start time is no counter."""
    ds = replace(crawl(stall_after=300), job="datasource:crawl", success=crawl().success)
    ds = replace(ds, success=replace(ds.success, states=("success",)))
    result = run([ds], Scenario(jobs={"datasource:crawl": runs(counting(Stall(at=30)))}))
    assert [line.split(": ", 2)[2] for line in result.lines(RunStalled)] == [
        "no counter moved for 5m (stall_after 5m): counter.input 300, counter.output 270; "
        "it goes on (on_stall: cancel would cancel it)"
    ]


# --- on_stall: cancel -----------------------------------------------------------------------------


def stall_cancel(**settings: Any) -> Step:
    return crawl(stall_after=600, on_stall=OnStall.CANCEL, **settings)


def test_on_stall_cancel_cancels_once_and_the_step_fails_with_its_reason() -> None:
    result = run([stall_cancel()], jobs(crawl=runs(counting(Stall(at=120)))))
    assert sum(1 for kind, _ in result.model.requests if kind is FaultTarget.CANCEL) == 1
    entry = result.step("crawl")
    reason = (
        "no counter moved for 10m (stall_after 10m): counter.input 1200, counter.output 1080; "
        f"run {run_id(result)} cancelled"
    )
    assert (entry["outcome"], entry["reason"]) == ("failed", reason)
    attempt = entry["attempts"][-1]
    assert attempt["state"] == "cancelled"  # Fusion confirmed it
    assert attempt["outcome"] == "failed"
    assert attempt["cancel"]["outcome"] == "failed"
    stalled = {
        "kind": "stalled",
        "counters": [["counter.input", 1200], ["counter.output", 1080]],
        "still": 600.0,
        "limit": 600,
    }
    assert attempt["cancel"]["cause"] == stalled
    assert entry["reason_fact"] == {"kind": "cancelled", "cause": stalled, "run_id": run_id(result)}
    assert result.of(RunStalled) == []  # the cancel says it: no warning besides
    assert len(result.of(Cancelling)) == 1
    assert result.outcome is PlanOutcome.FAILED


def test_a_stall_cancel_is_retried_as_a_criteria_failure() -> None:
    script = runs(counting(Stall(at=120)), RunScript(duration=60, counters=COUNTING))
    retried = run([stall_cancel(retries=1, retry_on=("criteria",))], jobs(crawl=script))
    assert [a["outcome"] for a in retried.step("crawl")["attempts"]] == ["failed", "succeeded"]
    assert retried.step("crawl")["outcome"] == "succeeded"
    not_retried = run([stall_cancel(retries=1)], jobs(crawl=script))  # retry_on: [state]
    assert [a["outcome"] for a in not_retried.step("crawl")["attempts"]] == ["failed"]


def test_a_crash_right_after_the_stall_cancel_is_recorded_resumes_to_failed(
    tmp_path: Path,
) -> None:
    """fusion-run dies with the cancel order on disk and not yet sent; the resume sends it and
    judges the run as the order meant: failed, for the same stall."""
    steps, scenario = [stall_cancel()], jobs(crawl=runs(counting(Stall(at=120))))
    baseline = World(steps, scenario, tmp_path / "baseline", dead=5)
    baseline.disk.path.parent.mkdir()
    where = baseline.fusion_run(None, seed=1).where
    expected = baseline.disk.report()
    assert expected is not None
    world = World(steps, scenario, tmp_path, dead=5)
    world.fusion_run(where.index("before cancel crawl"), seed=1)
    on_disk = world.disk.report()
    assert on_disk is not None
    assert on_disk["steps"][0]["attempts"][-1]["cancel"]["outcome"] == "failed"
    assert world.model.requests.count((FaultTarget.CANCEL, "crawl")) == 0  # ordered, never sent
    world.fusion_run(None, seed=2)
    world.check(final=True)
    ended, before = world.disk.report(), expected["steps"][0]
    assert ended is not None
    after = ended["steps"][0]
    assert (after["outcome"], after["reason_fact"]) == (before["outcome"], before["reason_fact"])
    assert world.model.requests.count((FaultTarget.CANCEL, "crawl")) == 1


def test_every_crash_of_a_stall_cancel_resumes_to_the_same_verdict(tmp_path: Path) -> None:
    steps = [replace(stall_cancel(), stall_after=1)]
    scenario = jobs(crawl=runs(counting(Stall(at=0.3), duration=600)))
    points, _ = explore(steps, scenario, tmp_path, dead=0.5)
    assert points > 20


# --- the command line, on the emulator ------------------------------------------------------------


def test_the_stuck_crawl_example_rehearses_a_warning_and_a_stall_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plan, scenario = EXAMPLES / "stuck-crawl.yaml", EXAMPLES / "scenarios" / "stuck-crawl.yaml"
    result = invoke(str(plan), "--emulate", "--scenario", str(scenario), "--quiet")
    assert result.exit_code == 1  # a failed step's
    report = read_report()
    crawl_id = report["steps"][0]["run_id"]
    late = f"run {crawl_id} has run 5s, longer than warn_after 5s"
    stalled = (
        "no counter moved for 6s (stall_after 6s): counter.input 120, counter.output 114, "
        "counter.failed 0"
    )
    lines = result.stderr.splitlines()
    assert f"   0:05 crawl: warning: {late}" in lines  # a warning: --quiet prints it
    assert f"crawl failed: {stalled}; run {crawl_id} cancelled" in lines
    assert f"crawl: warning: {late}" in lines  # and again at the end
    assert report["warnings"] == [{"step": "crawl", "text": late}]
    assert report["steps"][0]["outcome"] == "failed"
    assert report["steps"][0]["attempts"][0]["state"] == "aborted"
