"""The console's live line on a terminal, on the real clock: its redraws come from its own timer."""

from __future__ import annotations

import io
import time

import pytest

from runner.emulator.scenario import Scenario
from runner.events import ActiveRun, Tick
from runner.report import console as console_module
from runner.report.console import Console
from tests.helpers.engine import run
from tests.helpers.fakes import step


def test_the_live_line_keeps_its_own_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal's redraws come from the console's timer, not from the engine waking up."""
    monkeypatch.setattr(console_module, "REDRAW_EVERY", 0.01)
    result = run([step("long")], Scenario()).engine.result
    out = io.StringIO()
    console = Console(out, live=True, report="r.json")
    console.handle(Tick(at=1, active=(ActiveRun(step="long", phase="polling", age=1),)), result)
    deadline = time.monotonic() + 5
    while out.getvalue().count("active: long") < 3:
        assert time.monotonic() < deadline, out.getvalue()
        time.sleep(0.01)
    console.finish(result)
    drawn = out.getvalue().count("active: long")
    time.sleep(0.05)
    assert out.getvalue().count("active: long") == drawn  # the timer stops at the end
