from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.engine import Engine
from runner.report.journal import Journal, report_file, write_atomically
from tests.helpers.engine import jobs, plan_of, random_plan, run
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.reports import valid


def test_writes_json_and_makes_folders(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "nightly" / "r.json"
    write_atomically(str(target), {"outcome": "running", "name": "café"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"outcome": "running", "name": "café"}
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]


def test_replaces_the_old_report(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_atomically(str(target), {"n": 1})
    write_atomically(str(target), {"n": 2})
    assert json.loads(target.read_text()) == {"n": 2}


def test_a_failed_write_keeps_the_old_report_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    write_atomically(str(target), {"n": 1})

    def full_disk(_: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        write_atomically(str(target), {"n": 2})
    assert json.loads(target.read_text()) == {"n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# --- a write costs what changed, and is never stale -----------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_every_report_the_journal_writes_is_the_plan_as_it_stands(seed: int) -> None:
    """The journal keeps the records of ended steps and builds only the others again: each
    write must still equal the whole result built afresh, through retries, timeouts, skips,
    a plan timeout and interrupts."""
    rng = random.Random(seed)
    steps, scenario = random_plan(rng)
    clock = FakeClock()
    model = EmulatedFusion(scenario, clock=clock, epoch=EPOCH, extra_jobs=[s.job for s in steps])
    written: list[tuple[dict[str, Any], dict[str, Any]]] = []
    interrupt_at = rng.uniform(5, 80) if seed % 3 == 0 else float("inf")
    engine = Engine(
        plan_of(steps, timeout=rng.choice([None, 100])),
        ModelFusion(model),
        clock,
        url="http://emulated",
        rng=random.Random(seed),
        reporter=Journal(lambda report: written.append((report, engine.result.to_dict()))),
        interrupts=lambda: int(clock.now >= interrupt_at),
    )
    engine.preflight()
    engine.execute()
    assert len(written) > 2
    for report, afresh in written:
        assert report == afresh


def test_the_report_file_is_compact_while_the_plan_runs_and_indented_at_the_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.json"
    write = report_file(str(path))
    step = {"name": "a", "outcome": "running", "attempts": [{"error": "ö ${X}"}]}
    steps: list[dict[str, Any]] = [step, {"name": "b"}]
    running = {"outcome": "running", "ended_at": None, "steps": steps}
    write(running)
    text = path.read_text(encoding="utf-8")
    assert text == (
        '{"outcome":"running","ended_at":null,"steps":[{"name":"a","outcome":"running",'
        '"attempts":[{"error":"ö ${X}"}]},{"name":"b"}]}\n'
    )
    steps[1] = {"name": "b", "outcome": "pending"}  # a new record: encoded again
    write(running)
    assert json.loads(path.read_text(encoding="utf-8")) == running
    ended = {**running, "outcome": "succeeded", "ended_at": "2026-01-01T00:00:00.000Z"}
    write(ended)
    assert (
        path.read_text(encoding="utf-8") == json.dumps(ended, indent=2, ensure_ascii=False) + "\n"
    )


def test_the_tests_report_check_finds_what_is_wrong_among_steps_it_proved_before() -> None:
    """`tests.helpers.reports.valid` checks each step once: a step changed since, or a step it
    proved in another report beside one that is wrong, is still judged."""
    report = run([step("a"), step("b", "a")], jobs()).report
    assert valid(report) is report
    changed = {**report, "steps": [report["steps"][0], {**report["steps"][1], "outcome": "bad"}]}
    with pytest.raises(AssertionError, match="'bad' is not one of"):
        valid(changed)
    beside = {**report, "steps": [*report["steps"], {"name": "c"}]}
    with pytest.raises(AssertionError, match="'job' is a required property"):
        valid(beside)
    as_tuple = {**report, "steps": [{**report["steps"][0], "attempts": ()}, report["steps"][1]]}
    with pytest.raises(AssertionError, match="is not of type 'array'"):
        valid(as_tuple)
