from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import JobScript, RunScript, Scenario
from runner.engine import Engine
from runner.errors import UsageError
from runner.fusion.routes import key as key_of
from runner.plan import AllowedFailures
from runner.report.journal import Journal, write_atomically
from runner.verdict import verdict
from tests.helpers.cli import invoke
from tests.helpers.engine import plan_of
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.paths import WritePlan

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

    def __init__(self, tmp_path: Path, scenario: Scenario = SCENARIO) -> None:
        self.clock = FakeClock()
        jobs = list(scenario.jobs)
        self.model = EmulatedFusion(scenario, clock=self.clock, epoch=EPOCH, extra_jobs=jobs)
        self.path = str(tmp_path / "report.json")
        self.reports: list[dict[str, Any]] = []

    def run(
        self,
        *,
        steps: list[Any] = STEPS,
        resume: str | None = None,
        force: bool = False,
        detach_at: float | None = None,
        interrupt_at: float | None = None,
        selected: set[str] | None = None,
    ) -> Engine:
        plan = plan_of(steps)
        start = self.clock.now
        signal_at = detach_at if detach_at is not None else interrupt_at

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
            interrupts=lambda: int(signal_at is not None and self.clock.now - start >= signal_at),
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
        'step b: job b -> b2; step c: depends_on ["a"] -> []; step e added; step d removed); '
        "resume with --force to use the plan as it is now"
    )
    notes: list[str] = []
    resume = load_resume(
        session.path, plan_of(changed, sha256="1" * 64), force=True, note=notes.append
    )
    assert set(resume.steps) == {"a", "c"}  # b runs another job now, d is gone: run afresh
    assert notes == [
        f"--resume {session.path}: the plan changed since that report was written; resuming "
        'with it as it is now (step b: job b -> b2; step c: depends_on ["a"] -> []; '
        "step e added; step d removed)"
    ]


def test_an_edit_that_changes_no_setting_resumes_without_a_word(tmp_path: Path) -> None:
    """A comment or a reformatted line changes the file's sha256, not what the plan means."""
    session = Session(tmp_path)
    session.run()
    notes: list[str] = []
    resume = load_resume(
        session.path, plan_of(STEPS, sha256="1" * 64), force=False, note=notes.append
    )
    assert set(resume.steps) == {"a", "b", "c", "d"}
    assert notes == []


def test_settings_of_waiting_and_retrying_change_without_force_and_are_used(
    tmp_path: Path,
) -> None:
    session = Session(tmp_path)
    session.run()
    assert session.outcomes()["c"] == "failed"
    changed = [step("a"), step("b", "a"), step("c", "a", timeout=2, retries=2), step("d", "c")]
    notes: list[str] = []
    load_resume(session.path, plan_of(changed, max_parallel=2), force=False, note=notes.append)
    assert notes == [
        f"--resume {session.path}: the plan changed since that report was written; resuming "
        "with it as it is now (max_parallel 4 -> 2; step c: timeout 2h -> 2s; "
        "step c: retries 0 -> 2)"
    ]
    engine = session.run(steps=changed, resume=session.path)  # c's next run takes 5 s
    assert session.outcomes()["c"] == "timed_out"
    assert [a.outcome for a in engine.result.step("c").attempts] == ["failed", "timed_out"]


def test_a_change_to_how_a_step_is_judged_is_refused_naming_each_setting(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run()
    changed = [
        step("a", states=("finished",), expect=("result.ok",)),
        step("b", "a", timeout=60),
        step("c", "a"),
        step("d", "c"),
    ]
    with pytest.raises(UsageError) as caught:
        load_resume(session.path, plan_of(changed), force=False)
    assert str(caught.value) == (
        f"--resume {session.path}: the plan changed since that report was written ("
        'step a: success.states ["finished", "skipped"] -> ["finished"]; '
        'step a: success.expect [] -> ["result.ok"]); '
        "resume with --force to use the plan as it is now"
    )


def test_a_report_of_an_older_format_is_compared_by_the_files_sha256(tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.run()
    report = json.loads(Path(session.path).read_text())
    report["plan"]["settings"] = None  # as format 4 reads
    Path(session.path).write_text(json.dumps(report))
    assert set(load_resume(session.path, plan_of(STEPS), force=False).steps) == {"a", "b", "c", "d"}
    with pytest.raises(UsageError) as caught:
        load_resume(session.path, plan_of(STEPS, sha256="1" * 64), force=False)
    assert str(caught.value) == (
        f"--resume {session.path}: the plan changed since that report was written (the steps "
        "are the same; other settings differ); resume with --force to use the plan as it is now"
    )


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
            "the report is in format 1 (fusion-run 0.1.0); this fusion-run reads formats 2 to 5 "
            "only: run the plan afresh, or use fusion-run 0.1.0",
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


def test_a_step_left_out_of_a_resume_that_had_failed_still_fails_and_holds_back_its_downstream(
    tmp_path: Path,
) -> None:
    """Leaving a failed step out does not make it good: it keeps its outcome and reason, counts
    as failed for the steps after it, and the plan fails as it did."""
    session = Session(tmp_path)
    session.run()
    c_reason = session.report()["steps"][2]["reason"]
    engine = session.run(resume=session.path, selected={"d"})
    assert engine.result.outcome == "failed"
    assert verdict(engine.result).words() == "exit 1: step 'c' failed"
    c, d = session.report()["steps"][2:]
    assert (c["outcome"], c["reason"], len(c["attempts"])) == ("failed", c_reason, 1)
    assert (d["outcome"], d["reason"]) == ("skipped", "upstream 'c' failed")
    assert {name: session.model.starts(name) for name in "cd"} == {"c": 1, "d": 0}
    session.run(resume=session.path, selected={"c", "d"})  # selected, c runs again, and d after
    assert session.outcomes() == dict.fromkeys("abcd", "succeeded")


def test_a_skip_left_out_of_a_resume_holds_back_its_downstream_while_its_failure_stands(
    tmp_path: Path,
) -> None:
    session = Session(
        tmp_path, Scenario(jobs={**SCENARIO.jobs, "e": JobScript(runs=(RunScript(duration=5),))})
    )
    steps = [*STEPS, step("e", "d")]
    session.run(steps=steps)
    assert session.outcomes() == {
        "a": "succeeded", "b": "succeeded", "c": "failed", "d": "skipped", "e": "skipped"
    }  # fmt: skip
    c_reason = session.report()["steps"][2]["reason"]
    engine = session.run(steps=steps, resume=session.path, selected={"e"})
    assert verdict(engine.result).words() == "exit 1: step 'c' failed"  # d: its skip, not named
    assert [(s["outcome"], s["reason"]) for s in session.report()["steps"][2:]] == [
        ("failed", c_reason),
        ("skipped", "upstream 'c' failed"),
        ("skipped", "upstream 'd' was skipped"),
    ]
    session.run(steps=steps, resume=session.path, selected={"c", "e"})  # c runs again: d's skip
    assert session.outcomes() == {  # is stale, d is left out as any step, and e runs
        "a": "succeeded", "b": "succeeded", "c": "succeeded", "d": "not_run", "e": "succeeded"
    }  # fmt: skip


def test_a_run_left_going_by_a_step_left_out_is_named_and_found_by_a_later_resume(
    tmp_path: Path,
) -> None:
    """Leaving it out does not make it good: the run may still be going, so the step has no
    outcome, fails the plan, and counts as failed for the steps after it."""
    session = Session(tmp_path)
    session.run(detach_at=30)
    b_run = session.report()["steps"][1]["run_id"]
    engine = session.run(resume=session.path, selected={"c", "d"})
    b = session.report()["steps"][1]
    assert (b["outcome"], b["run_id"]) == ("running", b_run)
    assert b["reason"] == f"not selected; run {b_run}, left going earlier, was not followed"
    assert b["attempts"][-1]["outcome"] == "left_running"
    assert verdict(engine.result).words() == "exit 1: step 'b' may still be running in Fusion"
    session.clock.advance(200)
    session.run(resume=session.path)
    assert session.outcomes() == dict.fromkeys("abcd", "succeeded")
    assert session.model.starts("b") == 1  # picked up where it was left: never started twice


def test_a_step_after_a_run_left_going_and_left_out_does_not_start_while_it_may_go_on(
    tmp_path: Path,
) -> None:
    session = Session(
        tmp_path, Scenario(jobs={**SCENARIO.jobs, "e": JobScript(runs=(RunScript(duration=5),))})
    )
    steps = [*STEPS, step("e", "b")]
    session.run(steps=steps, detach_at=30)
    b_run = session.report()["steps"][1]["run_id"]
    engine = session.run(steps=steps, resume=session.path, selected={"e"})
    assert verdict(engine.result).words() == (
        "exit 1: step 'b' may still be running in Fusion, step 'c' failed"  # c: as it was
    )
    e = session.report()["steps"][4]
    assert (e["outcome"], e["reason"]) == ("skipped", "upstream 'b' may still be running in Fusion")
    assert session.model.starts("e") == 0
    session.clock.advance(200)
    session.run(steps=steps, resume=session.path)  # a plain resume follows b, then runs e
    assert session.report()["steps"][1]["run_id"] == b_run
    assert session.outcomes()["e"] == "succeeded"
    assert session.model.starts("b") == 1


# --- a run left going is followed at once, whatever its upstream does in the resume ---------------

FAILS_THEN_HANDLES = Scenario(
    jobs={
        "prep": JobScript(runs=(RunScript(duration=1, state="error"), RunScript(duration=3))),
        "cleanup": JobScript(runs=(RunScript(duration=120),)),
    }
)
HANDLER_STEPS = [
    step("prep", allow_failure=True),
    replace(
        step("cleanup", "prep", run_if="at_least_one_failed"),
        allowed_failures=AllowedFailures.FAIL,  # prep's allowed failure is what it handles
    ),
]


def detached_with_cleanup_going(tmp_path: Path) -> tuple[Session, str]:
    session = Session(tmp_path, FAILS_THEN_HANDLES)
    session.run(steps=HANDLER_STEPS, detach_at=5)
    assert session.outcomes() == {"prep": "failed", "cleanup": "running"}
    return session, session.report()["steps"][1]["run_id"]


def test_a_run_left_going_is_followed_to_its_end_though_its_upstream_runs_again(
    tmp_path: Path,
) -> None:
    """prep failed (allowed), so cleanup ran; the resume runs prep again, and it succeeds. The
    cleanup run already going is still followed to its end, not skipped while it goes on."""
    session, cleanup_run = detached_with_cleanup_going(tmp_path)
    engine = session.run(steps=HANDLER_STEPS, resume=session.path)
    assert engine.result.outcome == "succeeded"
    assert session.outcomes() == {"prep": "succeeded", "cleanup": "succeeded"}
    cleanup = session.report()["steps"][1]
    assert [a["run_id"] for a in cleanup["attempts"]] == [cleanup_run]
    assert session.model.status("cleanup")["state"] == "finished"


def test_a_resume_interrupted_cancels_the_run_it_picked_up(tmp_path: Path) -> None:
    session, cleanup_run = detached_with_cleanup_going(tmp_path)
    engine = session.run(steps=HANDLER_STEPS, resume=session.path, interrupt_at=2)
    assert engine.result.outcome == "interrupted"
    cleanup = session.report()["steps"][1]
    assert (cleanup["outcome"], cleanup["run_id"]) == ("cancelled", cleanup_run)
    assert ("cancel", "cleanup") in session.model.requests


def test_a_resume_detached_at_once_keeps_the_run_it_picks_up_named(tmp_path: Path) -> None:
    """A signal before the first pass (say, during the check of the jobs): the step whose run
    is going stays running, with its run, rather than becoming "not started"."""
    session, cleanup_run = detached_with_cleanup_going(tmp_path)
    session.run(steps=HANDLER_STEPS, resume=session.path, detach_at=0)
    cleanup = session.report()["steps"][1]
    assert (cleanup["outcome"], cleanup["run_id"]) == ("running", cleanup_run)
    assert cleanup["reason"] == f"still running in Fusion (run {cleanup_run}); fusion-run detached"


def test_a_run_gone_waits_for_its_upstream_before_starting_again(tmp_path: Path) -> None:
    """The run left going is gone from Fusion (a restarted Fusion, say): the step is started
    again only once its upstream has settled in this run, and judged by run_if then."""
    session, _ = detached_with_cleanup_going(tmp_path)
    session.model.jobs[key_of("cleanup")].runs.clear()  # a Fusion restarted, its runs gone
    engine = session.run(steps=HANDLER_STEPS, resume=session.path)
    assert session.outcomes() == {"prep": "succeeded", "cleanup": "skipped"}
    assert (
        session.report()["steps"][1]["reason"] == "no upstream failed (run_if: at_least_one_failed)"
    )
    assert engine.result.outcome == "succeeded"
    assert session.model.starts("cleanup") == 1  # the one before the detach: none again


def test_a_forced_resume_never_drops_a_run_left_going(tmp_path: Path) -> None:
    """--force takes the plan as it is now, but not a plan that lost the step whose run is
    still going: the new report would not name that run."""
    session = Session(tmp_path)
    session.run(detach_at=30)
    b_run = session.report()["steps"][1]["run_id"]
    renamed = [step("a"), step("b", "a", job="a2"), step("c", "a"), step("d", "c")]
    with pytest.raises(UsageError) as refused:
        load_resume(session.path, plan_of(renamed), force=True)
    assert str(refused.value) == (
        f"--resume {session.path}: step 'b' (job 'b') left run {b_run} going, and the plan no "
        "longer has that step with that job: put it back to follow the run, or stop the run in "
        "Fusion and run the plan afresh"
    )
    kept = [step("a"), step("b", "a"), step("c", "a")]  # d, which has no run going, may go
    assert set(load_resume(session.path, plan_of(kept), force=True).steps) == {"a", "b", "c"}


def test_a_run_picked_up_keeps_the_timeout_it_started_with(tmp_path: Path) -> None:
    """b (120 s, timeout 100 s) starts at 10 s and is left going at 30 s; the resume comes a
    minute later. b's timeout counts from its start, not from the resume: it is cancelled when
    the run is 100 s old, not 100 s after the resume."""
    steps = [step("a"), step("b", "a", timeout=100), step("c", "a"), step("d", "c")]
    session = Session(tmp_path)
    session.run(steps=steps, detach_at=30)
    session.clock.advance(60)
    session.run(steps=steps, resume=session.path)
    b = session.report()["steps"][1]
    assert b["outcome"] == "timed_out"
    [run] = session.model.runs_of("b")
    assert run.cancelled is not None
    assert 100 <= run.cancelled - run.started <= 101


CRAWLS = Scenario(
    jobs={
        "datasource:empty": JobScript(
            runs=(RunScript(duration=5, state="success", result={"counter.output": 0}),)
        ),
        "datasource:long": JobScript(
            runs=(RunScript(duration=120, state="success", result={"counter.output": 9}),)
        ),
    }
)
CRAWL_STEPS = [
    step("empty", job="datasource:empty", states=("success",)),
    step("long", job="datasource:long", states=("success",), warn_after=30),
]


def test_a_resume_keeps_the_warnings_said_and_the_id_of_a_jobs_api_run_it_picks_up(
    tmp_path: Path,
) -> None:
    """A warning is on disk once said (a kill after it keeps it), a resume keeps the earlier
    process's warnings, and a Jobs API run picked up (whose job view names no run) keeps the id
    the earlier report gave it."""
    session = Session(tmp_path, CRAWLS)
    session.run(steps=CRAWL_STEPS, detach_at=40)
    said = session.report()["warnings"]
    assert [(w["step"], w["text"].split(" ")[-1]) for w in said] == [
        ("empty", "work"),  # indexed 0 documents: it did no work
        ("long", "30s"),  # has run 30s, longer than warn_after 30s
    ]
    late = next(r for r in session.reports if len(r["warnings"]) == 2)
    assert late["steps"][1]["outcome"] == "running"  # written when said, not at the end
    long_run = session.report()["steps"][1]["run_id"]
    assert long_run
    session.clock.advance(60)
    engine = session.run(steps=CRAWL_STEPS, resume=session.path)
    report = session.report()
    assert engine.result.outcome == "succeeded"
    assert report["warnings"] == said  # kept, and the late run not warned of twice
    assert report["steps"][1]["attempts"][0]["warned"] == ["late"]
    long = report["steps"][1]
    assert (long["run_id"], long["attempts"][0]["run_id"]) == (long_run, long_run)


def test_a_resume_says_the_settings_it_takes_from_the_plan_now(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps:\n  - job: crawl\n    timeout: 1h\n")
    assert invoke(plan, "--emulate").exit_code == 0
    write_plan("version: 1\nsteps:\n  - job: crawl  # the nightly crawl\n    timeout: 2h\n")
    result = invoke(plan, "--emulate", "--resume", "fusion-run-report.json")
    assert result.exit_code == 0, result.stderr
    assert (
        "--resume fusion-run-report.json: the plan changed since that report was written; "
        "resuming with it as it is now (step crawl: timeout 1h -> 2h)\n"
    ) in result.stderr
