from __future__ import annotations

import io
from typing import Any

from runner.console import Console, elapsed
from runner.emulator.model import EmulatedFusion
from runner.events import ActiveRun, InterruptReceived, Started, StateChanged, Tick
from runner.scenario import JobScript, RunScript, Scenario
from tests.helpers.engine import jobs, run, runs
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
        "fusion-run: plan test failed in 35s: 1 succeeded, 1 failed, 1 skipped. Report: r.json",
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
        "fusion-run: plan test succeeded in 2.8s: 1 succeeded. Report: r.json",
    ]


def test_live_line_is_redrawn_and_cleared_before_events() -> None:
    result = run([step("long")], Scenario()).engine.result
    tick = Tick(at=108, active=(ActiveRun(step="long", phase="polling", age=83),))
    wall = FakeClock()
    out = io.StringIO()
    console = Console(out, live=True, monotonic=wall)
    console.handle(tick, result)
    console.handle(tick, result)  # within a second: not drawn again
    wall.advance(1)
    console.handle(StateChanged(at=5, step="long", state="running"), result)
    assert out.getvalue() == (
        "\r\x1b[K   1:48 active: long polling 1m23s\r\x1b[K   0:05 long: running\n"
    )


def test_not_live_when_not_a_terminal() -> None:
    assert Console(io.StringIO()).live is False


# --- heartbeats, where there is no live line ------------------------------------------------------


def test_a_heartbeat_says_fusions_state_and_counters() -> None:
    result = run([step("crawl")], Scenario()).engine.result
    out = io.StringIO()
    console = Console(out, live=False)
    counters = (("counter.input", 1200), ("counter.output", 1180.0), ("ratio", 0.98333))
    for at in (299, 300, 301, 599, 720):
        running = ActiveRun(
            step="crawl", phase="polling", age=at, run_id="X", state="running", counters=counters
        )
        console.handle(Tick(at=at, active=(running,)), result)
    assert out.getvalue().splitlines() == [
        "   5:00 crawl: still running (run X, 5m): counter.input 1200, counter.output 1180, "
        "ratio 0.983",
        "  12:00 crawl: still running (run X, 12m): counter.input 1200, counter.output 1180, "
        "ratio 0.983",
    ]


def test_heartbeats_every_five_minutes_on_the_fake_clock() -> None:
    """A 17-minute crawl, then a retried 8-minute train: one line per active run every 5 minutes
    of its age, counted afresh for each run; nothing on a terminal, with --quiet, or with 0."""
    scenario = jobs(
        crawl=runs(RunScript(duration=17 * 60)),
        train=runs(RunScript(duration=480, state="error"), RunScript(duration=480)),
    )
    steps = [step("crawl"), step("train", "crawl", retries=1, retry_delay=60)]
    ids: dict[str, list[str]] = {}
    out = io.StringIO()
    result = run(steps, scenario, reporter=Console(out, live=False), tick_every=1.0)
    for name in ("crawl", "train"):
        ids[name] = [a["run_id"] for a in result.step(name)["attempts"]]
    beats = [line for line in out.getvalue().splitlines() if "still" in line]
    crawl, (first, second) = ids["crawl"][0], ids["train"]
    assert beats == [
        f"   5:00 crawl: still running (run {crawl}, 5m)",
        f"  10:00 crawl: still running (run {crawl}, 10m)",
        f"  15:00 crawl: still running (run {crawl}, 15m)",
        f"  22:08 train: still running (run {first}, 5m)",
        f"  31:14 train: still running (run {second}, 5m)",
    ]
    for options in (
        {"live": True},
        {"live": False, "quiet": True},
        {"live": False, "heartbeat": 0},
    ):
        stream = io.StringIO()
        run(steps, scenario, reporter=Console(stream, **options), tick_every=1.0)
        assert "still" not in stream.getvalue()


def test_a_heartbeat_shows_the_counters_of_a_jobs_api_run_still_going() -> None:
    scenario = jobs(**{"datasource:web": runs(RunScript(duration=400))})

    def counting(model: EmulatedFusion, clock: FakeClock) -> None:
        real = model.status

        def status(job_id: str) -> Any:
            view = real(job_id)
            if view.get("status") == "running":
                view = {**view, "extra": {"counter.input": int(clock.now * 3), "note": "x"}}
            return view

        model.status = status  # type: ignore[method-assign]

    out = io.StringIO()
    result = run(
        [step("crawl", job="datasource:web", states=("success",))],
        scenario,
        before=counting,
        reporter=Console(out, live=False, heartbeat=120),
        tick_every=1.0,
    )
    beats = [line for line in out.getvalue().splitlines() if "still" in line]
    run_id = result.step("crawl")["run_id"]
    assert beats == [
        f"   2:00 crawl: still running (run {run_id}, 2m): counter.input 354",
        f"   4:00 crawl: still running (run {run_id}, 4m): counter.input 714",
        f"   6:00 crawl: still running (run {run_id}, 6m): counter.input 1074",
    ]


# --- --verbose: what `expect` sees ----------------------------------------------------------------


def test_verbose_prints_each_runs_final_status_as_fusion_returned_it() -> None:
    scenario = jobs(train=runs(RunScript(duration=3, result={"docsWritten": 7})))
    plain, verbose = io.StringIO(), io.StringIO()
    run([step("train")], scenario, reporter=Console(plain, live=False))
    result = run([step("train")], scenario, reporter=Console(verbose, live=False, verbose=True))
    run_id = result.step("train")["run_id"]
    status = (
        f'{{"state":"finished","jobId":"{run_id}","jobConfig":{{"type":"spark","id":"train"}},'
        f'"hostname":"127.0.0.1","result":{{"jobConfigId":"train","jobRunId":"{run_id}",'
        '"docsWritten":7},"startTime":"2026-01-01T00:00:00.000Z",'
        '"endTime":"2026-01-01T00:00:03.000Z","duration":3000}'
    )
    assert verbose.getvalue().splitlines() == [
        *plain.getvalue().splitlines()[:-1],
        f"   0:03 train: Fusion's final status of run {run_id}: {status}",
        plain.getvalue().splitlines()[-1],
    ]
