from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from runner import wording
from runner.engine.scheduler import Scheduler, Skip
from runner.outcomes import Outcome
from runner.plan import AllowedFailures
from tests.helpers.fakes import step
from tests.helpers.paths import DOCS

S, F = Outcome.SUCCEEDED, Outcome.FAILED

# How each kind of upstream comes about: roots that succeed or fail, a step skipped because its
# upstream failed, and a failure handler excluded because nothing failed; A and L fail and are
# skipped as F and K do, but with allow_failure.
KINDS = {
    "S": step("u{n}", "ok"),
    "F": step("u{n}", "ok"),
    "K": step("u{n}", "bad"),
    "E": step("u{n}", "ok", run_if="at_least_one_failed"),
    "A": step("u{n}", "ok", allow_failure=True),
    "L": step("u{n}", "bad", allow_failure=True),
}
PAIRS = ["".join(p) for p in itertools.product(KINDS, repeat=2)]
# r: runs, s: skipped (counts as failed), x: excluded (counts as success); a letter a pair, the
# pairs in the order of PAIRS (SS SF SK SE SA SL FS FF ... LL); an allowed failure (A, L) counts
# as a success (allowed_failures: pass, the default)
TABLE = {
    "all_success":          "rssrrrssssssssssssrssxrrrssrrrrssrrr",
    "at_least_one_success": "rrrrrrrssrrrrssrrrrrrxrrrrrrrrrrrrrr",
    "none_failed":          "rssrrrssssssssssssrssxrrrssrrrrssrrr",
    "all_done":             "rrrrrrrrrrrrrrrrrrrrrxrrrrrrrrrrrrrr",
    "at_least_one_failed":  "xrrxxxrrrrrrrrrrrrxrrxxxxrrxxxxrrxxx",
    "all_failed":           "xxxxxxxrrxxxxrrxxxxxxxxxxxxxxxxxxxxx",
}  # fmt: skip
# ... and with allowed_failures: fail, as a failure: A as F, L as K
STRICT = {
    rule: "".join(row[PAIRS.index(pair.replace("A", "F").replace("L", "K"))] for pair in PAIRS)
    for rule, row in TABLE.items()
}


def drive(run_if: str, pair: str, allowed: str = "pass") -> str:
    upstream = [KINDS[kind] for kind in pair]
    steps = [step("ok"), step("bad")]
    steps += [replace(u, name=f"u{n}", job=f"u{n}") for n, u in enumerate(upstream)]
    steps.append(
        replace(step("x", "u0", "u1", run_if=run_if), allowed_failures=AllowedFailures(allowed))
    )
    scheduler = Scheduler(steps, max_parallel=10)
    skipped: dict[str, Skip] = {}

    def finish(name: str, outcome: Outcome) -> None:
        skipped.update({s.name: s for s in scheduler.finished(name, outcome)})

    assert scheduler.ready() == ["ok", "bad"]
    finish("ok", S)
    finish("bad", F)
    started = scheduler.ready()  # the upstreams that run; K, L and E ended with the roots
    for n, kind in enumerate(pair):
        if f"u{n}" in started:
            finish(f"u{n}", F if kind in "FA" else S)
    started += scheduler.ready()
    if "x" in skipped:
        return "x" if skipped["x"].excluded else "s"
    assert "x" in started
    return "r"


@pytest.mark.parametrize("run_if", TABLE)
def test_run_if_truth_table(run_if: str) -> None:
    got = "".join(drive(run_if, pair) for pair in PAIRS)
    assert got == TABLE[run_if], dict(zip(PAIRS, got, strict=True))


@pytest.mark.parametrize("run_if", TABLE)
def test_run_if_truth_table_with_allowed_failures_counted_as_failures(run_if: str) -> None:
    got = "".join(drive(run_if, pair, "fail") for pair in PAIRS)
    assert got == STRICT[run_if], dict(zip(PAIRS, got, strict=True))


# What the words of the plan file's reference (docs/reference/plan.md) for each run_if mean, over
# the classes of the upstreams; a row whose words are not here fails the test, so the reference
# cannot drift into words nobody checked.
README_RUNS_WHEN: dict[str, Callable[[str], bool]] = {
    "every upstream succeeded, was allowed to fail or was excluded": lambda pair: all(
        c in "SEAL" for c in pair
    ),
    "at least one upstream succeeded, was allowed to fail or was excluded": lambda pair: any(
        c in "SEAL" for c in pair
    ),
    "no upstream failed, and at least one succeeded or was allowed to fail": lambda pair: (
        not any(c in "FK" for c in pair) and any(c in "SAL" for c in pair)
    ),
    "always, once every upstream has ended": lambda pair: True,
    "at least one upstream failed": lambda pair: any(c in "FK" for c in pair),
    "every upstream failed": lambda pair: all(c in "FK" for c in pair),
}
README_SKIPPED_AS = {"upstream failed": "s", "excluded": "x", "(never skipped)": ""}


def test_the_readme_table_says_what_the_scheduler_does() -> None:
    """Each row of the documented run_if table, read as a rule, gives the truth table above; and
    the sentence on allowed_failures: fail gives the strict one."""
    readme = (DOCS / "reference" / "plan.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)`(?: \(default\))? \| ([^|]+) \| ([^|]+) \|$", readme, re.M)
    rows = [row for row in rows if row[0] != "run_if"]  # the header
    assert [rule for rule, _, _ in rows] == list(TABLE)
    assert "When every upstream was excluded, the step is excluded too" in readme
    assert (
        "With `allowed_failures: fail`, the step counts an upstream allowed to fail as failed"
        in " ".join(readme.split())
    )
    for rule, runs_when, skipped_as in rows:
        runs, skip = README_RUNS_WHEN[runs_when.strip()], README_SKIPPED_AS[skipped_as.strip()]
        said = "".join("x" if pair == "EE" else ("r" if runs(pair) else skip) for pair in PAIRS)
        assert said == TABLE[rule], rule
        strict = [pair.replace("A", "F").replace("L", "K") for pair in PAIRS]
        said = "".join("x" if pair == "EE" else ("r" if runs(pair) else skip) for pair in strict)
        assert said == STRICT[rule], rule


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


class Counting(dict[str, Any]):
    """A dict that counts each entry it is asked for, tests for, stores or yields."""

    touched = 0

    def __getitem__(self, key: str) -> Any:
        Counting.touched += 1
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        Counting.touched += 1
        super().__setitem__(key, value)

    def __contains__(self, key: object) -> bool:
        Counting.touched += 1
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        Counting.touched += 1
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:
        for key in super().__iter__():
            Counting.touched += 1
            yield key

    def values(self) -> Any:
        return [self[key] for key in self]

    def items(self) -> Any:
        return [(key, self[key]) for key in self]


def test_work_per_event_touches_only_dependents() -> None:
    """A wide plan: finishing a step touches its own dependents, never the whole plan."""
    steps = [step("root")] + [step(f"s{i}", "root") for i in range(10_000)] + [step("end", "s5")]
    scheduler = Scheduler(steps, max_parallel=20_000)
    for name in ("steps", "order", "dependents", "waiting", "outcomes", "classes"):
        setattr(scheduler, name, Counting(getattr(scheduler, name)))

    def work(event: Callable[[], object]) -> int:
        Counting.touched = 0
        event()
        return Counting.touched

    assert work(scheduler.ready) < 10
    assert 10_000 <= work(lambda: scheduler.finished("root", S)) < 10_000 * 10  # per dependent
    assert len(scheduler.ready()) == 10_000
    assert work(lambda: scheduler.finished("s5", S)) < 30  # one dependent: a handful
    assert work(lambda: scheduler.finished("s6", S)) < 20  # none at all
    assert scheduler.ready() == ["end"]


def test_steps_settled_together_are_all_recorded_before_any_is_released() -> None:
    """x -> y -> z, with x and y left out: releasing x must not judge y, which is settled too."""
    steps = [step("x"), step("y", "x"), step("z", "y", run_if="at_least_one_failed"), step("w")]
    scheduler = Scheduler(steps, max_parallel=4)
    skips = scheduler.settle(carried=["w"], left_out=["x", "y"])
    assert [(skip.name, skip.excluded) for skip in skips] == [("z", True)]  # y counts as success
    assert scheduler.outcomes == {
        "w": Outcome.SUCCEEDED,
        "x": Outcome.NOT_RUN,
        "y": Outcome.NOT_RUN,
        "z": Outcome.SKIPPED,
    }
    assert (scheduler.ready(), scheduler.done) == ([], True)
