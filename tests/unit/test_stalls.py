"""warn_after, stall_after and on_stall as a plan gives them; the Stalled cause as words and as a
fact; the emulator's counters that move and stand still."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import wording
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import JobScript, RunScript, Scenario, Stall, load_scenario
from runner.engine.phases import Before, Following
from runner.engine.watch import counted
from runner.events import NoBaseline, RunLate, RunStalled
from runner.facts import from_fact, to_fact
from runner.fusion.status import RunStatus, parse_job_view
from runner.outcomes import Outcome
from runner.plan import OnStall, WarnAfter
from runner.plan.loader import load_plan
from runner.plan.problems import InvalidPlan
from runner.reasons import Cancelled, Stalled
from runner.result import CancelRecord
from tests.helpers.fakes import EPOCH, FakeClock
from tests.helpers.paths import WritePlan

EPOCH_MS = 1767225600000  # 2026-01-01T00:00:00Z

PLAN = """\
version: 1
defaults:
  warn_after: 3x
  stall_after: 10m
steps:
  - crawl
  - job: index
    warn_after: 45m
    on_stall: cancel
  - job: train
    warn_after: 1.5x
"""


def test_the_keys_resolve_per_step_from_defaults(write_plan: WritePlan) -> None:
    crawl, index, train = load_plan(write_plan(PLAN)).steps
    assert (crawl.warn_after, crawl.stall_after, crawl.on_stall) == (
        WarnAfter(times=3.0),
        600,
        OnStall.WARN,
    )
    assert (index.warn_after, index.stall_after, index.on_stall) == (
        WarnAfter(seconds=2700),
        600,
        OnStall.CANCEL,
    )
    assert train.warn_after == WarnAfter(times=1.5)


def test_by_default_nothing_is_watched(write_plan: WritePlan) -> None:
    (crawl,) = load_plan(write_plan("version: 1\nsteps: [crawl]\n")).steps
    assert (crawl.warn_after, crawl.stall_after, crawl.on_stall) == (None, None, OnStall.WARN)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "warn_after: 3y",
            "$.steps[0].warn_after: expected a duration of more than zero, such as 45m, or a "
            "multiple of the last good run, such as 3x, got '3y'",
        ),
        (
            "warn_after: 0x",
            "$.steps[0].warn_after: expected a duration of more than zero, such as 45m, or a "
            "multiple of the last good run, such as 3x, got '0x'",
        ),
        (
            "stall_after: 0s",
            "$.steps[0].stall_after: expected a duration of more than zero: whole seconds, or a "
            "string such as 90s, 5m, 2h, 1h30m, got '0s'",
        ),
        ("on_stall: stop", "$.steps[0].on_stall: 'stop' is not one of: warn, cancel"),
    ],
)
def test_bad_values_are_refused_at_their_place(
    write_plan: WritePlan, setting: str, message: str
) -> None:
    path = write_plan(f"version: 1\nsteps:\n  - job: crawl\n    {setting}\n")
    with pytest.raises(InvalidPlan) as caught:
        load_plan(path)
    column = len(setting.split(": ", maxsplit=1)[0]) + 7
    assert [str(p) for p in caught.value.problems] == [f"{path}:4:{column}: {message}"]


STALL = Stalled(
    counters=(("counter.input", 1200), ("counter.output", 1180.5)), still=900, limit=900
)


def test_the_words_of_each_warning_and_of_a_stall() -> None:
    assert wording.text(STALL) == (
        "no counter moved for 15m (stall_after 15m): counter.input 1200, counter.output 1180.5"
    )
    assert wording.line(RunLate(run_id="r-7", age=1860, limit=1800, times=3, expected=600)) == (
        "run r-7 has run 31m, longer than warn_after 30m (3x its last good run, 10m)"
    )
    assert wording.line(RunLate(run_id=None, age=2700.04, limit=2700)) == (
        "its run has run 45m, longer than warn_after 45m"
    )
    assert wording.line(RunStalled(run_id="r-7", stall=STALL)) == (
        "run r-7 may be stuck: no counter moved for 15m (stall_after 15m): counter.input 1200, "
        "counter.output 1180.5; it goes on (on_stall: cancel would cancel it)"
    )
    assert wording.line(NoBaseline(times=3)) == (
        "no last good run of the job is known, so warn_after 3x gives no warning for this run"
    )
    assert wording.text(Cancelled(cause=STALL, run_id="r-7")) == (
        f"{wording.text(STALL)}; run r-7 cancelled"
    )


def test_a_stall_names_its_first_five_counters_and_counts_the_others() -> None:
    many = tuple((f"c{i}", i) for i in range(8))
    assert wording.counters(many) == "c0 0, c1 1, c2 2, c3 3, c4 4 and 3 more"


def test_a_stall_cancel_record_round_trips_as_a_fact() -> None:
    record = CancelRecord(outcome=Outcome.FAILED, cause=STALL)
    data = record.to_dict()
    assert data["cause"] == {
        "kind": "stalled",
        "counters": [["counter.input", 1200], ["counter.output", 1180.5]],
        "still": 900,
        "limit": 900,
    }
    assert CancelRecord.from_dict(data) == record
    assert from_fact(to_fact(Cancelled(cause=STALL, run_id=None))) == Cancelled(
        cause=STALL, run_id=None
    )


# --- the emulator ---------------------------------------------------------------------------------


def test_counters_grow_by_their_rate_except_while_they_stand_still() -> None:
    script = RunScript(
        duration=100,
        counters={"counter.input": 10, "counter.output": 2.5},
        stalls=(Stall(at=10, lasts=20), Stall(at=50)),
    )
    assert script.counted(5) == {"counter.input": 50, "counter.output": 12}
    assert script.counted(25) == script.counted(10) == {"counter.input": 100, "counter.output": 25}
    assert script.counted(40) == {"counter.input": 200, "counter.output": 50}
    assert script.counted(90) == script.counted(50) == {"counter.input": 300, "counter.output": 75}


def test_counters_show_while_a_run_goes_in_every_api() -> None:
    clock = FakeClock()
    script = JobScript(runs=(RunScript(duration=100, state="success", counters={"c": 10}),))
    scenario = Scenario(jobs={"spark-job": script, "datasource:ds": script})
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH)
    model.start("spark-job")
    model.start("datasource:ds")
    clock.advance(5)
    assert model.status("spark-job")["result"]["c"] == 50
    view = model.status("datasource:ds")
    assert (view["status"], view["extra"]) == ("running", {"c": 50, "startTime": EPOCH * 1000})
    assert model.all_runs("datasource:ds")[0]["extra"] == view["extra"]
    clock.advance(200)
    assert model.status("datasource:ds")["extra"]["c"] == 1000  # they stop at its end


def test_a_scenario_scripts_counters_and_stalls(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\njobs:\n  crawl:\n    runs:\n      - duration: 1h\n"
        "        counters: {counter.input: 40}\n"
        "        stalls: [{at: 3s, for: 2m}, {at: 10m}]\n"
    )
    (run,) = load_scenario(str(path)).jobs["crawl"].runs
    assert run.counters == {"counter.input": 40}
    assert run.stalls == (Stall(at=3, lasts=120), Stall(at=600))


# --- the stall clock ------------------------------------------------------------------------------


def _view(started_ms: int, count: int) -> RunStatus:
    view = {
        "resource": "datasource:crawl",
        "status": "running",
        "lastStartTime": "2026-01-01T00:00:00.000Z",
        "extra": {"counter.input": count, "startTime": started_ms},
    }
    return parse_job_view(view, "datasource:crawl")


def test_a_views_counters_start_the_stall_clock_only_when_they_say_they_are_our_runs() -> None:
    """A stuck or lagging view shows the latest run's status and counters of another moment:
    the previous run's frozen counters are no stall of ours."""
    ours = frozenset({"start:2026-01-01T00:00:00.000+00:00"})
    data = Following(ours=ours, label=None, started=0.0, before=Before(known=frozenset()))
    counted(data, _view(EPOCH_MS - 3_600_000, 900), 10.0)  # an hour-old run's counters
    assert (data.still, data.still_since) == ((), None)
    counted(data, _view(EPOCH_MS + 400, 30), 11.0)  # ours, by their start time
    assert (data.still, data.still_since) == ((("counter.input", 30),), 11.0)
