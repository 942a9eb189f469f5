"""Reports as the tests check them: valid against schemas/report.schema.json, read from disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from runner.plan.quickcheck import fits
from runner.schemas import load_schema

SCHEMA = load_schema("report.schema.json")
REPORTS = Draft202012Validator(SCHEMA)
_PROVEN: set[str] = set()  # the repr of each step proven valid: one that comes again is not checked


def valid(report: dict[str, Any]) -> dict[str, Any]:
    """`report`, after checking it against the report schema.

    Tests check hundreds of thousands of reports, most of them the one before with one step
    changed. So each step is checked once (`steps` is a list of steps, each valid or not on
    its own; a step is known again by its repr), and `fits` proves a report valid in a fifth of
    jsonschema's time: it says yes only when jsonschema would, and "not proven" to any keyword
    it does not know (tests/unit/test_quickcheck.py compares the two). jsonschema judges what `fits`
    does not prove, and words what is wrong."""
    steps = report.get("steps")
    if isinstance(steps, list):
        texts = [repr(step) for step in steps]  # as exact as == and types: 1, 1.0, True, ()
        unseen = [step for step, text in zip(steps, texts, strict=True) if text not in _PROVEN]
        if fits({**report, "steps": unseen}, SCHEMA):
            if len(_PROVEN) > 100_000:
                _PROVEN.clear()
            _PROVEN.update(texts)
            return report
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in REPORTS.iter_errors(report)]
    assert errors == [], errors
    return report


def read_report(path: str | Path = "fusion-run-report.json") -> dict[str, Any]:
    """The report at `path`, checked against the report schema."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return valid(data)
