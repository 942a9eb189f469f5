from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from runner.clock import parse_time
from runner.fusion.status import RunStatus, parse_history, parse_status
from runner.jobs import ACTIVE, NO_RUN, TERMINAL, job_kind

# A start answer from Fusion's parallel bulk loader docs: jobConfig repeats "type", and jobId
# differs from result.jobRunId.
SAMPLE_B = """{"state": "starting", "jobId": "a2b50rrce7",
 "jobConfig": {"type": "parallel-bulk-loader", "id": "store_typeahead_entity_load",
   "format": "solr", "type": "parallel-bulk-loader"},
 "hostname": "111.111.111.111",
 "result": {"jobConfigId": "store_typeahead_entity_load", "jobRunId": "b2c50rrde6"}}"""


def test_documented_start_answer_with_duplicate_keys() -> None:
    status = parse_status(json.loads(SAMPLE_B), "store_typeahead_entity_load")
    assert status == RunStatus(
        job="store_typeahead_entity_load",
        run_id="a2b50rrce7",
        state="starting",
        keys=frozenset({"id:a2b50rrce7", "id:b2c50rrde6"}),  # either id names the run
    )
    assert status.raw["result"]["jobRunId"] == "b2c50rrde6"
    assert (status.active, status.terminal, status.visible) == (True, False, True)


def test_finished_run_with_times_and_a_duration_that_the_times_win_over() -> None:
    status = parse_status(
        {
            "state": "FINISHED",
            "jobId": "r1",
            "startTime": "2026-01-01T00:00:00.123456789Z",
            "endTime": 1767225605123,
            "duration": 5000,
            "somethingNew": {"x": 1},
        },
        "job",
    )
    assert status.state == "finished"
    assert status.started == datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert status.ended == datetime(2026, 1, 1, 0, 0, 5, 123000, tzinfo=UTC)
    assert status.duration == 4.999544  # from the times: `duration` has no documented unit
    assert status.raw["somethingNew"] == {"x": 1}
    assert (status.active, status.terminal) == (False, True)


def test_duration_derived_from_times_when_absent() -> None:
    status = parse_status(
        {
            "state": "error",
            "startTime": "2026-01-01T00:00:00Z",
            "endTime": "2026-01-01T00:01:30.5Z",
        },
        "job",
    )
    assert status.duration == 90.5
    assert status.run_id is None


def test_run_id_falls_back_to_result() -> None:
    assert parse_status({"state": "running", "result": {"jobRunId": "r9"}}, "j").run_id == "r9"


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        ({"message": "Py4JJavaError: boom", "error": "e", "details": "d"}, "Py4JJavaError: boom"),
        (
            {"message": "", "error": "Internal Server Error", "details": "d"},
            "Internal Server Error",
        ),
        ({"details": "only details"}, "only details"),
        ({"localizedMessage": " localized "}, "localized"),
        ({"stackTrace": []}, None),
        ("a plain string", "a plain string"),
        (None, None),
    ],
)
def test_failure_message(exception: Any, message: str | None) -> None:
    status = parse_status({"state": "error", "result": {"exception": exception}}, "j")
    assert status.message == message


@pytest.mark.parametrize(
    ("data", "state", "active", "terminal", "visible"),
    [
        ({}, "unknown", False, False, False),
        ({"state": "idle"}, "idle", False, False, False),
        ({"state": " Running "}, "running", True, False, True),
        ({"state": "cancelling"}, "cancelling", True, False, True),
        ({"state": "finishing"}, "finishing", True, False, True),
        ({"state": "skipped"}, "skipped", False, True, True),
        ({"state": "paused"}, "paused", True, False, True),  # unknown states: wait, don't guess
        ({"state": None, "result": "not an object"}, "unknown", False, False, False),
    ],
)
def test_state_classes(
    data: dict[str, Any], state: str, active: bool, terminal: bool, visible: bool
) -> None:
    status = parse_status(data, "j")
    assert (status.state, status.active, status.terminal, status.visible) == (
        state,
        active,
        terminal,
        visible,
    )


def test_state_sets_are_disjoint_and_documented() -> None:
    assert {
        "unknown", "idle", "starting", "running", "finishing", "cancelling",  # Spark
        "finished", "cancelled", "error", "skipped",
        "ready", "success", "failed", "aborted",  # the Jobs API; running is shared
    } == ACTIVE | TERMINAL | NO_RUN  # fmt: skip
    assert not ACTIVE & TERMINAL
    assert not ACTIVE & NO_RUN
    assert not TERMINAL & NO_RUN


def test_not_an_object() -> None:
    with pytest.raises(ValueError, match="expected a JSON object for a run status, got list"):
        parse_status([], "j")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-03T22:17:23.651897283Z", datetime(2025, 12, 3, 22, 17, 23, 651897, tzinfo=UTC)),
        ("2025-12-03T22:17:23.651Z", datetime(2025, 12, 3, 22, 17, 23, 651000, tzinfo=UTC)),
        ("2025-12-03T22:17:23Z", datetime(2025, 12, 3, 22, 17, 23, tzinfo=UTC)),
        ("2025-12-03T23:17:23+01:00", datetime(2025, 12, 3, 22, 17, 23, tzinfo=UTC)),
        ("2025-12-03T22:17:23", datetime(2025, 12, 3, 22, 17, 23, tzinfo=UTC)),
        (1764800243651, datetime(2025, 12, 3, 22, 17, 23, 651000, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (True, None),
        (None, None),
    ],
)
def test_parse_time(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_history_record_of_a_datasource_run() -> None:
    record = {
        "resource": "datasource:web",
        "runId": "Hq2x7",
        "startTime": "2026-01-01T00:00:00.000Z",
        "endTime": 1767225642000,
        "status": "FAILED",
        "extra": {"counter.input": 120, "counter.failed": 3},
        "error": {"message": "Connection refused: the crawler cannot reach docs.example.com"},
    }
    status = parse_history(record, "datasource:web")
    assert (status.run_id, status.state, status.duration) == ("Hq2x7", "failed", 42.0)
    assert status.message == "Connection refused: the crawler cannot reach docs.example.com"
    assert status.terminal
    assert status.raw["extra"]["counter.failed"] == 3


def test_history_record_still_running_and_an_empty_one() -> None:
    record = {"runId": "r", "status": "running", "startTime": "2026-01-01T00:00:00Z"}
    running = parse_history(record, "task:t")
    assert (running.active, running.duration, running.ended) == (True, None, None)
    assert parse_history({}, "task:t").state == "unknown"
    assert not parse_history({"status": "ready"}, "task:t").visible


def test_job_kinds() -> None:
    jobs = ("datasource:web", "task:reindex", "spark:als", "als", "my:odd:id")
    assert [job_kind(j) for j in jobs] == [
        ("datasource", "web"), ("task", "reindex"), ("spark", "als"), ("spark", "als"),
        ("spark", "my:odd:id"),
    ]  # fmt: skip
