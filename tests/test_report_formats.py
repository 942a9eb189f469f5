"""A resume decides from facts, never from words: each reason in the report has its kind and
figures beside its words, and a resume reads only those. Rewording every message changes nothing
a resume does; a report of the format before (2, words only) is read as the format written now
and resumed as the same plan's new report is."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import wording
from runner.commands.resume import load_resume
from runner.emulator.adapter import ModelFusion
from runner.engine import Engine
from runner.report.journal import Journal, read_report, report_file
from tests.helpers.earlier_reports import CASES, Case
from tests.helpers.paths import ROOT
from tests.helpers.reports import valid
from tests.simulation import invariants
from tests.simulation.plans import case as simulated
from tests.simulation.simulate import Simulation, simulate

FORMAT_2 = ROOT / "tests" / "fixtures" / "report-2"
WORDS = {"reason", "error", "warnings"}  # what a report says in words


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


def selections(case: Case) -> Iterator[frozenset[str] | None]:
    yield None
    names = [step.name for step in case.steps]
    for name in names:
        yield frozenset({name})
        yield frozenset(names) - {name}


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


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_format_2_report_is_resumed_as_its_plan_s_new_report_is(
    name: str, tmp_path: Path
) -> None:
    case = CASES[name]
    new = tmp_path / "new.json"
    case.run(new)
    old = tmp_path / "old.json"
    for selected in selections(case):
        shutil.copy(FORMAT_2 / f"{name}.json", old)
        case.run(new)
        assert what_it_did(resumed(case, old, selected)) == what_it_did(
            resumed(case, new, selected)
        ), selected


def test_a_format_2_report_reads_as_format_3_with_the_facts_a_resume_needs() -> None:
    reports = {path.stem: read_report(str(path), "--resume") for path in FORMAT_2.glob("*.json")}
    assert set(reports) == set(CASES)
    for report in reports.values():
        assert valid(report)["report_version"] == 3
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
    case = CASES[name]
    report = tmp_path / "report.json"
    plain = []
    for selected in selections(case):
        case.run(report)
        plain.append(facts_only(resumed(case, report, selected)))
    reworded()
    for selected, expected in zip(selections(case), plain, strict=True):
        case.run(report)
        assert facts_only(resumed(case, report, selected)) == expected, selected
    assert "«" in report.read_text()  # the words did change


SEEDS = range(120)  # with crashes at durable points and resumes on a simulated Fusion


def test_rewording_changes_nothing_across_crashes_and_resumes(
    reworded: Callable[[], None],
) -> None:
    plain = [simulate(simulated(seed)) for seed in SEEDS]
    assert sum(len(sim.processes) > 1 for sim in plain) > 20  # most seeds resume
    reworded()
    for seed, before in zip(SEEDS, plain, strict=True):
        after = simulate(simulated(seed))
        assert invariants.violations(after) == [], seed
        assert _settled(after) == _settled(before), seed


def _settled(sim: Simulation) -> Any:
    """The simulated report's facts; the file each process resumed is named anew each time."""
    report = facts_only(sim.disk.report())
    if report and report["resumed_from"]:
        report["resumed_from"]["path"] = "..."
    return report
