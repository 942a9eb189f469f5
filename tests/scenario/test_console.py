from __future__ import annotations

import io
from typing import Any

import pytest

from runner import wording
from runner.durations import format_duration
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import Fault, FaultTarget, JobScript, RunScript, Scenario
from runner.events import ActiveRun, Cancelling, InterruptReceived, Started, StateChanged, Tick
from runner.reasons import AlreadyRunning, Interrupted, LostContact, MayBeRunning
from runner.report.console import Console, elapsed
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
        "STEP     OUTCOME    DURATION  TRIES  RUN         COUNTERS         REASON",
        f"crawl    succeeded  2s        1      {crawl}  docsWritten 100",
        f"train    failed     30s       1      {train}  -                {short}",
        "publish  skipped    -         0      -           -                upstream 'train' failed",
        "",
        f"train failed: run {train} ended error: {error}",
        "fusion-run: plan test failed in 38s: 1 succeeded, 1 failed, 1 skipped. Report: r.json",
    ]


def test_a_retried_step_says_each_attempt_and_its_counters_by_kind() -> None:
    """A Spark run that ran out of memory, then succeeded: the table and the line under it say
    so; a datasource shows what it indexed and failed; a task, no counters."""
    scenario = Scenario(
        jobs={
            "train": JobScript(
                runs=(
                    RunScript(duration=5, state="error", error="java.lang.OutOfMemoryError"),
                    RunScript(duration=7, result={"docsWritten": 1200}),
                )
            ),
            "datasource:web": JobScript(
                runs=(
                    RunScript(
                        duration=4,
                        result={"counter.output": 60, "counter.failed": 2, "counter.deleted": 0},
                    ),
                )
            ),
        }
    )
    steps = [
        step("train", retries=2, retry_delay=1),
        step("crawl", job="datasource:web", states=("success",)),
        step("warm", job="task:warm", states=("success",)),
    ]
    result = run(steps, scenario)
    out = io.StringIO()
    Console(out, live=False, report="r.json").summary(result.engine.result)
    train, crawl, warm = (result.step(n)["run_id"] for n in ("train", "crawl", "warm"))
    story = "succeeded on attempt 2; attempt 1 failed: java.lang.OutOfMemoryError"
    took = format_duration(result.engine.result.step("train").duration or 0)
    lines = out.getvalue().splitlines()
    assert lines[1:5] == [
        "STEP   OUTCOME    DURATION  TRIES  RUN         COUNTERS                         REASON",
        f"train  succeeded  {took:<8}  2      {train}  docsWritten 1200                 "
        + story[:59]
        + "…",
        f"crawl  succeeded  4s        1      {crawl}  indexed 58, failed 2, deleted 0",
        f"warm   succeeded  2s        1      {warm}  -",
    ]
    assert lines[5:7] == ["", f"train {story}"]


@pytest.mark.parametrize("columns", [80, 40])
def test_the_live_line_fits_the_terminal(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten runs at once: as many as fit, then how many more; the line fits `COLUMNS`."""
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run([step("long")], Scenario()).engine.result
    active = tuple(
        ActiveRun(step=f"crawl-products-{n}", phase="polling", age=83) for n in range(10)
    )
    out = io.StringIO()
    console = Console(out, live=False, monotonic=FakeClock())
    console.handle(Tick(at=108, active=active), result)
    console.draw()
    line = out.getvalue().removeprefix("\r\x1b[K")
    assert len(line) < columns
    assert (
        line
        == {
            80: "   1:48 active: crawl-products-0 polling 1m23s, +9 more",
            40: "   1:48 active: crawl-products-0 polli…",
        }[columns]
    )


def test_the_live_line_counts_the_runs_it_has_no_room_for() -> None:
    result = run([step("long")], Scenario()).engine.result
    active = tuple(ActiveRun(step=f"s{n}", phase="polling", age=5) for n in range(12))
    out = io.StringIO()
    console = Console(out, live=False, monotonic=FakeClock(), columns=lambda: 60)
    console.handle(Tick(at=7, active=active), result)
    console.draw()
    assert out.getvalue() == "\r\x1b[K   0:07 active: s0 polling 5s, s1 polling 5s, +10 more"


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
        "fusion-run: plan test succeeded in 2s: 1 succeeded. Report: r.json",
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
    result = run(steps, scenario, reporter=Console(out, live=False))
    for name in ("crawl", "train"):
        ids[name] = [a["run_id"] for a in result.step(name)["attempts"]]
    beats = [line for line in out.getvalue().splitlines() if "still" in line]
    crawl, (first, second) = ids["crawl"][0], ids["train"]
    assert beats == [
        f"   5:06 crawl: still running (run {crawl}, 5m6s)",  # at the first read after 5m
        f"  10:06 crawl: still running (run {crawl}, 10m6s)",
        f"  15:06 crawl: still running (run {crawl}, 15m6s)",
        f"  22:12 train: still running (run {first}, 5m6s)",
        f"  31:15 train: still running (run {second}, 5m6s)",
    ]
    for options in (
        {"live": True},
        {"live": False, "quiet": True},
        {"live": False, "heartbeat": 0},
    ):
        stream = io.StringIO()
        run(steps, scenario, reporter=Console(stream, **options))
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
    )
    beats = [line for line in out.getvalue().splitlines() if "still" in line]
    run_id = result.step("crawl")["run_id"]
    assert beats == [
        f"   2:06 crawl: still running (run {run_id}, 2m6s): counter.input 378",
        f"   4:06 crawl: still running (run {run_id}, 4m6s): counter.input 738",
        f"   6:06 crawl: still running (run {run_id}, 6m6s): counter.input 1098",
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
        f"   0:04 train: Fusion's final status of run {run_id}: {status}",
        plain.getvalue().splitlines()[-1],
    ]


def test_a_run_fusion_has_not_named_yet_is_its_run() -> None:
    """A Jobs API start names no run: until Fusion shows it, lines say "its run", never
    "run None"."""
    cancelling = Cancelling(step="crawl", run_id=None, cause=Interrupted())
    assert wording.line(cancelling) == "cancelling its run: fusion-run was interrupted"
    lost = MayBeRunning(run_id=None, why=LostContact(seconds=300, error="GET x: 503"))
    assert wording.text(lost) == (
        "lost contact with Fusion for 5m (last error: GET x: 503); its run may still be going"
    )
    assert wording.text(AlreadyRunning(job="datasource:web", run_id=None)) == (
        "job datasource:web is already running and on_running is fail"
    )


def test_a_run_left_going_gets_its_closing_line_even_when_quiet() -> None:
    """It fails the plan: --quiet still says which step, and why."""
    faults = (Fault(on=FaultTarget.STATUS, answer=503, times=10_000, after=3),)
    out = io.StringIO()
    result = run(
        [step("a")],
        jobs(a=runs(RunScript(duration=600), faults=faults)),
        reporter=Console(out, live=False, quiet=True),
        fusion={"retry_budget": 30},
    )
    result.engine.reporter.finish(result.engine.result)
    run_id = result.step("a")["run_id"]
    assert out.getvalue().splitlines()[-2:] == [
        "a may still be running in Fusion: lost contact with Fusion for 30s (last error: GET "
        "http://emulated/api/spark/jobs/a: 503 Service Unavailable: injected fault: 503 on "
        f"status); run {run_id} may still be going",
        "fusion-run: plan test failed in 38s: 1 running. Report: fusion-run-report.json",
    ]
