"""What a `require:` step makes of a job's runs (`runner.engine.gating.find`), and how a
scenario scripts the runs of a job that ended before the emulator started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import build_scenario, load_scenario
from runner.engine.gating import AHEAD_TRUSTED, find
from runner.fusion.status import RunStatus
from runner.plan.problems import InvalidPlan
from tests.helpers.fakes import EPOCH

NOW = datetime(2026, 1, 2, tzinfo=UTC)
H = 3600.0
STATES = ("finished", "skipped")


def ended(state: str, hours_ago: float | None, run_id: str = "r") -> RunStatus:
    end = None if hours_ago is None else NOW - timedelta(hours=hours_ago)
    return RunStatus(job="signals", run_id=run_id, state=state, ended=end)


def test_the_newest_accepted_end_within_the_window_passes() -> None:
    found = find([ended("error", 1, "e"), ended("finished", 3, "f")], STATES, 26 * H, NOW)
    assert (found.passed, found.newest and found.newest.run_id, found.ago) == (True, "f", 3 * H)


def test_the_window_holds_its_very_end_and_nothing_beyond() -> None:
    assert find([ended("skipped", 26)], STATES, 26 * H, NOW).passed
    assert not find([ended("skipped", 26.001)], STATES, 26 * H, NOW).passed


def test_the_newest_is_by_end_time_whatever_the_order_listed() -> None:
    runs = [ended("finished", 30, "old"), ended("finished", 2, "new"), ended("finished", 10, "mid")]
    assert find(runs, STATES, H, NOW).newest == runs[1]


def test_a_run_going_or_with_no_end_time_does_not_count() -> None:
    runs = [ended("running", None, "going"), ended("finished", None, "no-end")]
    found = find([*runs, ended("finished", 40, "old")], STATES, 26 * H, NOW)
    assert (found.passed, found.newest and found.newest.run_id) == (False, "old")


def test_only_the_accepted_states_count() -> None:
    assert not find([ended("error", 1), ended("cancelled", 1)], STATES, 26 * H, NOW).passed
    assert find([ended("error", 1)], ("error",), 26 * H, NOW).passed


def test_an_end_more_than_a_minute_ahead_is_not_trusted_and_a_minute_is() -> None:
    ahead = ended("finished", -(AHEAD_TRUSTED + 1) / H, "ahead")
    drift = ended("finished", -AHEAD_TRUSTED / H, "drift")
    found = find([ahead, ended("finished", 30, "old")], STATES, 26 * H, NOW)
    assert (found.passed, found.ahead) == (False, ((ahead, AHEAD_TRUSTED + 1),))
    assert found.newest is not None
    assert found.newest.run_id == "old"
    trusted = find([drift], STATES, 26 * H, NOW)
    assert (trusted.passed, trusted.ago, trusted.ahead) == (True, 0.0, ())


def test_no_runs() -> None:
    found = find([], STATES, H, NOW)
    assert (found.passed, found.newest, found.ago, found.listed) == (False, None, None, 0)


# --- the emulator's history -----------------------------------------------------------------------


def test_a_scenarios_history_ends_where_it_says_and_starts_follow_it() -> None:
    now = [100.0]
    scenario = build_scenario(
        {
            "jobs": {
                "signals": {
                    "history": [
                        {"state": "error", "ended_ago": "1h"},
                        {"state": "finished", "ended_ago": "3h", "duration": "10m"},
                    ],
                    "runs": [{"state": "error", "duration": 5}],
                }
            }
        }
    )
    model = EmulatedFusion(scenario, clock=lambda: now[0], epoch=EPOCH)
    listed = model.all_runs("signals")
    assert [(r["state"], r["endTime"]) for r in listed] == [
        ("error", "2025-12-31T23:01:40.000Z"),
        ("finished", "2025-12-31T21:01:40.000Z"),
    ]
    assert listed[1]["startTime"] == "2025-12-31T20:51:40.000Z"
    model.start("signals")
    now[0] += 10
    assert model.all_runs("signals")[0]["state"] == "error"  # the scenario's first run


def test_a_past_run_needs_its_end(tmp_path: Path) -> None:
    path = str(tmp_path / "s.yaml")
    Path(path).write_text("version: 1\njobs:\n  signals:\n    history: [{state: finished}]\n")
    with pytest.raises(InvalidPlan) as raised:
        load_scenario(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}:4:15: $.jobs.signals.history[0]: missing required key 'ended_ago'"
    ]
