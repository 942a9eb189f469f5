"""The Mermaid the GitHub summary holds, drawn by Mermaid itself in Chromium: the dependency graph
and the timeline parse, and the timeline has a bar per attempt, wait and check, in time order.

Mermaid's bundle is `mermaid.min.js` of the npm package, which `.ci/run` fetches and names in
FUSION_RUN_MERMAID; without it (or without a browser) the test is skipped, unless
FUSION_RUN_BROWSER=required, as `.ci/run` sets.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from runner.emulator.scenario import RunScript
from runner.redact import cleaned
from runner.report.gantt import MAX_STEPS, gantt
from runner.report.github import summary_markdown
from tests.helpers.browser import chromium, missing, severe
from tests.helpers.engine import Result, jobs, run, runs
from tests.helpers.fakes import step
from tests.helpers.timelines import attempt, report
from tests.helpers.timelines import step as report_step

MERMAID = os.environ.get("FUSION_RUN_MERMAID")
WHY_NOT = missing() or (
    None if MERMAID else "set FUSION_RUN_MERMAID to mermaid.min.js, which .ci/run takes from npm"
)
if WHY_NOT and os.environ.get("FUSION_RUN_BROWSER") == "required":
    pytest.fail(f"FUSION_RUN_BROWSER=required, but {WHY_NOT}", pytrace=False)
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")

HOSTILE = [
    "a:b;c",
    "#1 %% not a comment",
    "section",
    "<b>bold</b>",
    "end",
    "naïve → ü",
    '%%{init: {"theme":"dark"}}%%',
    'x %%{init: {"themeVariables": {"critBkgColor": "#00ff00"}}}%% y',
    "`tick",
    "a`b`c",
]

DRAW = """
const [source, done] = arguments;
mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});
mermaid.parse(source)
  .then(() => mermaid.render('chart' + Math.random().toString(36).slice(2), source))
  .then(drawn => {
    const box = document.createElement('div');
    box.innerHTML = drawn.svg;
    document.body.appendChild(box);
    const tasks = [...box.querySelectorAll('rect.task')]
      .map(r => ({x: r.getBBox().x, width: r.getBBox().width, y: r.getBBox().y}));
    const text = box.textContent;
    const fills = [...box.querySelectorAll('rect')].map(r => getComputedStyle(r).fill);
    box.remove();
    done({tasks, text, fills});
  }, error => done({error: String(error && error.message || error)}));
"""


def blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.DOTALL)


def draw_all(sources: list[str], tmp_path: Path) -> list[dict[str, Any]]:
    assert MERMAID is not None
    page = tmp_path / "mermaid.html"
    page.write_text(
        f'<!doctype html><meta charset="utf-8"><script src="{Path(MERMAID).as_uri()}"></script>',
        encoding="utf-8",
    )
    drawn = []
    with chromium() as browser:
        browser.get(page.as_uri())
        for source in sources:
            outcome = browser.execute_async_script(DRAW, source)
            assert "error" not in outcome, (outcome, source)
            drawn.append(outcome)
        assert severe(browser) == []
    return drawn


@pytest.fixture(scope="module")
def night() -> Result:
    """Each kind of bar: a retry after a failure, a cancel, an allowed failure, hostile names."""
    log = ("ERROR java.lang.OutOfMemoryError: heap",)
    scenario = jobs(
        **{
            "crawl": runs(RunScript(duration=40)),
            "train": runs(
                RunScript(duration=5, state="error", error="OOM", log=log), RunScript(duration=9)
            ),
            "notify": runs(RunScript(duration=2, state="error", error="down")),
            **{name: runs(RunScript(duration=1)) for name in HOSTILE},
        }
    )
    steps = [
        step("crawl"),
        step("train", "crawl", retries=1, retry_delay=3),
        step("notify", "train", allow_failure=True),
        *(step(name, "crawl") for name in HOSTILE),
    ]
    return run(steps, scenario)


def test_the_summary_s_graph_and_timeline_parse_and_draw_each_bar_in_time_order(
    night: Result, tmp_path: Path
) -> None:
    graph, timeline = blocks(summary_markdown(cleaned(night.report), night.engine.plan))
    assert timeline.startswith("%%{init:")
    drawn_graph, drawn = draw_all([graph, timeline], tmp_path)
    for name in ("crawl", "train", "notify", *HOSTILE):
        assert name in drawn_graph["text"]
    lines = [line for line in timeline.splitlines() if re.search(r":\S*.*\d{13}, \d{13}$", line)]
    assert len(drawn["tasks"]) == len(lines) == 5 + len(HOSTILE)  # train: fail, retry, success
    by_row = sorted(drawn["tasks"], key=lambda task: task["y"])
    train = by_row[1:4]
    assert [t["x"] for t in train] == sorted(t["x"] for t in train)
    assert train[0]["x"] + train[0]["width"] <= train[1]["x"] + 0.5  # the retry follows the fail
    for name in HOSTILE:  # as the plan spells them, but %%, which Mermaid would obey
        assert name.replace("%%", "% %") in drawn["text"]
    assert "rgb(0, 255, 0)" not in drawn["fills"]  # no directive in a name restyled the chart


def test_a_timeline_of_200_steps_draws_its_cap_and_parses(tmp_path: Path) -> None:
    steps = [report_step(f"s{i}", "succeeded", attempt(1, 0.0, 0.0, 1.0 + i)) for i in range(200)]
    chart = gantt(report(*steps, ended=210.0))
    assert chart is not None
    (drawn,) = draw_all([chart], tmp_path)
    assert len(drawn["tasks"]) == MAX_STEPS
