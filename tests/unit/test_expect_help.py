"""`expect` mistakes get their fix: a bare number at --validate, and a key the run's status does
not have at run time, from the status Fusion returned."""

from __future__ import annotations

from typing import Any

import pytest

from runner import wording
from runner.engine.judge import judge
from runner.fusion.status import RunStatus
from runner.plan import Success
from tests.helpers.cli import invoke
from tests.helpers.paths import WritePlan

STATUS = {
    "extra": {"counter.input": 120, "counter.output": 118},
    "result": {"docsWritten": 118, "state": "finished"},
}


def said(expression: str, raw: dict[str, Any] = STATUS) -> str:
    """The words of a failed `expect` on a finished run whose status is `raw`."""
    status = RunStatus(job="j", run_id="r1", state="finished", message=None, raw=raw)
    success = Success(
        states=("finished",), max_duration=None, expect=(expression,), min_documents=0
    )
    _, criterion = judge(status, success, duration=1.0)
    assert not criterion.passed
    return wording.criterion(criterion)


def test_a_key_with_a_dot_read_as_a_path_is_spelled_out() -> None:
    assert said("extra.counter.output > `0`") == (
        "expect extra.counter.output > `0` is null (extra.counter.output: null); "
        "extra has no key counter; it has counter.input, counter.output: "
        'write extra."counter.output"'
    )


def test_a_misspelt_key_gets_the_nearest() -> None:
    assert said("result.docsWriten") == (
        "expect result.docsWriten is null; result has no key docsWriten: did you mean "
        "result.docsWritten?"
    )
    assert said("reslt.docsWritten") == (
        "expect reslt.docsWritten is null; the status has no key reslt: did you mean result?"
    )


def test_a_key_like_none_lists_the_keys_there_are() -> None:
    assert said("result.zzz") == (
        "expect result.zzz is null; result has no key zzz; it has docsWritten, state"
    )


@pytest.mark.parametrize(
    "expression",
    ["result.docsWritten < `0`", "extra.missing[0]", "result.*.nothing", "result | nothing"],
)
def test_no_hint_when_every_key_read_is_there_or_it_reads_elsewhere(expression: str) -> None:
    assert "has no key" not in said(expression)


def test_the_hint_is_kept_in_the_report() -> None:
    status = RunStatus(job="j", run_id="r1", state="finished", message=None, raw=STATUS)
    success = Success(
        states=("finished",), max_duration=None, expect=("result.docsWriten",), min_documents=0
    )
    _, criterion = judge(status, success, duration=1.0)
    assert criterion.hint == "result has no key docsWriten: did you mean result.docsWritten?"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "result.docs > 0",
            "write `0` with backticks, as in result.docs > `0`",
        ),
        (
            "result.docs >= 1.5 && extra.n == 2",
            "write `1.5` with backticks, as in result.docs >= `1.5` && extra.n == `2`",
        ),
    ],
)
def test_a_bare_number_at_validate_gets_its_backticks(
    write_plan: WritePlan, expression: str, message: str
) -> None:
    plan = write_plan(
        f"version: 1\nsteps:\n  - job: a\n    success:\n      expect: ['{expression}']\n"
    )
    result = invoke(plan, "--validate")
    assert result.exit_code == 2
    assert result.stderr == (
        "plan.yaml:5:16: $.steps[0].success.expect[0]: invalid JMESPath expression: JMESPath "
        f"reads a number only in backticks: {message}\n"
    )


def test_an_expression_wrong_otherwise_is_not_given_backticks(write_plan: WritePlan) -> None:
    plan = write_plan("version: 1\nsteps:\n  - job: a\n    success:\n      expect: ['a > 0 &&']\n")
    result = invoke(plan, "--validate")
    assert result.exit_code == 2
    assert "backticks" not in result.stderr
