"""Reports for the HTML page's tests: one full of what a hostile Fusion could say, and one of
200 steps, both from plans run on the emulator's model (a fake clock: no waiting)."""

from __future__ import annotations

from typing import Any

from runner.emulator.scenario import RunScript
from tests.helpers.engine import jobs, run, runs
from tests.helpers.fakes import step

# What Fusion may say, and no page may run or lose: markup, quotes, an end of CDATA, a
# right-to-left override, a line longer than any screen.
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
ESCAPES = "</pre></details><script>alert(3)</script>"
QUOTES = "\"quoted\" 'single' & ]]> <!-- -->"
RTL = "abc\u202edef"
LONG = "x" * 5000
HOSTILE_NAME = '<svg onload=alert(4)>"step"'
HOSTILE_LINES = (SCRIPT, IMAGE, ESCAPES, QUOTES, RTL, LONG)


def hostile_report() -> dict[str, Any]:
    """A failed Spark run whose error and driver log hold `HOSTILE_LINES`, after a step renamed
    `HOSTILE_NAME` (as a report on disk may be), with a warning of markup."""
    failing = RunScript(duration=5, state="error", error=SCRIPT, log=HOSTILE_LINES)
    result = run([step("prepare"), step("train", "prepare")], jobs(train=runs(failing)))
    report = result.report
    for entry in report["steps"]:
        if entry["name"] == "prepare":
            entry["name"] = HOSTILE_NAME
        entry["depends_on"] = [HOSTILE_NAME if d == "prepare" else d for d in entry["depends_on"]]
    report["warnings"].append({"step": None, "text": IMAGE})
    return report


def wide_report(size: int = 200) -> dict[str, Any]:
    """A plan of `size` steps in chains of ten, each step after the one ten before it, with
    runs of lengths that differ: a long timeline that must stay readable."""
    steps = [
        step(f"step-{index:03d}", *([f"step-{index - 10:03d}"] if index >= 10 else []))
        for index in range(size)
    ]
    scripts = {
        f"step-{index:03d}": runs(RunScript(duration=1 + (index * 7) % 13)) for index in range(size)
    }
    return run(steps, jobs(**scripts), max_parallel=20).report
