"""Judging a run that ended (`runner.engine.judge`) and the words that say why it failed
(`runner.wording.criterion`): each criterion at its boundaries, with what it keeps and says."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jmespath
import pytest

from runner import wording
from runner.criteria import Criterion, CriterionName, Level
from runner.engine.judge import judge
from runner.fusion.status import (
    RunStatus,
    parse_history,
    parse_job_view,
    parse_status,
    with_counters_of,
)
from runner.plan import Success


def judged(
    *,
    state: str = "finished",
    states: tuple[str, ...] = ("finished",),
    max_duration: int | None = None,
    expect: tuple[str, ...] = (),
    duration: float | None = 1.0,
    raw: dict[str, Any] | None = None,
    message: str | None = None,
    min_documents: int | None = 0,
) -> list[Criterion]:
    """The criteria of a plan on a run r1 of Spark job j that ended in `state` (with no work
    check, unless `min_documents` asks for one)."""
    status = RunStatus(job="j", run_id="r1", state=state, message=message, raw=raw or {})
    success = Success(
        states=states, max_duration=max_duration, expect=expect, min_documents=min_documents
    )
    return judge(status, success, duration=duration)


def expect(expression: str, raw: dict[str, Any]) -> Criterion:
    """The criterion of `expression` on a finished run whose status is `raw`."""
    state, criterion = judged(expect=(expression,), raw=raw)
    assert state.passed
    return criterion


# --- expect: JMESPath's truth ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [0, 0.0, "0", [0], {"a": 0}, True, 1, -1, "false", [False], [None], {"a": None}],
    ids=repr,
)
def test_a_value_jmespath_holds_true_passes(value: Any) -> None:
    criterion = expect("value", {"value": value})
    assert (criterion.passed, criterion.actual, criterion.operands) == (True, value, ())
    assert wording.criterion(criterion) == ""


@pytest.mark.parametrize(
    ("value", "said"),
    [(False, "false"), (None, "null"), ("", '""'), ([], "[]"), ({}, "{}")],
    ids=repr,
)
def test_a_value_jmespath_holds_false_fails(value: Any, said: str) -> None:
    criterion = expect("value", {"value": value})
    assert (criterion.passed, criterion.actual, criterion.operands) == (False, value, ())
    assert criterion.error is None
    assert wording.criterion(criterion) == f"expect value is {said}"


def test_a_field_the_status_does_not_have_is_null_and_fails() -> None:
    criterion = expect("result.docsWritten", {"result": {}})
    assert (criterion.passed, criterion.actual) == (False, None)
    assert wording.criterion(criterion) == "expect result.docsWritten is null"


def test_a_literal_zero_passes() -> None:
    assert expect("`0`", {}).passed


# --- expect: an expression that cannot be evaluated -----------------------------------------------


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        (
            "result.docsWritten >",
            'Invalid jmespath expression: Incomplete expression:\n"result.docsWritten >"\n'
            "                     ^",
        ),
        (
            "length(value)",
            "In function length(), invalid type for value: 5, expected one of: "
            "['string', 'array', 'object'], received: \"number\"",
        ),
        ("nope(value)", "Unknown function: nope()"),
    ],
    ids=["does not parse", "wrong type", "unknown function"],
)
def test_an_expression_that_cannot_be_evaluated_fails_keeping_why(
    expression: str, error: str
) -> None:
    criterion = expect(expression, {"value": 5})
    assert criterion == Criterion(
        name=CriterionName.EXPECT, expected=expression, actual=None, passed=False, error=error
    )
    assert wording.criterion(criterion) == f"expect {expression} could not be evaluated: {error}"


# --- expect: a failed comparison names its field sides, with their values -------------------------

COUNTERS = {
    "state": "error",
    "result": {"docsWritten": 0, "docsRead": 7, "items": [1, 2], "name": "café"},
    "extra": {"counter.failed": 12, "counters": {"pipeline.out": {"count": 0}}, "doc count": 3},
}


@pytest.mark.parametrize(
    ("expression", "operands", "words"),
    [
        (
            "result.docsWritten > `0`",
            [("result.docsWritten", 0)],
            "expect result.docsWritten > `0` is false (result.docsWritten: 0)",
        ),
        (  # a literal side is left out, on either side
            "`10` < result.docsRead",
            [("result.docsRead", 7)],
            "expect `10` < result.docsRead is false (result.docsRead: 7)",
        ),
        (  # a raw string literal too
            "state == 'finished'",
            [("state", "error")],
            "expect state == 'finished' is false (state: \"error\")",
        ),
        (  # two field sides, in their order
            "result.docsWritten == result.docsRead",
            [("result.docsWritten", 0), ("result.docsRead", 7)],
            "expect result.docsWritten == result.docsRead is false "
            "(result.docsWritten: 0, result.docsRead: 7)",
        ),
        (  # a name JMESPath must quote is quoted, as in the expression
            'extra."counter.failed" == `0`',
            [('extra."counter.failed"', 12)],
            'expect extra."counter.failed" == `0` is false (extra."counter.failed": 12)',
        ),
        (
            'extra."doc count" > `5`',
            [('extra."doc count"', 3)],
            'expect extra."doc count" > `5` is false (extra."doc count": 3)',
        ),
        (  # nested paths, quoted within
            'extra.counters."pipeline.out".count > `0`',
            [('extra.counters."pipeline.out".count', 0)],
            'expect extra.counters."pipeline.out".count > `0` is false '
            '(extra.counters."pipeline.out".count: 0)',
        ),
        (  # a name quoted needlessly in the expression is spelt as JMESPath reads it
            'result."docsWritten" >= `1`',
            [("result.docsWritten", 0)],
            'expect result."docsWritten" >= `1` is false (result.docsWritten: 0)',
        ),
        (  # a field the status lacks: null, and a comparison of it is null
            "result.missing > `0`",
            [("result.missing", None)],
            "expect result.missing > `0` is null (result.missing: null); result has no key "
            "missing; it has docsRead, docsWritten, items, name",
        ),
        (  # a value that is no field path is named as a value
            "length(result.items) > `3`",
            [("length(result.items)", 2)],
            "expect length(result.items) > `3` is false (length(result.items): 2)",
        ),
        (  # Fusion's words are written as they are, not escaped
            "result.name == 'cafe'",
            [("result.name", "café")],
            "expect result.name == 'cafe' is false (result.name: \"café\")",
        ),
    ],
)
def test_a_failed_comparison_keeps_each_field_side_and_its_value(
    expression: str, operands: list[tuple[str, Any]], words: str
) -> None:
    criterion = expect(expression, COUNTERS)
    assert criterion.passed is False
    assert list(criterion.operands) == operands
    assert wording.criterion(criterion) == words


@pytest.mark.parametrize(
    ("name", "spelt"),
    [
        ("docsWritten_2", "docsWritten_2"),
        ("counter.failed", '"counter.failed"'),
        ("doc count", '"doc count"'),
        ("1st", '"1st"'),
        ("with-dash", '"with-dash"'),
        ("café", '"caf\\u00e9"'),  # JMESPath's bare names are ASCII only
    ],
)
def test_each_field_side_is_spelt_as_jmespath_reads_it(name: str, spelt: str) -> None:
    """The spelling of a field side, given to JMESPath, finds the value it is shown with."""
    data = {"extra": {name: 12}}
    quoted = '"' + name + '"'
    [(source, value)] = expect(f"extra.{quoted} == `0`", data).operands
    assert source == f"extra.{spelt}"
    assert jmespath.search(source, data) == value == 12


@pytest.mark.parametrize(
    ("expression", "value", "said"),
    [
        ("result.docsWritten && result.name", "", '""'),  # no comparison at its top
        ("!(result.docsWritten > `-1`)", False, "false"),
        ("result.items[?@ > `5`]", [], "[]"),
    ],
)
def test_a_failure_that_is_no_comparison_names_no_operands(
    expression: str, value: Any, said: str
) -> None:
    raw = {"result": {"docsWritten": 0, "name": "", "items": [1, 2]}}
    criterion = expect(expression, raw)
    assert (criterion.passed, criterion.actual, criterion.operands) == (False, value, ())
    assert wording.criterion(criterion) == f"expect {expression} is {said}"


def test_a_comparison_that_holds_names_no_operands() -> None:
    criterion = expect("result.docsWritten == `0`", COUNTERS)
    assert (criterion.passed, criterion.actual, criterion.operands) == (True, True, ())


# --- max_duration ---------------------------------------------------------------------------------


def test_a_run_as_long_as_max_duration_passes() -> None:
    _, limit = judged(max_duration=2, duration=2.0)
    assert limit == Criterion(name=CriterionName.MAX_DURATION, expected=2, actual=2.0, passed=True)
    assert wording.criterion(limit) == ""


def test_a_run_a_hair_longer_than_max_duration_fails() -> None:
    _, limit = judged(max_duration=2, duration=2.001)
    assert limit == Criterion(
        name=CriterionName.MAX_DURATION, expected=2, actual=2.001, passed=False
    )
    assert wording.criterion(limit) == "the run took 2.001s, more than max_duration 2s"


@pytest.mark.parametrize(
    ("limit", "duration", "words"),
    [
        (60, 60.3, "the run took 60.3s, more than max_duration 1m"),
        (3600, 3600.4, "the run took 3600.4s, more than max_duration 1h"),
        (3600, 3661, "the run took 1h1m1s, more than max_duration 1h"),
    ],
)
def test_a_duration_over_its_limit_never_reads_as_the_limit(
    limit: int, duration: float, words: str
) -> None:
    """Rounded to the plan's units, 60.3 s would read "1m, more than max_duration 1m"."""
    _, criterion = judged(max_duration=limit, duration=duration)
    assert wording.criterion(criterion) == words


def test_a_run_longer_than_max_duration_is_said_in_the_plans_units() -> None:
    _, limit = judged(max_duration=60, duration=90.0)
    assert wording.criterion(limit) == "the run took 1m30s, more than max_duration 1m"


def test_a_run_of_unknown_duration_fails_max_duration() -> None:
    _, limit = judged(max_duration=2, duration=None)
    assert limit == Criterion(
        name=CriterionName.MAX_DURATION, expected=2, actual=None, passed=False
    )
    assert wording.criterion(limit) == "the run took an unknown time, more than max_duration 2s"


def test_no_max_duration_no_criterion_and_unknown_duration_passes() -> None:
    assert [c.name for c in judged(duration=None)] == [CriterionName.STATE]
    assert all(c.passed for c in judged(duration=None))


# --- the state ------------------------------------------------------------------------------------


def test_an_accepted_state_passes_naming_no_run_and_no_message() -> None:
    [state] = judged(state="skipped", states=("finished", "skipped"), message="ignored")
    assert state == Criterion(
        name=CriterionName.STATE, expected=["finished", "skipped"], actual="skipped", passed=True
    )
    assert wording.criterion(state) == ""


def test_a_state_not_accepted_fails_with_fusions_message() -> None:
    [state] = judged(state="error", states=("finished", "skipped"), message="Spark died")
    assert state == Criterion(
        name=CriterionName.STATE,
        expected=["finished", "skipped"],
        actual="error",
        passed=False,
        run="r1",
        message="Spark died",
    )
    assert wording.criterion(state) == "run r1 ended error: Spark died"


def test_a_state_not_accepted_without_a_message_says_what_is_accepted() -> None:
    [state] = judged(state="cancelled", states=("finished", "skipped"))
    assert (state.passed, state.run, state.message) == (False, "r1", None)
    assert wording.criterion(state) == "run r1 ended cancelled (accepted: finished, skipped)"


def test_a_run_with_no_id_is_named_by_when_it_started() -> None:
    status = parse_history(
        {"resource": "datasource:crawl", "status": "failed", "startTime": "2026-01-01T00:00:00Z"},
        "datasource:crawl",
    )
    [state] = judge(status, Success(states=("success",), max_duration=None, expect=()), duration=1)
    assert wording.criterion(state) == (
        "run started 2026-01-01T00:00:00.000Z ended failed (accepted: success)"
    )


def test_every_criterion_is_judged_in_the_plans_order() -> None:
    criteria = judged(
        state="error",
        max_duration=2,
        duration=3.0,
        expect=("result.docsWritten > `0`", "state"),
        raw={"state": "error", "result": {"docsWritten": 0}},
    )
    assert [(c.name, c.expected, c.passed) for c in criteria] == [
        (CriterionName.STATE, ["finished"], False),
        (CriterionName.MAX_DURATION, 2, False),
        (CriterionName.EXPECT, "result.docsWritten > `0`", False),
        (CriterionName.EXPECT, "state", True),
    ]


# --- a run's duration from its times: none from identical ones ------------------------------------

START = "2026-01-01T00:00:00.000Z"
A_MILLISECOND_LATER = "2026-01-01T00:00:00.001Z"


@pytest.mark.parametrize(("ended", "duration"), [(START, None), (A_MILLISECOND_LATER, 0.001)])
def test_identical_start_and_end_times_give_no_duration(ended: str, duration: float | None) -> None:
    """Fusion 4.2.1's history gives identical times to runs that took longer: no duration is
    known from them. A millisecond apart, the run took that millisecond."""
    spark = parse_status(
        {"state": "finished", "jobId": "r1", "startTime": START, "endTime": ended}, "j"
    )
    record = parse_history(
        {"resource": "datasource:d", "status": "success", "startTime": START, "endTime": ended},
        "datasource:d",
    )
    view = parse_job_view(
        {
            "resource": "datasource:d",
            "status": "success",
            "lastStartTime": START,
            "lastEndTime": ended,
        },
        "datasource:d",
    )
    assert (spark.duration, record.duration, view.duration) == (duration, duration, duration)
    assert spark.unit_assumed is False


@pytest.mark.parametrize(
    ("ended", "duration", "assumed"), [(START, 5.0, True), (A_MILLISECOND_LATER, 0.001, False)]
)
def test_identical_times_leave_fusions_duration_field_read_as_milliseconds(
    ended: str, duration: float, assumed: bool
) -> None:
    data = {
        "state": "finished",
        "jobId": "r1",
        "startTime": START,
        "endTime": ended,
        "duration": 5000,
    }
    status = parse_status(data, "j")
    assert (status.duration, status.unit_assumed) == (duration, assumed)


@pytest.mark.parametrize(("status", "documents"), [("running", None), ("success", 900)])
def test_a_history_record_takes_its_views_counters_only_once_the_view_says_it_ended(
    status: str, documents: int | None
) -> None:
    """The 4.2 history gives no counters; the view's are the run's when their start time is the
    record's, but a view that lags or sticks at `running` shows those of a moment it went on:
    judged on them, a run that indexed 5 documents would pass min_documents 100."""
    record = parse_history(
        {"resource": "datasource:d", "status": "success", "startTime": START, "endTime": START},
        "datasource:d",
    )
    extra = {"counter.input": 900, "counter.output": 900, "startTime": 1767225600000}
    view = parse_job_view(
        {"resource": "datasource:d", "status": status, "lastStartTime": START, "extra": extra},
        "datasource:d",
    )
    taken = with_counters_of(record, view)
    assert taken.raw.get("extra", {}).get("counter.output") == documents


# --- the work check -------------------------------------------------------------------------------


def crawled(
    extra: dict[str, Any],
    *,
    state: str = "success",
    min_documents: int | None = None,
    remainder_of: str | None = None,
) -> list[Criterion]:
    """The criteria of a datasource run r1 whose history record has `extra` counters."""
    record = {"resource": "datasource:web", "runId": "r1", "status": state, "extra": extra}
    status = parse_history(record, "datasource:web")
    success = Success(
        states=("success",), max_duration=None, expect=(), min_documents=min_documents
    )
    return judge(status, success, duration=1.0, remainder_of=remainder_of)


def test_a_run_that_did_no_work_is_a_warning_by_default() -> None:
    _, work = crawled({"counter.output": 3, "counter.failed": 3})
    assert (work.name, work.passed, work.level) == (CriterionName.WORK, False, Level.WARN)
    assert (work.expected, work.actual, work.run) == (1, 0, "r1")
    assert wording.criterion(work) == (
        "run r1 indexed 0 documents (counter.output - counter.failed): it did no work"
    )


def test_a_run_that_did_work_passes_the_check_saying_nothing() -> None:
    _, work = crawled({"counter.output": 1})
    assert (work.passed, work.actual, work.counted) == (True, 1, "counter.output")
    assert wording.criterion(work) == wording.note(work) == ""


def test_a_run_whose_work_fusion_does_not_count_is_not_checked_by_default() -> None:
    assert [c.name for c in crawled({})] == [CriterionName.STATE]


def test_min_documents_0_checks_nothing() -> None:
    assert [c.name for c in crawled({"counter.output": 0}, min_documents=0)] == [
        CriterionName.STATE
    ]


def test_min_documents_fails_a_run_with_fewer() -> None:
    _, work = crawled({"counter.output": 40}, min_documents=100)
    assert (work.passed, work.level, work.expected, work.actual) == (False, Level.FAIL, 100, 40)
    assert wording.criterion(work) == (
        "run r1 indexed 40 documents (counter.output), fewer than min_documents 100"
    )
    _, enough = crawled({"counter.output": 100}, min_documents=100)
    assert enough.passed


def test_min_documents_fails_a_run_whose_work_fusion_does_not_count() -> None:
    _, work = crawled({}, min_documents=1)
    assert (work.passed, work.actual, work.counted) == (False, None, None)
    assert wording.criterion(work) == (
        "Fusion reported no count of the documents run r1 indexed or wrote, and min_documents is 1"
    )


def test_a_skipped_spark_run_wrote_nothing() -> None:
    status = RunStatus(job="agg", run_id="r1", state="skipped", raw={"state": "skipped"})
    success = Success(states=("finished", "skipped"), max_duration=None, expect=())
    _, work = judge(status, success, duration=1.0)
    assert (work.passed, work.level, work.counted) == (False, Level.WARN, "state skipped")
    assert wording.criterion(work) == "run r1 ended skipped: it wrote no documents"
    _, required = judge(status, replace(success, min_documents=1), duration=1.0)
    assert wording.criterion(required) == (
        "run r1 ended skipped: it wrote no documents, fewer than min_documents 1"
    )


def test_a_run_that_failed_has_no_work_check() -> None:
    assert [c.name for c in crawled({"counter.output": 0}, state="failed")] == [CriterionName.STATE]


def test_a_crawl_after_an_interrupted_one_says_its_counts_cover_the_remainder() -> None:
    _, work = crawled({"counter.output": 5}, remainder_of="r0")
    assert (work.passed, work.remainder_of) == (True, "r0")
    assert wording.note(work) == (
        "run r1 crawled only what run r0, interrupted, left: its counts cover that remainder"
    )
    _, none = crawled({"counter.output": 0}, remainder_of="r0")
    assert wording.criterion(none) == (
        "run r1 indexed 0 documents (counter.output): it did no work; "
        "it crawled only what run r0, interrupted, left"
    )


# --- warn, and the last good run ------------------------------------------------------------------


def baselined(expression: str, previous: dict[str, Any] | None, *, level: str) -> Criterion:
    """The criterion of `expression` (under `expect` or `warn`) on a datasource run that indexed
    40 documents, after `previous`."""
    record = {"resource": "datasource:web", "runId": "r2", "status": "success"}
    status = parse_history({**record, "extra": {"counter.output": 40}}, "datasource:web")
    success = Success(
        states=("success",),
        max_duration=None,
        min_documents=0,
        expect=(expression,) if level == "expect" else (),
        warn=(expression,) if level == "warn" else (),
    )
    _, criterion = judge(status, success, duration=1.0, previous=previous)
    return criterion


LAST_NIGHT = {
    "run": "r1",
    "state": "success",
    "ended_at": "2026-12-06T03:00:00.000Z",
    "duration": 600.0,
    "documents": 900,
    "status": {"runId": "r1", "status": "success", "extra": {"counter.output": 900}},
}


def test_a_warn_that_does_not_hold_is_a_warning_with_its_figures() -> None:
    criterion = baselined("ratio(documents, previous.documents) >= `0.7`", LAST_NIGHT, level="warn")
    assert (criterion.passed, criterion.level) == (False, Level.WARN)
    assert criterion.operands == (("ratio(documents, previous.documents)", 40 / 900),)
    assert wording.criterion(criterion) == (
        "warn ratio(documents, previous.documents) >= `0.7` is false "
        "(ratio(documents, previous.documents): 0.04444)"
    )


def test_previous_is_the_last_good_run_s_status_with_its_documents() -> None:
    assert baselined('previous.extra."counter.output" == `900`', LAST_NIGHT, level="expect").passed
    assert baselined("previous.documents == `900`", LAST_NIGHT, level="expect").passed
    assert baselined("previous.runId == 'r1'", LAST_NIGHT, level="expect").passed


def test_an_expression_on_previous_with_no_earlier_good_run_passes_and_says_so() -> None:
    for level in ("expect", "warn"):
        criterion = baselined("ratio(documents, previous.documents) >= `0.7`", None, level=level)
        assert (criterion.passed, criterion.no_previous, criterion.actual) == (True, True, None)
        assert wording.criterion(criterion) == ""
        assert wording.note(criterion) == (
            f"{level} ratio(documents, previous.documents) >= `0.7` not judged: "
            "no earlier good run of the job to compare with"
        )


def test_documents_is_the_run_s_own_count() -> None:
    assert baselined("documents == `40`", None, level="expect").passed


def test_ratio_of_nothing_is_null() -> None:
    criterion = baselined(
        "ratio(documents, previous.documents)", {**LAST_NIGHT, "documents": 0}, level="warn"
    )
    assert (criterion.passed, criterion.actual) == (False, None)
