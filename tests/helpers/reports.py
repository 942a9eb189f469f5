"""Reports as the tests check them: valid against schemas/report.schema.json, read from disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from runner.schemas import load_schema

REPORTS = Draft202012Validator(load_schema("report.schema.json"))


def valid(report: dict[str, Any]) -> dict[str, Any]:
    """`report`, after checking it against the report schema."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in REPORTS.iter_errors(report)]
    assert errors == [], errors
    return report


def read_report(path: str | Path = "fusion-run-report.json") -> dict[str, Any]:
    """The report at `path`, checked against the report schema."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return valid(data)
