"""--select and --exclude: dbt's selection of steps, from the selectors to the command line
(tests/scenario/test_select.py runs plans with a selection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import wording
from runner.commands.options import Action, Options
from runner.errors import UsageError
from runner.plan.selection import selected_steps
from runner.reasons import NotSelected
from tests.helpers.cli import invoke
from tests.helpers.engine import plan_of
from tests.helpers.fakes import step
from tests.helpers.paths import WritePlan

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
    assert json.loads(Path("fusion-run-report.json").read_text())["verdict"]["exit_code"] == 2


def test_a_step_left_out_says_what_an_earlier_fusion_run_left_of_it() -> None:
    assert wording.text(NotSelected()) == "not selected"
    assert wording.text(NotSelected(run_id="41pjso2krv")) == (
        "not selected; run 41pjso2krv, left going earlier, was not followed"
    )
    assert wording.text(NotSelected(unverified=True)) == (
        "not selected; a start sent earlier, with no answer on record, was not verified"
    )
