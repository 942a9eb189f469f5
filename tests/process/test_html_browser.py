"""The HTML report in a real browser (Debian's Chromium, headless, the network off): it loads with
no console error, shows every step, draws each timeline bar where its times put it, shows a
failed run's evidence, shows what a hostile Fusion says as text and runs none of it, reads whole
without its script. Where no Chromium is installed the tests skip, naming the packages, unless
FUSION_RUN_BROWSER=required (as `.ci/run` sets), where they fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from runner.report.html import render
from runner.report.svg import ROW_HEIGHT
from runner.report.timeline import timeline
from tests.helpers import browser
from tests.helpers.html_reports import HOSTILE_NAME, IMAGE, SCRIPT, hostile_report, wide_report
from tests.helpers.paths import EXAMPLES

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

PIXELS = 2  # how far a bar may be from where its times put it


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    why = browser.missing()
    if why is None:
        try:
            import selenium  # noqa: F401, PLC0415
        except ImportError:
            why = "selenium is not installed: pip install '.[test]'"
    if why is not None:
        if os.environ.get("FUSION_RUN_BROWSER") == "required":
            pytest.fail(f"FUSION_RUN_BROWSER=required, but {why}")
        pytest.skip(why)
    with browser.chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The pages `--html` wrote for two nights on the emulator, run side by side: the
    recommendations plan as it goes, and the search plan on its bad night (a failed Spark run
    with its driver log, a stalled crawl cancelled)."""
    folder = tmp_path_factory.mktemp("nights")
    commands = {
        "recommendations": [str(EXAMPLES / "nightly-recommendations.yaml")],
        "search": [
            str(EXAMPLES / "nightly-search.yaml"),
            "--scenario",
            str(EXAMPLES / "scenarios" / "nightly-search.yaml"),
        ],
    }
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "runner", *args, "--emulate", "-q", *outputs(name)],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    for name, process in running.items():
        _, err = process.communicate(timeout=120)
        assert process.returncode == (0 if name == "recommendations" else 1), err
    return {name: folder / name for name in commands}


def outputs(name: str) -> list[str]:
    return ["--report", f"{name}.json", "--html", f"{name}.html"]


def load(driver: WebDriver, page: Path) -> list[dict[str, Any]]:
    """Open `page`; the browser's console entries of level SEVERE while it loaded."""
    browser.severe(driver)  # what earlier pages said
    driver.get(page.resolve().as_uri())
    return browser.severe(driver)


def visible_text(driver: WebDriver) -> str:
    text: str = driver.execute_script("return document.body.innerText")
    return text


def bars_where_their_times_put_them(driver: WebDriver, report: dict[str, Any]) -> None:
    """Each bar of the report's timeline is drawn, in its step's row, in order, from its start
    to its end on the axis, within `PIXELS`."""
    drawn = timeline(report)
    found = driver.execute_script(
        """
        const svg = document.querySelector("svg.timeline"), box = svg.getBoundingClientRect();
        const rows = [...svg.querySelectorAll("g.row")].map(r => r.getBoundingClientRect().top);
        return {
          left: box.left + Number(svg.dataset.plotLeft), width: Number(svg.dataset.plotWidth),
          bars: [...svg.querySelectorAll(".bar")].map(b => {
            const r = b.getBoundingClientRect();
            return {step: b.dataset.step, kind: b.dataset.kind, left: r.left, right: r.right,
                    middle: (r.left + r.right) / 2, top: r.top, bottom: r.bottom};
          }),
          rows: [...svg.querySelectorAll("g.row")].map(r => r.dataset.step),
        };
        """
    )
    assert found["rows"] == [row.step for row in drawn.rows]
    assert [(b["step"], b["kind"]) for b in found["bars"]] == [
        (bar.step, bar.kind) for bar in drawn.bars
    ]
    scale = found["width"] / drawn.span
    for bar, box in zip(drawn.bars, found["bars"], strict=True):
        where = f"{bar.step} {bar.kind} {bar.start}-{bar.end}"
        if bar.kind == "check":
            assert abs(box["middle"] - (found["left"] + bar.start * scale)) <= PIXELS, where
            continue
        assert abs(box["left"] - (found["left"] + bar.start * scale)) <= PIXELS, where
        length = max((bar.end - bar.start) * scale, 1)
        assert abs(box["right"] - box["left"] - length) <= PIXELS, where
    starts = {b.step: b.start for b in drawn.bars if b.kind == "run" and b.attempt == 1}
    lefts = {b["step"]: b["left"] for b in found["bars"] if b["kind"] == "run"}
    assert sorted(starts, key=lambda s: (starts[s], s)) == sorted(
        starts, key=lambda s: (round(lefts[s] / PIXELS), starts[s], s)
    )


def test_the_report_of_a_night_loads_clean_with_every_step_and_its_timeline(
    chromium: WebDriver, nights: dict[str, Path]
) -> None:
    for night in nights.values():
        report = json.loads(night.with_suffix(".json").read_text())
        assert load(chromium, night.with_suffix(".html")) == []
        text = visible_text(chromium)
        assert text.startswith(f"fusion-run: plan {report['plan']['name']} ")
        for step in report["steps"]:
            assert step["name"] in text
        bars_where_their_times_put_them(chromium, report)


def test_a_failed_night_shows_its_evidence_unfolded(
    chromium: WebDriver, nights: dict[str, Path]
) -> None:
    report = json.loads(nights["search"].with_suffix(".json").read_text())
    assert load(chromium, nights["search"].with_suffix(".html")) == []
    text = visible_text(chromium)
    train = next(step for step in report["steps"] if step["name"] == "train")
    assert "exit 1: step 'train' failed" in text
    assert f"attempt 1: driver log of run {train['run_id']} (last 8 lines)" in text
    for line in train["attempts"][0]["evidence"]["driver_log"]:
        assert line.strip() in text
    for warning in report["warnings"]:
        assert warning["text"] in text


def test_what_fusion_says_is_shown_as_text_and_nothing_of_it_runs(
    chromium: WebDriver, tmp_path: Path
) -> None:
    from selenium.common.exceptions import NoAlertPresentException  # noqa: PLC0415

    page = tmp_path / "hostile.html"
    page.write_text(render(hostile_report()), encoding="utf-8")
    assert load(chromium, page) == []
    text = visible_text(chromium)
    for shown in (SCRIPT, IMAGE, f"error: {SCRIPT}", HOSTILE_NAME):
        assert shown in text
    with pytest.raises(NoAlertPresentException):
        chromium.switch_to.alert.text  # noqa: B018 - reading it asks the browser
    assert chromium.execute_script("return document.querySelectorAll('script').length") == 1


def test_even_markup_that_escaped_its_escaping_would_run_nothing(
    chromium: WebDriver, tmp_path: Path
) -> None:
    """The Content-Security-Policy allows the page's own script and style only."""
    slipped = render(hostile_report()).replace(
        "<body>",
        '<body><script>window.slipped = 1</script><img src="x" onerror="window.slipped = 2">'
        '<p style="display: none" id="styled">styled</p>',
    )
    page = tmp_path / "slipped.html"
    page.write_text(slipped, encoding="utf-8")
    refused = load(chromium, page)
    assert chromium.execute_script("return window.slipped === undefined") is True
    assert chromium.find_element("id", "styled").is_displayed()  # its style refused too
    assert any("Content Security Policy" in entry["message"] for entry in refused), refused


def test_200_steps_scroll_rather_than_shrink(chromium: WebDriver, tmp_path: Path) -> None:
    report = wide_report(200)
    page = tmp_path / "wide.html"
    page.write_text(render(report), encoding="utf-8")
    assert load(chromium, page) == []
    text = visible_text(chromium)
    for step in report["steps"]:
        assert step["name"] in text
    sizes = chromium.execute_script(
        """
        const box = document.getElementById("timeline-box");
        const row = document.querySelector("svg.timeline g.row rect.bar").getBoundingClientRect();
        return [box.scrollHeight, box.clientHeight, row.height];
        """
    )
    scrolled, shown, bar = sizes
    assert scrolled >= 200 * ROW_HEIGHT > shown  # the box scrolls
    assert bar >= 12  # a bar stays as tall as it is drawn
    bars_where_their_times_put_them(chromium, report)


def test_the_page_reads_whole_without_its_script_and_its_filter_works(
    chromium: WebDriver, nights: dict[str, Path]
) -> None:
    page = nights["search"].with_suffix(".html")
    chromium.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        assert load(chromium, page) == []
        text = visible_text(chromium)
        assert "org.apache.spark.SparkException" in text  # a failed step is unfolded
        assert "only the steps that did not succeed" not in text  # the script adds it
    finally:
        chromium.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert load(chromium, page) == []
    chromium.find_element("css selector", "#controls input").click()
    hidden = chromium.execute_script(
        "return [...document.querySelectorAll('.good')].every(e => e.offsetParent === null)"
    )
    assert hidden is True
    assert chromium.find_element("css selector", "#step-3").is_displayed()  # train, failed
    chromium.find_element("css selector", "#controls button").click()
    assert chromium.execute_script(
        "return [...document.querySelectorAll('details.step')].every(d => d.open)"
    )
