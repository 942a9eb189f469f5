"""The report file: written whole or not at all, compact while a plan runs, indented at its end."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from runner.report.journal import report_file, write_atomically


def test_writes_json_and_makes_folders(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "nightly" / "r.json"
    write_atomically(str(target), {"outcome": "running", "name": "café"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"outcome": "running", "name": "café"}
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]


def test_replaces_the_old_report(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_atomically(str(target), {"n": 1})
    write_atomically(str(target), {"n": 2})
    assert json.loads(target.read_text()) == {"n": 2}


def test_a_failed_write_keeps_the_old_report_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    write_atomically(str(target), {"n": 1})

    def full_disk(_: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        write_atomically(str(target), {"n": 2})
    assert json.loads(target.read_text()) == {"n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_the_report_file_is_compact_while_the_plan_runs_and_indented_at_the_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.json"
    write = report_file(str(path))
    step = {"name": "a", "outcome": "running", "attempts": [{"error": "ö ${X}"}]}
    steps: list[dict[str, Any]] = [step, {"name": "b"}]
    running = {"outcome": "running", "ended_at": None, "steps": steps}
    write(running)
    text = path.read_text(encoding="utf-8")
    assert text == (
        '{"outcome":"running","ended_at":null,"steps":[{"name":"a","outcome":"running",'
        '"attempts":[{"error":"ö ${X}"}]},{"name":"b"}]}\n'
    )
    steps[1] = {"name": "b", "outcome": "pending"}  # a new record: encoded again
    write(running)
    assert json.loads(path.read_text(encoding="utf-8")) == running
    ended = {**running, "outcome": "succeeded", "ended_at": "2026-01-01T00:00:00.000Z"}
    write(ended)
    assert (
        path.read_text(encoding="utf-8") == json.dumps(ended, indent=2, ensure_ascii=False) + "\n"
    )
