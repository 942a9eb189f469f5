"""Every kind of reason has words and a fact: `runner.wording.text` says each one (a reason type
with no words would be a TypeError in the middle of a report), and `runner.facts` writes each as
JSON and reads it back as it was, with every field a value the report schema allows."""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from typing import Any, get_args, get_origin

import pytest

from runner import reasons, wording
from runner.criteria import Criterion, CriterionName
from runner.facts import KINDS, from_fact, to_fact
from runner.outcomes import Outcome
from runner.schemas import load_schema

SAMPLES: dict[Any, Any] = {
    str: "crawl",
    float: 90.5,
    int: 3,
    bool: True,
    Outcome: Outcome.TIMED_OUT,
    reasons.Unconfirmed: reasons.Unconfirmed.GRACE_PASSED,
    tuple[tuple[str, str], ...]: (("crawl", "failed"),),  # StepsFailed: (step, outcome)
}


def sample(hint: Any) -> Any:
    """A value of the type `hint`, as a reason's field holds it."""
    if hint in SAMPLES:
        return SAMPLES[hint]
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        return (sample(args[0]),) if args[-1] is Ellipsis else tuple(map(sample, args))
    if hint is Criterion:
        return Criterion(
            name=CriterionName.EXPECT,
            expected="result.docsWritten > `0`",
            actual=False,
            passed=False,
            operands=(("result.docsWritten", 0),),
        )
    if args:  # a union: its first member that is not None (a nested reason is a dataclass)
        return sample(next(arg for arg in args if arg is not type(None)))
    if dataclasses.is_dataclass(hint):
        return instance(typing.cast(type, hint))
    raise AssertionError(f"no sample of {hint!r}")


def instance(cls: type) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{field.name: sample(hints[field.name]) for field in dataclasses.fields(cls)})


ALL = [instance(cls) for cls in KINDS.values()]


def test_every_reason_and_cause_type_has_a_kind() -> None:
    members = {
        member
        for union in (reasons.Reason, reasons.Cause)
        for member in get_args(union)
        if isinstance(member, type)
    }
    assert members <= set(KINDS.values())
    assert len(KINDS) == len(set(KINDS.values()))  # no two types share a kind


@pytest.mark.parametrize("fact", ALL, ids=lambda fact: type(fact).__name__)
def test_each_kind_has_words_and_reads_back_as_it_was(fact: Any) -> None:
    said = wording.text(fact)
    assert said.strip(), fact
    assert "Criterion(" not in said, said  # no repr leaks into words
    assert "object at" not in said, said
    written = json.loads(json.dumps(to_fact(fact)))
    assert from_fact(written) == fact


def test_the_report_schema_names_every_kind() -> None:
    schema = load_schema("report.schema.json")
    assert schema["$defs"]["fact"]["properties"]["kind"]["enum"] == sorted(KINDS)


def test_a_kind_fusion_run_does_not_know_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown kind of reason: 'late_for_dinner'$"):
        from_fact({"kind": "late_for_dinner"})


def test_enums_are_written_as_their_values() -> None:
    fact = reasons.UpstreamFailed(upstream="crawl", outcome=Outcome.TIMED_OUT, more=0)
    assert to_fact(fact) == {
        "kind": "upstream_failed",
        "upstream": "crawl",
        "outcome": "timed_out",
        "more": 0,
    }
    assert isinstance(from_fact(to_fact(fact)).outcome, enum.Enum)  # type: ignore[union-attr]
