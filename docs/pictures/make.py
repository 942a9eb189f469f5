"""Remake the pictures of the HTML report in this folder: each example night is run on the
emulator with `--html`, and the page is photographed in the headless Chromium the browser test
uses (tests/helpers/browser.py). Run from the checkout, with the test extra installed and Debian's
chromium and chromium-driver:

    python docs/pictures/make.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

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


def main() -> None:
    why = missing()
    if why is not None:
        sys.exit(f"make.py: {why}")
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


if __name__ == "__main__":
    main()
