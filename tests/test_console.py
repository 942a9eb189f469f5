from __future__ import annotations

import io
import time

import pytest

from runner import console as console_module
from runner.console import Console, elapsed
from runner.events import ActiveRun, InterruptReceived, Started, StateChanged, Tick
from runner.scenario import JobScript, RunScript, Scenario
from tests.helpers.engine import run
from tests.helpers.fakes import FakeClock, step


def test_elapsed() -> None:
    assert [elapsed(s) for s in (0, 7, 65, 3599, 3600, 90061)] == [
        "0:00", "0:07", "1:05", "59:59", "1:00:00", "25:01:01",
    ]  # fmt: skip


def test_summary_table_and_full_reasons() -> None:
    error = "Py4JJavaError: " + "x" * 80
    scenario = Scenario(
        jobs={"train": JobScript(runs=(RunScript(duration=30, state="error", error=error),))}
    )
    result = run([step("crawl"), step("train", "crawl"), step("publish", "train")], scenario)
    out = io.StringIO()
    Console(out, live=False, report="r.json").summary(result.engine.result)
    crawl, train = (result.step(n)["run_id"] for n in ("crawl", "train"))
    short = f"run {train} ended error: Py4JJavaError: " + "x" * 16 + "…"  # 60 characters
    assert out.getvalue().splitlines() == [
        "",
        "STEP     OUTCOME    DURATION  TRIES  RUN         REASON",
        f"crawl    succeeded  2s        1      {crawl}",
        f"train    failed     30s       1      {train}  {short}",
        "publish  skipped    -         0      -           upstream 'train' failed",
        "",
        f"train failed: run {train} ended error: {error}",
        "fusion-run: plan test failed in 32s: 1 succeeded, 1 failed, 1 skipped. Report: r.json",
    ]


def test_quiet_keeps_warnings_and_the_outcome() -> None:
    result = run([step("crawl")], Scenario())
    out = io.StringIO()
    console = Console(out, quiet=True, report="r.json")
    plan = result.engine.result
    console.handle(Started(at=1, step="crawl", run_id="x", attempt=1, adopted=False), plan)
    console.handle(InterruptReceived(at=2, detach=False), plan)
    console.summary(plan)
    assert out.getvalue().splitlines() == [
        "   0:02 interrupted: cancelling active runs (interrupt again to stop waiting)",
        "fusion-run: plan test succeeded in 2.1s: 1 succeeded. Report: r.json",
    ]


def test_the_live_line_ages_the_runs_as_of_now_and_is_cleared_before_events() -> None:
    result = run([step("long")], Scenario()).engine.result
    tick = Tick(at=108, active=(ActiveRun(step="long", phase="polling", age=83),))
    wall = FakeClock()
    out = io.StringIO()
    console = Console(out, live=False, monotonic=wall)  # no timer: drawn by hand here
    console.handle(tick, result)
    console.draw()
    wall.advance(2)
    console.draw()  # no tick since: two seconds older all the same
    console.handle(StateChanged(at=110, step="long", state="running"), result)
    assert out.getvalue() == (
        "\r\x1b[K   1:48 active: long polling 1m23s"
        "\r\x1b[K   1:50 active: long polling 1m25s"
        "\r\x1b[K   1:50 long: running\n"
    )


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


def test_not_live_when_not_a_terminal() -> None:
    assert Console(io.StringIO()).live is False
