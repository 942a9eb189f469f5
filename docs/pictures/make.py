"""Remake the pictures in this folder: each example night is run on the emulator with `--html`,
and the page is photographed in the headless Chromium the browser test uses
(tests/helpers/browser.py); the failed night's GitHub summary timeline is drawn by Mermaid there
too. Run from the checkout, with the test extra installed, Debian's chromium and chromium-driver,
and FUSION_RUN_MERMAID naming Mermaid's mermaid.min.js (as .ci/run fetches it):

    FUSION_RUN_MERMAID=.ci/cache/mermaid.min.js python docs/pictures/make.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runner.report.gantt import gantt  # noqa: E402
from tests.helpers.browser import chromium, missing  # noqa: E402

WIDTH = 1280
# Each picture: the plan and its arguments, and the elements the last of which ends the picture.
NIGHTS = {
    "html-report.png": (["examples/nightly-recommendations.yaml"], "body"),
    "html-report-failed.png": (
        [
            "examples/nightly-search.yaml",
            "--scenario",
            "examples/scenarios/nightly-search.yaml",
        ],
        ".evidence",
    ),
}


TIMELINE = "summary-timeline.png"  # of the last night's report, as the GitHub summary draws it
DRAW = """
const [source, done] = arguments;
mermaid.initialize({startOnLoad: false});
mermaid.render('chart', source).then(drawn => {
    document.getElementById('timeline').innerHTML = drawn.svg;
    done(null);
}, error => done(String(error)));
"""


def main() -> None:
    why = missing()
    mermaid = os.environ.get("FUSION_RUN_MERMAID")
    if why is not None or not mermaid:
        sys.exit(f"make.py: {why or 'set FUSION_RUN_MERMAID to mermaid.min.js'}")
    with tempfile.TemporaryDirectory() as folder, chromium(WIDTH, 900) as driver:
        for picture, (args, last) in NIGHTS.items():
            page, report = Path(folder) / "page.html", Path(folder) / "report.json"
            outputs = ["--report", str(report), "--html", str(page)]
            subprocess.run(
                [sys.executable, "-m", "runner", *args, "--emulate", "-q", *outputs],
                cwd=ROOT,  # the plan's path on the page as the examples name it
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                check=False,  # the failed night exits 1
            )
            driver.get(page.as_uri())
            bottom = driver.execute_script(
                "const e = [...document.querySelectorAll(arguments[0])].pop();"
                "return Math.ceil(e.getBoundingClientRect().bottom + window.scrollY) + 16;",
                last,
            )
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": bottom, "deviceScaleFactor": 1, "mobile": False},
            )
            driver.save_screenshot(str(Path(__file__).parent / picture))
            print(f"wrote docs/pictures/{picture} ({WIDTH}x{bottom})")
        source = gantt(json.loads(report.read_text(encoding="utf-8")))
        page = Path(folder) / "timeline.html"
        script = f'<script src="{Path(mermaid).resolve().as_uri()}"></script>'
        page.write_text(f'<!doctype html><meta charset="utf-8"><div id="timeline"></div>{script}')
        driver.get(page.as_uri())
        error = driver.execute_async_script(DRAW, source)
        if error is not None:
            sys.exit(f"make.py: Mermaid could not draw the timeline: {error}")
        driver.find_element("id", "timeline").screenshot(str(Path(__file__).parent / TIMELINE))
        print(f"wrote docs/pictures/{TIMELINE}")


if __name__ == "__main__":
    main()
