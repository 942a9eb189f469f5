from __future__ import annotations

import pytest

from runner.plan.loader import load_plan
from runner.report.graph import dot, mermaid, waves
from tests.helpers.paths import WritePlan


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("  - a\n  - b\n  - c\n", [["a"], ["b"], ["c"]]),
        (
            "  - a\n  - job: b\n    depends_on: [a]\n  - job: c\n    depends_on: [a]\n"
            "  - job: d\n    depends_on: [b, c]\n",
            [["a"], ["b", "c"], ["d"]],
        ),
        ("  - job: a\n    depends_on: []\n  - job: b\n    depends_on: []\n", [["a", "b"]]),
        (
            "  - job: late\n    depends_on: [early]\n  - job: early\n    depends_on: []\n",
            [["early"], ["late"]],
        ),
        (
            "  - a\n  - b\n  - job: c\n    depends_on: []\n  - d\n",
            [["a", "c"], ["b", "d"]],
        ),
    ],
    ids=["sequence", "diamond", "parallel", "forward", "two-chains"],
)
def test_waves(write_plan: WritePlan, steps: str, expected: list[list[str]]) -> None:
    assert waves(load_plan(write_plan(f"version: 1\nsteps:\n{steps}"))) == expected


PLAN = """\
version: 1
name: 'say "hi"'
steps:
  - job: crawl
  - job: 'a<b>&"c"'
    name: odd
  - job: cleanup
    depends_on: [crawl, odd]
    run_if: all_done
"""


def test_mermaid(write_plan: WritePlan) -> None:
    assert (
        mermaid(load_plan(write_plan(PLAN)))
        == """\
flowchart LR
  s0["crawl"]
  s1["odd<br/>a#lt;b#gt;#amp;#quot;c#quot;"]
  s2["cleanup"]
  s0 --> s1
  s0 -.->|all_done| s2
  s1 -.->|all_done| s2
"""
    )


def test_dot(write_plan: WritePlan) -> None:
    assert (
        dot(load_plan(write_plan(PLAN)))
        == """\
digraph "say \\"hi\\"" {
  rankdir=LR;
  node [shape=box, style=rounded];
  "crawl" [label="crawl"];
  "odd" [label="odd\\na<b>&\\"c\\""];
  "cleanup" [label="cleanup"];
  "crawl" -> "odd";
  "crawl" -> "cleanup" [style=dashed, label="all_done"];
  "odd" -> "cleanup" [style=dashed, label="all_done"];
}
"""
    )
