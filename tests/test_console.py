from __future__ import annotations

import io

from runner.console import Console, elapsed
from runner.engine import Event
from runner.scenario import JobScript, RunScript, Scenario
from tests.fakes import FakeClock, step
from tests.test_engine import run


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
    Console(out, live=False).summary(result.engine, "r.json")
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
        "fusion-run: plan test failed in 35s: 1 succeeded, 1 failed, 1 skipped. Report: r.json",
    ]


def test_quiet_keeps_warnings_and_the_outcome() -> None:
    result = run([step("crawl")], Scenario())
    out = io.StringIO()
    console = Console(out, quiet=True)
    console.event(Event(1, "crawl", "started", "started run x"))
    console.event(Event(2, None, "warning", "interrupted: cancelling active runs"))
    console.summary(result.engine, "r.json")
    assert out.getvalue().splitlines() == [
        "   0:02 interrupted: cancelling active runs",
        "fusion-run: plan test succeeded in 2.8s: 1 succeeded. Report: r.json",
    ]


def test_live_line_is_redrawn_and_cleared_before_events() -> None:
    scenario = Scenario(jobs={"long": JobScript(runs=(RunScript(duration=100),))})
    result = run([step("long")], scenario)
    engine = result.engine
    engine.runs["long"].phase = engine.runs["long"].phase.__class__.POLLING  # as if still running
    engine.runs["long"].run_started = engine.clock.monotonic() - 83
    wall = FakeClock()
    out = io.StringIO()
    console = Console(out, live=True, monotonic=wall)
    console.tick(engine)
    console.tick(engine)  # within a second: not drawn again
    wall.advance(1)
    console.event(Event(5, "long", "state", "running"))
    assert out.getvalue() == (
        "\r\x1b[K   1:48 active: long polling 1m23s\r\x1b[K   0:05 long: running\n"
    )


def test_not_live_when_not_a_terminal() -> None:
    assert Console(io.StringIO()).live is False
