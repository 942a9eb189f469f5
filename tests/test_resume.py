from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.engine import Engine
from runner.errors import UsageError
from runner.report import Journal, write_atomically
from runner.resume import load_resume
from runner.scenario import JobScript, RunScript, Scenario
from tests.helpers.engine import plan_of
from tests.helpers.fakes import EPOCH, FakeClock, step

SCENARIO = Scenario(
    jobs={
        "a": JobScript(runs=(RunScript(duration=10),)),
        "b": JobScript(runs=(RunScript(duration=120),)),
        "c": JobScript(runs=(RunScript(duration=5, state="error"), RunScript(duration=5))),
        "d": JobScript(runs=(RunScript(duration=5),)),
    }
)
STEPS = [step("a"), step("b", "a"), step("c", "a"), step("d", "c")]


class Session:
    """Two fusion-run invocations against one emulated Fusion whose runs go on in between."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.model = EmulatedFusion(SCENARIO, clock=self.clock, epoch=EPOCH, extra_jobs="abcd")
        self.path = str(tmp_path / "report.json")
        self.reports: list[dict[str, Any]] = []

    def run(
        self,
        *,
        steps: list[Any] = STEPS,
        resume: str | None = None,
        force: bool = False,
        detach_at: float | None = None,
        selected: set[str] | None = None,
    ) -> Engine:
        plan = plan_of(steps)
        start = self.clock.now

        def write(report: dict[str, Any]) -> None:
            self.reports.append(report)
            write_atomically(self.path, report)

        engine = Engine(
            plan,
            ModelFusion(self.model),
            self.clock,
            url="http://emulated",
            rng=random.Random(3),
            reporter=Journal(write),
            detach=detach_at is not None,
            interrupts=lambda: int(detach_at is not None and self.clock.now - start >= detach_at),
            resume=load_resume(resume, plan, force=force) if resume else None,
            selected=selected,
        )
        engine.preflight()
        engine.execute()
        return engine

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(Path(self.path).read_text())
        return data

    def outcomes(self) -> dict[str, str]:
        return {s["name"]: s["outcome"] for s in self.report()["steps"]}


def test_detach_leaves_runs_going(tmp_path: Path) -> None:
    session = Session(tmp_path)
    engine = session.run(detach_at=30)
    report = session.report()
    assert (engine.result.outcome, report["outcome"], report["detached"]) == (
        "interrupted",
        "interrupted",
        True,
    )
    assert session.outcomes() == {"a": "succeeded", "b": "running", "c": "failed", "d": "skipped"}
    b = report["steps"][1]
    assert b["reason"] == f"still running in Fusion (run {b['run_id']}); fusion-run detached"
    assert ("cancel", "b") not in session.model.requests


def test_resume_after_a_detach_follows_the_runs_left_going(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run(detach_at=30)
    b_run = session.report()["steps"][1]["run_id"]
    session.clock.advance(60)
    engine = session.run(resume=session.path)
    report = session.report()
    assert engine.result.outcome == "succeeded"
    assert session.outcomes() == dict.fromkeys("abcd", "succeeded")
    assert report["resumed_from"] == {"path": session.path, "outcome": "interrupted"}
    assert {name: session.model.starts(name) for name in "abcd"} == {"a": 1, "b": 1, "c": 2, "d": 1}
    b = report["steps"][1]
    [attempt] = b["attempts"]  # the same attempt, followed to its end: not a second one
    assert (attempt["run_id"], attempt["adopted"], attempt["outcome"]) == (
        b_run,
        False,
        "succeeded",
    )
    assert report["steps"][0]["attempts"][0]["status_reads"] > 0  # a's attempt, carried over


def test_resume_after_a_failure_reruns_the_failed_and_their_dependents(tmp_path: Path) -> None:
    session = Session(tmp_path)
    first = session.run()
    assert first.result.outcome == "failed"
    assert session.outcomes() == {"a": "succeeded", "b": "succeeded", "c": "failed", "d": "skipped"}
    session.run(resume=session.path)
    assert session.outcomes() == dict.fromkeys("abcd", "succeeded")
    assert {name: session.model.starts(name) for name in "abcd"} == {"a": 1, "b": 1, "c": 2, "d": 1}


def test_resume_from_a_report_cut_short_by_a_kill(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run()
    # What a kill -9 at t≈30 s would have left on disk: the report as it was then.
    cut = next(r for r in session.reports if r["steps"][1]["outcome"] == "running")
    write_atomically(session.path, cut)
    session.clock.now = 30.0  # back to the moment of the kill, for the model's runs too
    session.run(resume=session.path)
    assert session.model.starts("b") == 1  # picked up, not started again


def test_a_run_gone_from_fusion_is_started_again(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run(detach_at=30)
    session.model.jobs["b"].runs.clear()  # Fusion lost its run history
    session.run(resume=session.path)
    assert session.model.starts("b") == 2
    assert session.outcomes()["b"] == "succeeded"


def test_a_changed_plan_is_refused_unless_forced(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run()
    changed = [step("a"), step("b", "a", job="b2"), step("c"), step("e", "c")]
    with pytest.raises(UsageError) as caught:
        load_resume(session.path, plan_of(changed, sha256="1" * 64), force=False)
    assert str(caught.value) == (
        f"--resume {session.path}: the plan changed since that report was written ("
        "step 'e' added; step 'd' removed; step 'b' runs job 'b2', not 'b'; "
        "step 'c' waits for [], not ['a']); resume with --force to use the plan as it is now"
    )
    resume = load_resume(session.path, plan_of(changed, sha256="1" * 64), force=True)
    assert set(resume.steps) == {"a", "c"}  # b runs another job now, d is gone: run afresh


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it: No such file or directory"),
        (
            "{",
            "not JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        (
            '{"report_version": 2}',
            "not a fusion-run report (top level: 'fusion_run_version' is a required property)",
        ),
        (
            '{"report_version": 1, "fusion_run_version": "0.1.0"}',
            "the report is in format 1 (fusion-run 0.1.0); this fusion-run reads format 2 only: "
            "run the plan afresh, or use fusion-run 0.1.0",
        ),
    ],
)
def test_bad_reports(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError) as caught:
        load_resume(str(path), plan_of(STEPS), force=False)
    assert str(caught.value) == f"--resume {path}: {message}"


def test_a_selection_applies_to_what_the_resume_would_run(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run()
    assert session.outcomes() == {"a": "succeeded", "b": "succeeded", "c": "failed", "d": "skipped"}
    engine = session.run(resume=session.path, selected={"c"})
    assert engine.result.outcome == "succeeded"
    # a and b are kept as they were, whether selected or not; d would run again: left out
    assert session.outcomes() == {
        "a": "succeeded",
        "b": "succeeded",
        "c": "succeeded",
        "d": "not_run",
    }
    assert session.report()["steps"][3]["reason"] == "not selected"
    assert {name: session.model.starts(name) for name in "abcd"} == {"a": 1, "b": 1, "c": 2, "d": 0}


def test_a_run_left_going_by_a_step_left_out_is_named_and_found_by_a_later_resume(
    tmp_path: Path,
) -> None:
    session = Session(tmp_path)
    session.run(detach_at=30)
    b_run = session.report()["steps"][1]["run_id"]
    session.run(resume=session.path, selected={"c", "d"})
    b = session.report()["steps"][1]
    assert (b["outcome"], b["run_id"]) == ("not_run", b_run)
    assert b["reason"] == f"not selected; run {b_run}, left going earlier, was not followed"
    assert b["attempts"][-1]["outcome"] == "left_running"
    session.clock.advance(200)
    session.run(resume=session.path)
    assert session.outcomes() == dict.fromkeys("abcd", "succeeded")
    assert session.model.starts("b") == 1  # picked up where it was left: never started twice
