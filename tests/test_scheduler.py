from __future__ import annotations

import itertools

import pytest

from runner import wording
from runner.outcomes import Outcome
from runner.scheduler import Scheduler, Skip
from tests.helpers.fakes import step

S, F = Outcome.SUCCEEDED, Outcome.FAILED

# How each kind of upstream comes about: roots that succeed or fail, a step skipped because its
# upstream failed, and a failure handler excluded because nothing failed.
KINDS = {
    "S": [step("u{n}", "ok")],
    "F": [step("u{n}", "ok")],
    "K": [step("u{n}", "bad")],
    "E": [step("u{n}", "ok", run_if="at_least_one_failed")],
}
PAIRS = ["".join(p) for p in itertools.product("SFKE", repeat=2)]
# r: runs, s: skipped (counts as failed), x: excluded (counts as success); a letter a pair:
# SS SF SK SE FS FF FK FE KS KF KK KE ES EF EK EE
TABLE = {
    "all_success":          "rssrssssssssrssx",
    "at_least_one_success": "rrrrrssrrssrrrrx",
    "none_failed":          "rssrssssssssrssx",
    "all_done":             "rrrrrrrrrrrrrrrx",
    "at_least_one_failed":  "xrrxrrrrrrrrxrrx",
    "all_failed":           "xxxxxrrxxrrxxxxx",
}  # fmt: skip


def drive(run_if: str, pair: str) -> str:
    upstream = [KINDS[kind][0] for kind in pair]
    steps = [step("ok"), step("bad")]
    steps += [step(f"u{n}", *(u.depends_on), run_if=str(u.run_if)) for n, u in enumerate(upstream)]
    steps.append(step("x", "u0", "u1", run_if=run_if))
    scheduler = Scheduler(steps, max_parallel=10)
    skipped: dict[str, Skip] = {}

    def finish(name: str, outcome: Outcome) -> None:
        skipped.update({s.name: s for s in scheduler.finished(name, outcome)})

    assert scheduler.ready() == ["ok", "bad"]
    finish("ok", S)
    finish("bad", F)
    started = scheduler.ready()  # the upstreams that run; K and E ended with the roots
    for n, kind in enumerate(pair):
        if f"u{n}" in started:
            finish(f"u{n}", F if kind == "F" else S)
    started += scheduler.ready()
    if "x" in skipped:
        return "x" if skipped["x"].excluded else "s"
    assert "x" in started
    return "r"


@pytest.mark.parametrize("run_if", TABLE)
def test_run_if_truth_table(run_if: str) -> None:
    got = "".join(drive(run_if, pair) for pair in PAIRS)
    assert got == TABLE[run_if], dict(zip(PAIRS, got, strict=True))


def test_readme_table_matches() -> None:
    from tests.helpers.paths import ROOT  # noqa: PLC0415

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in TABLE:
        assert f"| `{rule}`" in readme


def said(skips: list[Skip]) -> list[tuple[str, str, bool]]:
    """Each skip as (step, its reason in words, excluded)."""
    return [(skip.name, wording.text(skip.reason), skip.excluded) for skip in skips]


def test_cascade_skips_every_dependent_in_one_step_with_reasons() -> None:
    steps = [
        step("train"),
        step("evaluate", "train"),
        step("publish", "evaluate"),
        step("notify", "publish", run_if="all_done"),
        step("alert", "train", run_if="at_least_one_failed"),
    ]
    scheduler = Scheduler(steps, max_parallel=4)
    assert scheduler.ready() == ["train"]
    assert said(scheduler.finished("train", Outcome.TIMED_OUT)) == [
        ("evaluate", "upstream 'train' timed out", False),
        ("publish", "upstream 'evaluate' was skipped", False),
    ]
    assert scheduler.ready() == ["notify", "alert"]
    assert scheduler.outcomes == {
        "train": Outcome.TIMED_OUT,
        "evaluate": Outcome.SKIPPED,
        "publish": Outcome.SKIPPED,
    }


@pytest.mark.parametrize(
    ("run_if", "outcomes", "reason"),
    [
        ("all_success", [F, F], "upstream 'a' failed (and 1 more)"),
        ("all_success", [S, Outcome.CANCELLED], "upstream 'b' was cancelled"),
        ("at_least_one_success", [F, F], "no upstream succeeded"),
        ("none_failed", [S, F], "upstream 'b' failed"),
        ("at_least_one_failed", [S, S], "no upstream failed (run_if: at_least_one_failed)"),
        ("all_failed", [F, S], "upstream 'b' did not fail (run_if: all_failed)"),
    ],
)
def test_skip_reasons(run_if: str, outcomes: list[Outcome], reason: str) -> None:
    scheduler = Scheduler(
        [step("a"), step("b"), step("c", "a", "b", run_if=run_if)], max_parallel=2
    )
    scheduler.ready()
    scheduler.finished("a", outcomes[0])
    [skip] = scheduler.finished("b", outcomes[1])
    assert wording.text(skip.reason) == reason


def test_every_upstream_excluded() -> None:
    steps = [
        step("a"),
        step("on-fail", "a", run_if="at_least_one_failed"),
        step("after", "on-fail", run_if="all_done"),
    ]
    scheduler = Scheduler(steps, max_parallel=2)
    scheduler.ready()
    assert said(scheduler.finished("a", S)) == [
        ("on-fail", "no upstream failed (run_if: at_least_one_failed)", True),
        ("after", "every upstream was excluded", True),
    ]
    assert scheduler.done


def test_max_parallel_and_plan_order() -> None:
    steps = [step(name) for name in "abcde"]
    scheduler = Scheduler(steps, max_parallel=2)
    assert scheduler.ready() == ["a", "b"]
    assert scheduler.ready() == []
    scheduler.finished("b", S)
    assert scheduler.ready() == ["c"]
    scheduler.finished("a", S)
    scheduler.finished("c", S)
    assert scheduler.ready() == ["d", "e"]


def test_ready_in_plan_order_when_released_out_of_order() -> None:
    steps = [step("r1"), step("r2"), step("late", "r2"), step("early", "r1")]
    scheduler = Scheduler(steps, max_parallel=1)
    scheduler.ready()
    scheduler.finished("r1", S)
    scheduler.ready()  # r2
    scheduler.finished("r2", S)
    assert scheduler.ready() == ["late"]  # 'late' is listed before 'early'


def test_fail_fast_stops_starting() -> None:
    steps = [step("a"), step("b"), step("c"), step("d", "a")]
    scheduler = Scheduler(steps, max_parallel=2, fail_fast=True)
    assert scheduler.ready() == ["a", "b"]
    assert said(scheduler.finished("a", F)) == [("d", "upstream 'a' failed", False)]
    assert scheduler.stopped
    assert scheduler.ready() == []
    assert scheduler.stop() == ["c"]
    scheduler.skip("c")
    scheduler.finished("b", Outcome.CANCELLED)
    assert scheduler.done
    assert scheduler.outcomes["c"] is Outcome.NOT_RUN


def test_fail_fast_ignores_allowed_failures() -> None:
    scheduler = Scheduler(
        [step("a", allow_failure=True), step("b")], max_parallel=1, fail_fast=True
    )
    scheduler.ready()
    scheduler.finished("a", F)
    assert scheduler.ready() == ["b"]


def test_a_step_ends_once() -> None:
    scheduler = Scheduler([step("a")], max_parallel=1)
    scheduler.ready()
    scheduler.finished("a", S)
    with pytest.raises(ValueError, match="step 'a' already ended \\(succeeded\\)"):
        scheduler.finished("a", F)


def test_work_per_event_touches_only_dependents() -> None:
    """A wide plan: finishing one step looks only at its own dependents."""
    steps = [step("root")] + [step(f"s{i}", "root") for i in range(10_000)]
    scheduler = Scheduler(steps, max_parallel=10_000)
    scheduler.ready()
    scheduler.finished("root", S)
    assert len(scheduler.ready()) == 10_000
    scheduler.finished("s5", S)
    assert scheduler.ready() == []
