"""The timeline of a report (`runner.report.timeline`) and its Mermaid gantt
(`runner.report.gantt`), from hand-made reports: only the fields they read."""

from __future__ import annotations

from typing import Any

from runner.report.gantt import MAX_STEPS, chart, gantt
from runner.report.timeline import Bar, timeline
from tests.helpers.timelines import at, attempt, report, step


def test_each_attempt_is_a_bar_and_the_wait_before_a_retry_is_one_too() -> None:
    drawn = timeline(
        report(
            step(
                "train",
                "succeeded",
                attempt(1, 1.0, 1.2, 11.0, "failed"),
                attempt(2, 41.0, 41.1, 56.0),
            )
        )
    )
    assert drawn.span == 60.0
    assert drawn.bars == (
        Bar("train", 1, "run", 1.0, 11.0, "failed", "attempt 1 failed in 9.8s"),
        Bar("train", 2, "retry", 11.0, 41.0, "waiting", "retry after 30s"),
        Bar("train", 2, "run", 41.0, 56.0, "succeeded", "attempt 2 succeeded in 15s"),
    )


def test_a_start_fusion_took_a_second_or_more_to_begin_is_a_wait_of_its_own() -> None:
    drawn = timeline(
        report(
            step("slow", "succeeded", attempt(1, 0.0, 3.0, 10.0)),
            step("quick", "succeeded", attempt(1, 0.0, 0.9, 10.0)),
        )
    )
    assert drawn.rows[0].bars == (
        Bar(
            "slow", 1, "starting", 0.0, 3.0, "waiting", "attempt 1 waited 3s for Fusion to start it"
        ),
        Bar("slow", 1, "run", 3.0, 10.0, "succeeded", "attempt 1 succeeded in 7s"),
    )
    assert drawn.rows[1].bars == (  # under a second: drawn as part of the run
        Bar("quick", 1, "run", 0.0, 10.0, "succeeded", "attempt 1 succeeded in 9.1s"),
    )


def test_a_fusion_clock_minutes_off_draws_each_run_from_its_request_for_its_duration() -> None:
    behind = attempt(1, 10.0, None, None, duration=20.0)
    behind["started_at"], behind["ended_at"] = "2025-12-31T23:55:00Z", "2025-12-31T23:55:20Z"
    ahead = attempt(1, 10.0, None, None, duration=20.0)
    ahead["started_at"], ahead["ended_at"] = "2026-01-01T12:00:00Z", "2026-01-01T12:00:20Z"
    drawn = timeline(report(step("behind", "succeeded", behind), step("ahead", "succeeded", ahead)))
    assert [(b.kind, b.start, b.end) for b in drawn.bars] == [("run", 10.0, 30.0)] * 2
    assert all(bar.label == "attempt 1 succeeded in 20s" for bar in drawn.bars)


def test_retries_on_a_fusion_clock_hours_ahead_stay_in_order_with_their_waits() -> None:
    def ahead(number: int, requested: float, outcome: str) -> dict[str, Any]:
        drawn = attempt(number, requested, None, None, outcome, duration=1.0)
        later = f"2026-01-01T12:00:{requested:06.3f}Z"
        drawn["started_at"], drawn["ended_at"] = later, later
        return drawn

    drawn = timeline(
        report(
            step("spark", "succeeded", ahead(1, 1.0, "failed"), ahead(2, 4.0, "succeeded")),
            ended=8.0,
        )
    )
    assert [(b.kind, b.start, b.end) for b in drawn.bars] == [
        ("run", 1.0, 2.0),
        ("retry", 2.0, 4.0),
        ("run", 4.0, 5.0),
    ]


def test_a_run_still_going_ends_where_the_report_last_saw_anything() -> None:
    drawn = timeline(
        report(
            step("crawl", "succeeded", attempt(1, 0.0, 0.1, 25.0)),
            step("train", "running", attempt(1, 5.0, None, None, outcome=None)),
            ended=None,
            outcome="running",
        )
    )
    assert drawn.span == 25.0
    assert drawn.rows[1].bars == (
        Bar("train", 1, "run", 5.0, 25.0, "running", "attempt 1 running, 20s when last seen"),
    )
    left = timeline(report(step("train", "running", attempt(1, 5.0, None, None, "left_running"))))
    assert left.bars[0].label == "attempt 1 left running, 55s when last seen"


def test_a_start_that_never_reached_fusion_is_a_point_and_a_check_is_one_too() -> None:
    gate = {"checked_at": at(0.5)}
    drawn = timeline(
        report(
            step("fresh", "succeeded", gate=gate),
            step("stale", "failed", gate=gate),
            step("crawl", "failed", attempt(1, 2.0, None, None, outcome="not_started")),
            step("never", "skipped"),
        )
    )
    assert drawn.bars == (
        Bar("fresh", 0, "check", 0.5, 0.5, "succeeded", "checked, passed"),
        Bar("stale", 0, "check", 0.5, 0.5, "failed", "checked, failed"),
        Bar("crawl", 1, "starting", 2.0, 2.0, "not_started", "attempt 1 not started"),
    )
    assert drawn.rows[3].bars == ()


def test_a_report_with_no_time_draws_nothing() -> None:
    empty = report(step("a", "not_run"))
    assert gantt(empty) is None
    empty["started_at"] = None
    assert timeline(empty).started is None
    assert gantt(empty) is None


THEME = (
    '%%{init: {"theme": "base", "themeVariables": {"doneTaskBkgColor": "#d4edda", '
    '"doneTaskBorderColor": "#28a745", "critBkgColor": "#f8d7da", "critBorderColor": "#dc3545", '
    '"activeTaskBkgColor": "#e2e3e5", "activeTaskBorderColor": "#6c757d", '
    '"taskBkgColor": "#fff3cd", "taskBorderColor": "#d39e00"}, '
    '"gantt": {"leftPadding": LEFT}}}%%'
)


def test_the_gantt_says_each_bar_in_words_with_a_tag_for_its_colour() -> None:
    source = gantt(
        report(
            step("crawl: web #1", "succeeded", attempt(1, 0.0, 0.2, 20.0)),
            step("train", "cancelled", attempt(1, 20.0, 22.0, 30.0, "cancelled")),
            step("fresh", "succeeded", gate={"checked_at": at(0.0)}),
            outcome="failed",
        )
    )
    assert source == (
        THEME.replace("LEFT", "111")
        + """
gantt
  title nightly: failed in 1m
  dateFormat x
  axisFormat %H:%M:%S
  todayMarker off
  section crawl: web #1
    attempt 1 succeeded in 20s :done, 1767225600000, 1767225620000
  section train
    attempt 1 waited 2s for Fusion to start it :active, 1767225620000, 1767225622000
    attempt 1 cancelled in 8s :1767225622000, 1767225630000
  section fresh
    checked, passed :done, milestone, 1767225600000, 1767225600001
"""
    )


def test_past_the_cap_the_gantt_keeps_what_failed_then_the_longest_in_plan_order() -> None:
    steps = [step(f"s{i}", "succeeded", attempt(1, 0.0, 0.0, 1.0 + i / 10)) for i in range(200)]
    steps[3] = step("s3", "failed", attempt(1, 0.0, 0.0, 0.5, "failed"))
    source = gantt(report(*steps, ended=30.0))
    assert source is not None
    sections = [line.split()[1] for line in source.splitlines() if "section" in line]
    assert len(sections) == MAX_STEPS
    assert sections == ["s3", *(f"s{i}" for i in range(200 - MAX_STEPS + 1, 200))]
    drawn = chart(report(*steps, ended=30.0))
    assert drawn is not None
    assert drawn.left_out == 200 - MAX_STEPS
    assert source.endswith(f"%% {200 - MAX_STEPS} more step(s) not drawn\n")
