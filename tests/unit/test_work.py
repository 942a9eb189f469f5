"""The work a run did, by Fusion's own counts (`runner.fusion.work`), read from Fusion's documented
answers (tests/fixtures/fusion/) and at each rule's edges."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.engine.judge import judge
from runner.fusion.status import RunStatus, parse_history, parse_job_view, parse_status
from runner.fusion.work import Work, work
from runner.plan import Success
from tests.unit.test_fusion_samples import SAMPLES, sample

INDEXED = "content-indexer.result.success.counter"


def crawl(extra: dict[str, Any], state: str = "success") -> RunStatus:
    record = {"resource": "datasource:web", "runId": "r1", "status": state, "extra": extra}
    return parse_history(record, "datasource:web")


def test_a_5x_history_record_counts_output_less_failed_and_deleted() -> None:
    newest = sample("jobs_history_3runs_5.x.json")[0]
    run = parse_history(newest, "datasource:myDatasource")
    assert work(run) == Work(58241, "counter.output - counter.failed - counter.deleted")


def test_a_job_view_counts_as_its_latest_run_s_record_does() -> None:
    [view] = sample("app_jobs_after_success_5.x.json")
    run = parse_job_view(view, "datasource:myDatasource")
    assert work(run) == Work(58241, "counter.output - counter.failed - counter.deleted")


def test_the_5_12_spec_s_nested_extra_is_read() -> None:
    record = sample("connectors_jobstatus_spec_example_5.12.json")
    run = parse_history({**record, "status": "success"}, "datasource:pokemon_zip-api-test-app")
    assert work(run) == Work(898, "counter.output")


def test_a_5x_connector_s_nested_counters_are_read() -> None:
    text = (SAMPLES / "connectors_job_state_5.x.excerpt.txt").read_text(encoding="utf-8")
    counters = text[text.index('"counters": {') : text.index('"start.request"')]
    counters = counters.rstrip().rstrip(",") + "}"  # the excerpt's counters, up to a cut
    extra = json.loads("{" + counters + "}")
    assert work(crawl(extra)) == Work(900, "counters.content-indexer.result.success.counter")
    del extra["counters"]["content-indexer.result.success.counter"]
    assert work(crawl(extra)) == Work(900, "counters.content-indexer.completed.count")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"counter.output": 10, "counter.failed": 3}, Work(7, "counter.output - counter.failed")),
        (
            {"counter.output": 10, "counter.deleted": 10},
            Work(0, "counter.output - counter.deleted"),
        ),
        ({"counter.output": 0}, Work(0, "counter.output")),
        ({"counter.output": 2, "counter.failed": 5}, Work(0, "counter.output - counter.failed")),
        ({"counter.input": 12}, Work(12, "counter.input")),
        ({"counter.output": 5, "counter.input": 12}, Work(5, "counter.output")),
        ({"counter.output": True}, None),  # a boolean is no count
        ({"counter.output": "12"}, None),
        (  # 5.x gives some counts as strings: read as numbers
            {"counters": {"content-indexer.completed.count": {"count": "900"}}},
            Work(900, "counters.content-indexer.completed.count"),
        ),
        ({}, None),
    ],
    ids=repr,
)
def test_a_datasource_run_s_documents(extra: dict[str, Any], expected: Work | None) -> None:
    assert work(crawl(extra)) == expected


def test_a_spark_run_counts_docs_written_and_a_skipped_run_wrote_none() -> None:
    def spark(state: str, result: dict[str, Any]) -> RunStatus:
        return parse_status({"state": state, "jobId": "r1", "result": result}, "train")

    assert work(spark("finished", {"docsWritten": 42})) == Work(42, "docsWritten")
    assert work(spark("finished", {"docsWritten": 0})) == Work(0, "docsWritten")
    assert work(spark("skipped", {})) == Work(0, "state skipped")
    assert work(spark("finished", {})) is None


def test_a_task_s_work_is_unknown() -> None:
    record = {"resource": "task:purge", "status": "success", "extra": {"counter.output": 0}}
    assert work(parse_history(record, "task:purge")) is None


@pytest.mark.parametrize("count", ["²", "٣", "1" * 4001, "-1", "1.5", ""], ids=repr)
def test_a_nested_count_that_is_no_plain_number_is_left_as_text(count: str) -> None:
    """One odd counter never makes the whole answer unreadable: it is not counted, and the rest
    of the record is read."""
    extra = {"counters": {INDEXED: {"count": count}}, "counter.input": 7}
    run = crawl(extra)
    assert run.reported is not None
    assert run.reported["counters"][INDEXED]["count"] == count
    assert work(run) == Work(7, "counter.input")


def test_a_count_of_hundreds_of_digits_is_judged_not_a_crash() -> None:
    """A ratio beyond a float is null, and avg() beyond one is an expression that could not
    be evaluated: neither stops fusion-run."""
    huge = 10**400
    run = crawl({"counter.output": huge})
    previous = {"status": {}, "documents": 3}
    success = Success(
        states=("success",),
        max_duration=None,
        expect=("avg([documents]) > `1`",),
        warn=("ratio(documents, previous.documents) >= `0.7`",),
    )
    _, average, ratio, did = judge(run, success, duration=1.0, previous=previous)
    assert (average.passed, average.error) == (
        False,
        "integer division result too large for a float",
    )
    assert (ratio.passed, ratio.operands) == (
        False,
        (("ratio(documents, previous.documents)", None),),
    )
    assert (did.passed, did.actual) == (True, huge)
