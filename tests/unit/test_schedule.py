"""Fusion's own schedules: read in every shape Fusion's sources give (`runner.fusion.schedule`),
and judged against the plan (`runner.engine.schedules`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner import wording
from runner.engine.schedules import expected_window, findings
from runner.events import FusionMayStart
from runner.fusion import routes
from runner.fusion.routes import Call, Op
from runner.fusion.schedule import (
    Condition,
    Schedule,
    Trigger,
    TriggerKind,
    parse_schedule,
    with_view,
)
from tests.helpers.engine import plan_of
from tests.helpers.fakes import step

SAMPLES = Path(__file__).parents[1] / "fixtures" / "fusion"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


# --- reading ----------------------------------------------------------------------------------


def test_the_4_2_sample_with_its_repeated_type_key() -> None:
    text = (SAMPLES / "jobs_schedule_dup_type_4.2.json").read_text(encoding="utf-8")
    assert text.count('"type" : "cron"') == 2  # verbatim, the repeated key included
    assert parse_schedule(json.loads(text)) == Schedule(
        enabled=True,  # the sample has no `enabled`: taken as enabled
        triggers=(Trigger(kind=TriggerKind.CRON, enabled=True, expression="0 15 10 ? * MON-FRI"),),
    )


def test_the_spec_s_and_real_payloads_shapes() -> None:
    data = {
        "resource": "spark:train",
        "enabled": True,
        "default": False,
        "triggers": [
            {"type": "cron", "enabled": True, "expression": "0 0 6 ? * MON-FRI", "type ": "x"},
            {
                "type": "interval",
                "enabled": False,
                "interval": 1,
                "timeUnit": "HOUR",
                "startTime": "2018-10-25T20:31:44.158Z",
            },
            {"triggerType": "ON_SUCCESS_OR_FAILURE", "otherJob": "datasource:web", "enabled": True},
            {"triggerType": "ON_FAILURE", "otherJob": "spark:clean"},
        ],
    }
    assert parse_schedule(data).triggers == (
        Trigger(kind=TriggerKind.CRON, enabled=True, expression="0 0 6 ? * MON-FRI"),
        Trigger(
            kind=TriggerKind.INTERVAL,
            enabled=False,
            interval=1,
            unit="hour",
            start_time="2018-10-25T20:31:44.158Z",
        ),
        Trigger(
            kind=TriggerKind.CHAIN,
            enabled=True,
            other_job="datasource:web",
            on=(Condition.SUCCESS, Condition.FAILURE),
        ),
        Trigger(
            kind=TriggerKind.CHAIN, enabled=True, other_job="spark:clean", on=(Condition.FAILURE,)
        ),
    )


def test_the_docs_shapes() -> None:
    data = {
        "enabled": "true",
        "triggers": [
            {"type": "interval", "interval": 2, "repeatUnit": "day", "startTime": "2026-01-01"},
            {"type": "cron", "enabled": "true", "value": "0 0 * * * ?"},
            {"type": "job", "jobID": "crawl", "runOnSuccess": True, "runOnAbort": "true"},
            {"type": "job", "jobID": "crawl", "enabled": "false", "runOnFailure": True},
            {"type": "job_completion", "jobID": "crawl"},
            {"type": "sometime"},
            "not a trigger",
        ],
    }
    assert parse_schedule(data) == Schedule(
        enabled=True,
        triggers=(
            Trigger(
                kind=TriggerKind.INTERVAL,
                enabled=True,
                interval=2,
                unit="day",
                start_time="2026-01-01",
            ),
            Trigger(kind=TriggerKind.CRON, enabled=True, expression="0 0 * * * ?"),
            Trigger(
                kind=TriggerKind.CHAIN,
                enabled=True,
                other_job="crawl",
                on=(Condition.SUCCESS, Condition.ABORT),
            ),
            Trigger(
                kind=TriggerKind.CHAIN, enabled=False, other_job="crawl", on=(Condition.FAILURE,)
            ),
            Trigger(kind=TriggerKind.CHAIN, enabled=True, other_job="crawl"),
            Trigger(kind=TriggerKind.OTHER, enabled=True),
        ),
    )


@pytest.mark.parametrize("data", [[], "schedule", None, 3])
def test_a_schedule_that_is_not_an_object_cannot_be_read(data: Any) -> None:
    with pytest.raises(ValueError, match="expected a JSON object"):
        parse_schedule(data)


def test_the_view_gives_the_next_start_and_may_turn_the_schedule_off() -> None:
    cron = Trigger(kind=TriggerKind.CRON, enabled=True, expression="0 0 6 * * ?")
    schedule = Schedule(enabled=True, triggers=(cron,))
    assert schedule.timed
    view = {"enabled": True, "nextStartTime": "2026-01-01T06:00:00.000Z"}
    assert with_view(schedule, view).next_start == datetime(2026, 1, 1, 6, tzinfo=UTC)
    assert not with_view(schedule, {"enabled": False}).enabled
    assert with_view(schedule, ["not", "a", "view"]) == schedule


def test_the_schedule_route_is_read_back() -> None:
    assert routes.schedule("train") == ("GET", "/jobs/spark:train/schedule")
    assert routes.schedule("datasource:a/b") == ("GET", "/jobs/datasource:a%2Fb/schedule")
    assert routes.view("train") == ("GET", "/jobs/spark:train")
    assert routes.parse("GET", ["jobs", "spark:train", "schedule"]) == Call(Op.SCHEDULE, "train")
    assert routes.parse("GET", ["jobs", "task:t", "schedule"]) == Call(Op.SCHEDULE, "task:t")
    assert routes.parse("PUT", ["jobs", "task:t", "schedule"]) is None


# --- judging ----------------------------------------------------------------------------------

CRON = Trigger(kind=TriggerKind.CRON, enabled=True, expression="0 0 6 ? * MON-FRI")
INTERVAL = Trigger(
    kind=TriggerKind.INTERVAL,
    enabled=True,
    interval=1,
    unit="hour",
    start_time="2018-10-25T20:31:44.158Z",
)
PLAN = plan_of(
    [
        step("crawl", job="datasource:web", timeout=3600),
        step("train", "crawl", timeout=7200),
        step("report", timeout=1800),
    ]
)


def at(hours: float) -> datetime:
    return datetime.fromtimestamp(NOW.timestamp() + hours * 3600, tz=UTC)


def test_the_expected_window_is_the_plan_s_timeout_or_its_longest_chain_of_timeouts() -> None:
    assert expected_window(PLAN) == 3 * 3600  # crawl then train; report beside them
    assert expected_window(PLAN, only={"train", "report"}) == 7200
    timed = plan_of(list(PLAN.steps), timeout=600)
    assert expected_window(timed) == 600
    assert expected_window(plan_of([])) == 0


def test_a_cron_trigger_whose_next_start_is_inside_the_window() -> None:
    schedule = Schedule(enabled=True, triggers=(CRON,), next_start=at(2.5))
    found = findings(PLAN, {"train": schedule}, NOW)
    assert found == [
        FusionMayStart(
            step="train",
            job="train",
            trigger="cron",
            says="0 0 6 ? * MON-FRI",
            next_start="2026-01-01T02:30:00.000Z",
        )
    ]
    assert wording.line(found[0]) == (
        "Fusion's own scheduler may start job train during the plan: its cron trigger "
        "(0 0 6 ? * MON-FRI) starts it next at 2026-01-01T02:30:00.000Z, inside the plan's "
        "expected window; disable that trigger in Fusion, since the plan starts the job itself"
    )


def test_a_next_start_outside_the_window_is_silent() -> None:
    schedule = Schedule(enabled=True, triggers=(CRON, INTERVAL), next_start=at(3.01))
    assert findings(PLAN, {"train": schedule}, NOW) == []
    assert findings(plan_of(list(PLAN.steps), timeout=3600), {"train": schedule}, NOW) == []


def test_a_next_start_already_past_is_due() -> None:
    schedule = Schedule(enabled=True, triggers=(CRON,), next_start=at(-1))
    assert [f.next_start for f in findings(PLAN, {"train": schedule}, NOW)] == [
        "2025-12-31T23:00:00.000Z"
    ]


def test_an_interval_trigger_with_no_next_start_is_unknown() -> None:
    found = findings(PLAN, {"datasource:web": Schedule(enabled=True, triggers=(INTERVAL,))}, NOW)
    assert [(f.step, f.job, f.trigger, f.next_start) for f in found] == [
        ("crawl", "datasource:web", "interval", None)
    ]
    assert wording.line(found[0]) == (
        "Fusion's own scheduler may start job datasource:web during the plan: its interval "
        "trigger (every 1 hour from 2018-10-25T20:31:44.158Z) is enabled and its next start is "
        "unknown (Fusion gives none); disable that trigger in Fusion, since the plan starts the "
        "job itself"
    )


def test_a_chain_trigger_on_another_plan_job() -> None:
    chain = Trigger(
        kind=TriggerKind.CHAIN, enabled=True, other_job="datasource:web", on=(Condition.SUCCESS,)
    )
    found = findings(PLAN, {"train": Schedule(enabled=True, triggers=(chain,))}, NOW)
    assert [(f.step, f.trigger, f.says, f.next_start) for f in found] == [
        ("train", "chain", "after job datasource:web succeeds", None)
    ]
    assert wording.line(found[0]) == (
        "Fusion's own scheduler may start job train during the plan: its chain trigger (after "
        "job datasource:web succeeds) follows another job of the plan; disable that trigger in "
        "Fusion, since the plan orders its jobs itself"
    )


@pytest.mark.parametrize(
    ("other", "on", "says"),
    [
        ("web", (Condition.FAILURE, Condition.ABORT), "after job web fails or is aborted"),
        ("spark:report", (), "after job spark:report ends"),
    ],
)
def test_a_chain_names_its_job_as_fusion_does(
    other: str, on: tuple[Condition, ...], says: str
) -> None:
    chain = Trigger(kind=TriggerKind.CHAIN, enabled=True, other_job=other, on=on)
    found = findings(PLAN, {"train": Schedule(enabled=True, triggers=(chain,))}, NOW)
    assert [f.says for f in found] == [says]


@pytest.mark.parametrize("other", ["spark:elsewhere", "task:web", "train", "spark:train"])
def test_a_chain_on_a_job_outside_the_plan_or_on_itself_is_silent(other: str) -> None:
    chain = Trigger(kind=TriggerKind.CHAIN, enabled=True, other_job=other)
    assert findings(PLAN, {"train": Schedule(enabled=True, triggers=(chain,))}, NOW) == []


def test_a_chain_on_a_step_left_out_is_silent() -> None:
    chain = Trigger(kind=TriggerKind.CHAIN, enabled=True, other_job="datasource:web")
    schedules = {"train": Schedule(enabled=True, triggers=(chain,))}
    assert findings(PLAN, schedules, NOW, only={"train", "report"}) == []


def test_a_disabled_trigger_or_schedule_is_silent() -> None:
    off = Trigger(kind=TriggerKind.CRON, enabled=False, expression="* * * * * ?")
    chain = Trigger(kind=TriggerKind.CHAIN, enabled=True, other_job="datasource:web")
    schedules = {
        "train": Schedule(enabled=True, triggers=(off,), next_start=at(1)),
        "report": Schedule(enabled=False, triggers=(CRON, chain), next_start=at(1)),
        "datasource:web": None,
    }
    assert findings(PLAN, schedules, NOW) == []


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        ({"interval": 30, "timeUnit": "MINUTE"}, "every 30 minute"),
        ({"interval": "30", "timeUnit": "minute"}, "every 30 minute"),
        ({"interval": -5, "timeUnit": 7}, "at an interval Fusion does not give"),
        ({"interval": True, "timeUnit": "hour"}, "at an interval Fusion does not give"),
        ({"timeUnit": "hour"}, "at an interval Fusion does not give"),
    ],
    ids=repr,
)
def test_an_interval_is_said_as_given_or_as_not_given(trigger: dict[str, Any], says: str) -> None:
    [read] = parse_schedule({"triggers": [{"type": "interval", **trigger}]}).triggers
    assert (
        wording.trigger_says(
            "interval", interval=read.interval, unit=read.unit, start_time=read.start_time
        )
        == says
    )
