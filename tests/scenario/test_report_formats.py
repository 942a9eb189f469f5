"""A resume decides from facts, never from words: each reason in the report has its kind and
figures beside its words, and a resume reads only those. Rewording every message changes nothing
a resume does; a report of a format before (2, words only; 3, criteria with no levels and
warnings in words alone; 4, no trace) is read as the format written now and resumed as the same
plan's new report is."""

from __future__ import annotations

import functools
import json
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from runner import wording
from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.engine import Engine
from runner.errors import UsageError
from runner.report.journal import Journal, read_report, report_file
from runner.result import REPORT_VERSION
from tests.helpers.earlier_reports import CASES, Case
from tests.helpers.paths import ROOT
from tests.helpers.reports import valid

FORMATS = {version: ROOT / "tests" / "fixtures" / f"report-{version}" for version in (2, 3, 4)}
FORMAT_2, FORMAT_3, FORMAT_4 = FORMATS[2], FORMATS[3], FORMATS[4]
WORDS = {"reason", "error", "warnings", "why"}  # what a report says in words


def facts_only(value: Any) -> Any:
    """The report without its words."""
    if isinstance(value, dict):
        return {key: facts_only(item) for key, item in value.items() if key not in WORDS}
    if isinstance(value, list):
        return [facts_only(item) for item in value]
    return value


def what_it_did(report: dict[str, Any]) -> list[Any]:
    """What a resume did, in the terms both formats share: each step's outcome and reason,
    each attempt's round, outcome, run and state."""
    return [report["outcome"]] + [
        (
            step["name"],
            step["outcome"],
            step["reason"],
            [
                (a["number"], a["round"], a["outcome"], a["run_id"], a["state"])
                for a in step["attempts"]
            ],
        )
        for step in report["steps"]
    ]


def selections(case: Case, *, every: bool = False) -> Iterator[frozenset[str] | None]:
    """No selection and the first step left out; `every`: each step alone and each step left
    out too (tests/process/test_report_formats.py)."""
    yield None
    names = [step.name for step in case.steps]
    for name in names if every else ():
        yield frozenset({name})
        yield frozenset(names) - {name}
    if not every:
        yield frozenset(names) - {names[0]}


def resumed(case: Case, report: Path, selected: frozenset[str] | None) -> dict[str, Any]:
    """The plan run afresh on a new emulator, then `report` (of that run, in whichever format)
    resumed on it 10 s later, with `selected` steps."""
    model, clock = case.run(report.with_suffix(".scratch"))
    clock.advance(10)
    Engine(
        case.plan(),
        ModelFusion(model),
        clock,
        url="http://emulated",
        rng=random.Random(2),
        reporter=Journal(report_file(str(report))),
        resume=load_resume(str(report), case.plan(), force=False),
        selected=selected,
    ).execute()
    return valid(json.loads(report.read_text()))


@pytest.mark.parametrize("version", sorted(FORMATS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_an_earlier_format_s_report_is_resumed_as_its_plan_s_new_report_is(
    name: str, version: int, tmp_path: Path
) -> None:
    earlier_format_resumes_alike(name, version, tmp_path, every=False)


def earlier_format_resumes_alike(name: str, version: int, tmp_path: Path, *, every: bool) -> None:
    case = CASES[name]
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    for selected in selections(case, every=every):
        shutil.copy(FORMATS[version] / f"{name}.json", old)
        case.run(new)
        assert what_it_did(resumed(case, old, selected)) == what_it_did(
            resumed(case, new, selected)
        ), selected


def test_a_format_4_report_reads_as_format_5_with_durations_and_no_trace_verdict_or_budget() -> (
    None
):
    reports = {path.stem: read_report(str(path), "--resume") for path in FORMAT_4.glob("*.json")}
    assert set(reports) == set(CASES)
    for name, report in reports.items():
        assert valid(report)["report_version"] == REPORT_VERSION == 5
        assert report["trace"] is None
        assert report["verdict"] is None
        assert report["fusion"].pop("max_requests_per_second") is None
        assert report["plan"].pop("target") is None  # format 4 had no targets
        assert {step.pop("for_each") for step in report["steps"]} == {None}
        assert report["plan"].pop("settings") is None
        for step in report["steps"]:
            for attempt in step["attempts"]:
                assert all(criterion.pop("hint") is None for criterion in attempt["criteria"])
        assert all(step.pop("call") is None for step in report["steps"])  # no request: steps
        written = json.loads((FORMAT_4 / f"{name}.json").read_text())
        durations = [step.pop("duration") for step in report["steps"]]
        assert durations == [_duration(step["attempts"]) for step in written["steps"]]
        assert written["report_version"] == 4
        del report["trace"], report["verdict"], report["report_version"], written["report_version"]
        assert report == written  # nothing else changes


def test_a_format_3_report_reads_as_format_5_with_levels_and_warnings_of_the_plan() -> None:
    reports = {path.stem: read_report(str(path), "--resume") for path in FORMAT_3.glob("*.json")}
    assert set(reports) == set(CASES)
    for name, report in reports.items():
        assert valid(report)["report_version"] == REPORT_VERSION
        written = json.loads((FORMAT_3 / f"{name}.json").read_text())
        assert report["warnings"] == [{"step": None, "text": w} for w in written["warnings"]]
        for step in report["steps"]:
            for attempt in step["attempts"]:
                assert (attempt["previous"], attempt["remainder_of"]) == (None, None)
                assert {c["level"] for c in attempt["criteria"]} <= {"fail"}
    criteria = reports["run-if"]["steps"][0]["attempts"][0]["criteria"]
    assert [(c["name"], c["passed"], c["level"]) for c in criteria] == [("state", False, "fail")]


def test_a_format_2_report_reads_as_format_5_with_the_facts_a_resume_needs() -> None:
    reports = {path.stem: read_report(str(path), "--resume") for path in FORMAT_2.glob("*.json")}
    assert set(reports) == set(CASES)
    for report in reports.values():
        assert valid(report)["report_version"] == REPORT_VERSION
    facts = {s["name"]: s["reason_fact"] for s in reports["run-if"]["steps"]}
    assert facts == {
        "a": {"kind": "carried", "text": "run 41pjso2krv ended error: The job run failed"},
        "b": None,
        "x": {"kind": "upstream_did_not_fail", "upstream": "b"},
        "y": {"kind": "no_upstream_failed"},
        "z": {"kind": "every_upstream_excluded"},
        "w": {"kind": "carried", "text": "upstream 'a' failed"},
        "v": {"kind": "carried", "text": "upstream 'w' was skipped"},
    }
    cancel = reports["fail-fast-skip"]["steps"][2]["attempts"][0]["cancel"]
    assert cancel["cause"] == {"kind": "fail_fast", "step": "b", "skipped": True}
    timeouts = [a["cancel"]["cause"] for a in reports["plan-timeout"]["steps"][1]["attempts"]]
    assert timeouts == [
        {"kind": "step_timeout", "limit": 20},
        {"kind": "plan_timeout", "limit": 60},
    ]
    [state] = [
        c for c in reports["run-if"]["steps"][0]["attempts"][0]["criteria"] if not c["passed"]
    ]
    assert (state["run"], state["message"]) == ("41pjso2krv", "The job run failed")


# --- rewording ------------------------------------------------------------------------------------


@pytest.fixture
def reworded(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Every reason and criterion said in other words (reversed), from when it is called."""
    text, criterion = wording.text, wording.criterion

    def reword() -> None:
        monkeypatch.setattr(wording, "text", lambda fact: "«" + text(fact)[::-1] + "»")
        monkeypatch.setattr(wording, "criterion", lambda c: criterion(c)[::-1])

    return reword


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewording_every_message_changes_nothing_a_resume_does(
    name: str, tmp_path: Path, reworded: Callable[[], None]
) -> None:
    rewording_changes_nothing(name, tmp_path, reworded, every=False)


def rewording_changes_nothing(
    name: str, tmp_path: Path, reworded: Callable[[], None], *, every: bool
) -> None:
    case = CASES[name]
    report = tmp_path / "report.json"
    plain = []
    for selected in selections(case, every=every):
        case.run(report)
        plain.append(facts_only(resumed(case, report, selected)))
    reworded()
    for selected, expected in zip(selections(case, every=every), plain, strict=True):
        case.run(report)
        assert facts_only(resumed(case, report, selected)) == expected, selected
    assert "«" in report.read_text()  # the words did change


# --- reports no fusion-run wrote ------------------------------------------------------------------


def _edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The detached plan's report (a succeeded, b's run left going, c failed), edited."""
    path = tmp_path / "report.json"
    report = json.loads(_written("detached"))
    edit(report)
    path.write_text(json.dumps(report))
    return path


@functools.cache
def _written(name: str) -> str:
    """The report of the plan `name`, run once for all the tests that edit it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        CASES[name].run(path)
        return path.read_text()


def _set(*where: str | int, to: Any) -> Callable[[dict[str, Any]], None]:
    def edit(report: dict[str, Any]) -> None:
        node: Any = report
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = to

    return edit


B_GOING = {"kind": "still_running", "run_id": "x", "cause": {"kind": "detached"}}


@pytest.mark.parametrize(
    ("edit", "fault"),
    [
        (
            _set(
                "steps",
                1,
                "reason_fact",
                to={"kind": "still_running", "cause": {"kind": "detached"}},
            ),
            "['steps'][1]['reason_fact']: still_running lacks 'run_id'",
        ),
        (
            _set("steps", 1, "reason_fact", to={**B_GOING, "cause": {"kind": "zz"}}),
            "['steps'][1]['reason_fact']: unknown kind of reason: 'zz'",
        ),
        (
            _set("steps", 1, "reason_fact", to={**B_GOING, "z": 1}),
            "['steps'][1]['reason_fact']: still_running has no field 'z'",
        ),
        (
            _set("steps", 1, "reason_fact", to={**B_GOING, "run_id": 123}),
            "['steps'][1]['reason_fact']: still_running.run_id is 123",
        ),
        (
            _set(
                "steps",
                1,
                "reason_fact",
                to={**B_GOING, "cause": {"kind": "no_new_run", "job": "b", "waited": 1}},
            ),
            "['steps'][1]['reason_fact']: still_running.cause cannot be a no_new_run",
        ),
        (
            _set("error_fact", to={"kind": "credentials_refused"}),
            "['error_fact']: credentials_refused lacks 'error'",
        ),
        (
            _set("steps", 0, "attempts", 0, "criteria", 0, "name", to="vibes"),
            "['steps'][0]['attempts'][0]['criteria'][0]['name']: 'vibes' is not one of "
            "['state', 'max_duration', 'expect', 'work', 'status']",
        ),
    ],
)
def test_a_fact_no_fusion_run_writes_is_one_line_naming_it(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], fault: str
) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(UsageError) as refused:
        load_resume(str(path), CASES["detached"].plan(), force=False)
    assert str(refused.value) == f"--resume {path}: not a fusion-run report ({fault})"


@pytest.mark.parametrize(
    ("edit", "odd"),
    [
        (_set("steps", 1, "attempts", to=[]), "its run may be going, with no attempt"),
        (
            _set("steps", 1, "attempts", 0, "outcome", to="failed"),
            "its run may be going, with its last attempt failed",
        ),
        (
            _set("steps", 1, "outcome", to="succeeded"),
            "succeeded, with its last attempt left_running",
        ),
    ],
)
def test_a_step_record_no_fusion_run_writes_is_refused_before_anything_starts(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], odd: str
) -> None:
    """A resume trusts what a report says of a step's runs: a record that says b's run is going
    but names no such attempt would start b again, and one that says b succeeded with its run
    left going would start what waits for b while it runs."""
    path = _edited(tmp_path, edit)
    with pytest.raises(UsageError) as refused:
        load_resume(str(path), CASES["detached"].plan(), force=False)
    assert str(refused.value) == (
        f"--resume {path}: step 'b' is not as fusion-run writes it ({odd}); restore the report as "
        "it was written, or run the plan afresh"
    )


@pytest.mark.parametrize(
    "fact",
    [
        {"kind": "no_upstream_failed"},  # w's run_if is all_success
        {"kind": "upstream_did_not_fail", "upstream": "zzz"},  # w has no such upstream
        {"kind": "every_upstream_excluded"},  # its upstream a failed
    ],
)
def test_an_exclusion_the_plan_could_not_have_made_is_not_believed(
    tmp_path: Path, fact: dict[str, Any]
) -> None:
    """w was skipped because a failed; an edit calling it an exclusion (which fails nothing)
    would let a resume of v alone pass the plan."""
    case = CASES["run-if"]
    path = tmp_path / "report.json"
    report = json.loads(_written("run-if"))
    [w] = [s for s in report["steps"] if s["name"] == "w"]
    w["reason_fact"] = fact
    path.write_text(json.dumps(report))
    assert resumed(case, path, frozenset({"v"}))["outcome"] == "failed"


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"\xff\xfe{}", "not a report: not UTF-8 (byte 0)"),
        (b"[" * 100_000, "not a report: nested too deeply"),
    ],
)
def test_a_file_that_cannot_be_a_report_is_one_line(
    tmp_path: Path, content: bytes, fault: str
) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as refused:
        read_report(str(path), "--resume")
    assert str(refused.value) == f"--resume {path}: {fault}"


@pytest.mark.parametrize(
    "words",
    [
        "upstream 'b' did not fail (run_if: all_failed) and upstream 'a' did not fail "
        "(run_if: all_failed)",
        "upstream 'b'' did not fail (run_if: all_failed)",
        "upstream 'b\\x' did not fail (run_if: all_failed)",
        "upstream 'b' + 'c' did not fail (run_if: all_failed)",
        'upstream "b" did not fail (run_if: all_failed)',  # not how Python quotes it
    ],
)
def test_format_2_words_that_only_look_like_an_exclusion_are_carried(
    tmp_path: Path, words: str
) -> None:
    report = json.loads((FORMAT_2 / "run-if.json").read_text())
    report["steps"][2]["reason"] = words
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    step = read_report(str(path), "--resume")["steps"][2]
    assert step["reason_fact"] == {"kind": "carried", "text": words}


def _duration(attempts: list[dict[str, Any]]) -> float | None:
    """A step's duration as format 5 defines it, from its attempts as format 4 wrote them."""
    runs = [a for a in attempts if a["started_at"] is not None]
    if not runs or runs[-1]["duration"] is None:
        return None
    first, last = (datetime.fromisoformat(a["started_at"]) for a in (runs[0], runs[-1]))
    return float((last - first).total_seconds() + runs[-1]["duration"])
