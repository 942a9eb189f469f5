"""--select and --exclude: dbt's selection of steps, from the selectors to the command line
(tests/scenario/test_select.py runs plans with a selection)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from runner import wording
from runner.commands.options import Action, Options
from runner.errors import UsageError
from runner.plan.loader import load_plan
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


# --- tags, globs and --from -----------------------------------------------------------------------

#   crawl-docs -> aggregate -> train -> notify (at_least_one_failed)
#   crawl-shop ---^
TAGGED = plan_of(
    [
        replace(step("crawl-docs"), tags=("crawl", "nightly")),
        replace(step("crawl-shop"), tags=("crawl",)),
        step("aggregate", "crawl-docs", "crawl-shop"),
        replace(step("train", "aggregate"), tags=("nightly",)),
        step("notify", "train", run_if="at_least_one_failed"),
    ]
)


@pytest.mark.parametrize(
    ("select", "exclude", "start", "chosen"),
    [
        (("tag:crawl",), (), None, "crawl-docs crawl-shop"),
        (("tag:crawl+",), (), None, "crawl-docs crawl-shop aggregate train notify"),
        (("+tag:nightly",), (), None, "crawl-docs crawl-shop aggregate train"),
        (("crawl-*",), (), None, "crawl-docs crawl-shop"),
        (("*-d?cs+",), (), None, "crawl-docs aggregate train notify"),
        (("[at]*",), (), None, "aggregate train"),
        ((), ("tag:nightly",), None, "crawl-shop aggregate notify"),
        ((), (), "aggregate", "aggregate train notify"),
        ((), (), "crawl-*", "crawl-docs crawl-shop aggregate train notify"),
        (("tag:nightly",), (), "aggregate", "train"),  # --from keeps, of the selected steps
        ((), ("notify",), "train", "train"),
    ],
)
def test_tags_globs_and_from(
    select: tuple[str, ...], exclude: tuple[str, ...], start: str | None, chosen: str
) -> None:
    assert selected_steps(TAGGED, select, exclude, start) == frozenset(chosen.split())


@pytest.mark.parametrize(
    ("select", "exclude", "start", "message"),
    [
        (
            ("crwl-*",),
            (),
            None,
            "--select crwl-*: no step name matches 'crwl-*' (the closest: 'crawl-shop', "
            "'crawl-docs')",
        ),
        (("zz*",), (), None, "--select zz*: no step name matches 'zz*'"),
        (
            ("tag:crwal+",),
            (),
            None,
            "--select tag:crwal+: no step has the tag 'crwal' (the closest: 'crawl')",
        ),
        ((), (), "tran", "--from tran: the plan has no step 'tran' (did you mean 'train'?)"),
        ((), (), "+train", "--from +train: the plan has no step '+train' (did you mean 'train'?)"),
        (("crawl-docs",), (), "train", "--select and --from leave no step to run"),
        (("+train",), ("train",), "train", "--select, --exclude and --from leave no step to run"),
    ],
)
def test_selectors_of_no_tag_or_name_are_refused_with_the_closest(
    select: tuple[str, ...], exclude: tuple[str, ...], start: str | None, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        selected_steps(TAGGED, select, exclude, start)
    assert str(caught.value) == message


def test_a_tag_in_a_plan_that_tags_nothing_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        selected_steps(PLAN, ("tag:crawl",))
    assert (
        str(caught.value)
        == "--select tag:crawl: no step has the tag 'crawl'; the plan tags no step"
    )


def test_tags_are_read_from_the_plan_and_checked(write_plan: WritePlan) -> None:
    plan = write_plan(
        "version: 1\nsteps:\n  - job: crawl\n    tags: [crawl, nightly]\n"
        "  - job: train\n    tags: [bad tag]\n"
    )
    result = invoke(plan, "--validate")
    assert (result.exit_code, result.stderr) == (
        2,
        f"{plan}:6:12: $.steps[1].tags[0]: a tag is letters, digits, '_', '-' and '.', "
        "got 'bad tag'\n",
    )
    Path(plan).write_text(
        "version: 1\ndefaults:\n  tags: [nightly]\nsteps:\n  - job: crawl\n    tags: [crawl, web]\n"
        "  - train\n  - require: {job: signals, succeeded_within: 1d}\n"
    )
    assert [step.tags for step in load_plan(plan).steps] == [
        ("crawl", "web"),  # its own replace the defaults'
        ("nightly",),
        ("nightly",),
    ]


def test_the_resume_command_carries_from() -> None:
    options = Options(plans=("p.yaml",), action=Action.RUN, start_from="train")
    assert options.resume_command() == (
        "fusion-run p.yaml --resume fusion-run-report.json --from train"
    )


def test_the_name_of_a_for_each_step_selects_every_step_it_made(write_plan: WritePlan) -> None:
    plan = load_plan(
        write_plan(
            "version: 1\nsteps:\n  - name: crawl\n    job: datasource:${{ item }}\n"
            "    for_each: [shop, docs]\n  - job: aggregate\n  - job: train\n"
        )
    )
    assert selected_steps(plan, ("crawl",)) == frozenset({"crawl-shop", "crawl-docs"})
    assert selected_steps(plan, ("crawl+",)) == frozenset(
        {"crawl-shop", "crawl-docs", "aggregate", "train"}
    )
    assert selected_steps(plan, (), ("crawl",)) == frozenset({"aggregate", "train"})
    assert selected_steps(plan, (), (), "crawl") == frozenset(
        {"crawl-shop", "crawl-docs", "aggregate", "train"}
    )
