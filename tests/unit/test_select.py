"""--select and --exclude: dbt's selection of steps, from the selectors to the report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner import wording
from runner.commands.options import Action, Options
from runner.emulator.scenario import RunScript
from runner.errors import UsageError
from runner.events import StepEnded
from runner.plan.selection import selected_steps
from runner.reasons import NotSelected
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, plan_of, run, runs
from tests.helpers.fakes import step
from tests.helpers.paths import WritePlan
from tests.helpers.reports import read_report

#   a -> b -> d -> e        c+ is a step whose name ends in "+"
#   c+ ---^
PLAN = plan_of([step("a"), step("c+"), step("b", "a", "c+"), step("d", "b"), step("e", "d")])


@pytest.mark.parametrize(
    ("select", "exclude", "chosen"),
    [
        ((), (), None),
        (("b",), (), "b"),
        (("+b",), (), "a b c+"),
        (("b+",), (), "b d e"),
        (("+b+",), (), "a b c+ d e"),
        (("a", "e"), (), "a e"),
        (("c+",), (), "c+"),  # the whole name first
        (("c++",), (), "b c+ d e"),
        (("+c+",), (), "c+"),  # +(c+): c+ has no upstream
        ((), ("d+",), "a b c+"),
        (("+d",), ("+a+",), "c+"),  # --exclude after --select
    ],
)
def test_selectors(select: tuple[str, ...], exclude: tuple[str, ...], chosen: str | None) -> None:
    expected = None if chosen is None else frozenset(chosen.split())
    assert selected_steps(PLAN, select, exclude) == expected


@pytest.mark.parametrize(
    ("select", "exclude", "message"),
    [
        (("+bb",), (), "--select +bb: the plan has no step 'bb' (did you mean 'b'?)"),
        (("zzz+",), (), "--select zzz+: the plan has no step 'zzz'"),
        ((), ("dd",), "--exclude dd: the plan has no step 'dd' (did you mean 'd'?)"),
        (("+",), (), "--select +: expected STEP, +STEP, STEP+ or +STEP+"),
        (("a",), ("+a+",), "--select and --exclude leave no step to run"),
        ((), ("+e",), "--exclude leaves no step to run"),
    ],
)
def test_selectors_that_select_nothing_are_refused(
    select: tuple[str, ...], exclude: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        selected_steps(PLAN, select, exclude)
    assert str(caught.value) == message


# --- in the engine --------------------------------------------------------------------------------


def test_a_step_whose_upstream_is_not_selected_runs_as_if_it_had_succeeded() -> None:
    scenario = jobs(a=runs(RunScript(state="error")))  # a would fail: it is not selected
    steps = [step("a"), step("b", "a"), step("c", "b"), step("d", "b", run_if="all_failed")]
    result = run(steps, scenario, selected={"b", "d"})
    assert result.outcomes() == {"a": "not_run", "b": "succeeded", "c": "not_run", "d": "skipped"}
    assert result.step("a")["reason"] == "not selected"
    assert result.step("d")["reason"] == "upstream 'b' did not fail (run_if: all_failed)"
    assert result.outcome == "succeeded"
    assert (result.model.starts("a"), result.model.starts("b"), result.model.starts("c")) == (
        0,
        1,
        0,
    )
    assert result.report["summary"]["not_run"] == 2
    ended = {event.step for event in result.of(StepEnded)}
    assert ended == {"b", "d"}  # a step left out is in the summary, not announced as it ends


def test_a_selected_step_that_fails_fails_the_plan() -> None:
    scenario = jobs(b=runs(RunScript(state="error")))
    result = run([step("a"), step("b", "a")], scenario, selected={"b"})
    assert result.outcomes() == {"a": "not_run", "b": "failed"}
    assert result.outcome == "failed"


def test_only_the_selected_steps_jobs_must_exist() -> None:
    def gone(model: object, _: object) -> None:
        model.jobs.pop("a")  # type: ignore[attr-defined]

    result = run([step("a"), step("b", "a")], before=gone, selected={"b"})
    assert result.outcomes() == {"a": "not_run", "b": "succeeded"}


# --- from the command line ------------------------------------------------------------------------


def test_the_resume_command_carries_the_selection() -> None:
    options = Options(plans=("p.yaml",), action=Action.RUN, select=("+b", "c"), exclude=("a",))
    assert options.resume_command() == (
        "fusion-run p.yaml --resume fusion-run-report.json --select +b --select c --exclude a"
    )


def test_an_unknown_step_is_refused_before_anything_starts(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps: [crawl, train]\n")
    result = invoke(plan, "--emulate", "--select", "trian+")
    assert (result.exit_code, result.stderr) == (
        2,
        "fusion-run: --select trian+: the plan has no step 'trian' (did you mean 'train'?)\n",
    )
    assert not Path("fusion-run-report.json").exists()


def test_check_asks_only_about_the_selected_steps(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text("version: 1\nmissing: [crawl]\n")
    plan = write_plan("version: 1\nname: p\nsteps: [crawl, train]\n")
    result = invoke(plan, "--check", "--emulate", "--scenario", "s.yaml", "--exclude", "crawl")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[:2] == ["crawl (crawl): not selected", "train (train): exists; not running"]
    assert lines[2].startswith("fusion-run: plan p is ready: its 1 selected job(s) exist in the ")


@pytest.mark.slow
def test_a_selected_run_succeeds_and_says_what_was_left_out(write_plan: WritePlan) -> None:
    Path("s.yaml").write_text(
        "version: 1\njobs:\n"
        + "".join(f"  {job}:\n    runs: [{{duration: 0.2}}]\n" for job in ("crawl", "train"))
    )
    plan = write_plan("version: 1\nname: p\nsteps: [crawl, train, evaluate]\n")
    result = invoke(
        plan, "--emulate", "--scenario", "s.yaml", "--select", "+train", "--junit", "j.xml"
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("fusion-run: plan p: 3 step(s), 2 selected, against the emulator")
    assert "evaluate  not_run    -         0      -           not selected" in lines
    assert lines[-1].endswith(": 2 succeeded, 1 not run. Report: fusion-run-report.json")
    report = read_report()
    assert (report["outcome"], report["steps"][2]["reason"]) == ("succeeded", "not selected")
    skipped = ET.parse("j.xml").getroot().find("./testsuite/testcase[@name='evaluate']/skipped")
    assert skipped is not None
    assert (skipped.get("type"), skipped.get("message")) == ("not_run", "not selected")
    assert json.loads(Path("fusion-run-report.json").read_text())["summary"]["not_run"] == 1


def test_a_step_left_out_says_what_an_earlier_fusion_run_left_of_it() -> None:
    assert wording.text(NotSelected()) == "not selected"
    assert wording.text(NotSelected(run_id="41pjso2krv")) == (
        "not selected; run 41pjso2krv, left going earlier, was not followed"
    )
    assert wording.text(NotSelected(unverified=True)) == (
        "not selected; a start sent earlier, with no answer on record, was not verified"
    )
