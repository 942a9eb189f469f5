from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runner.report import write_atomically


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
