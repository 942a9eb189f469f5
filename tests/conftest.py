from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
INVALID = Path(__file__).resolve().parent / "plans" / "invalid"

WritePlan = Callable[[str], str]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Fusion settings or credentials unless it sets them itself."""
    for name in list(os.environ):
        if name.startswith("FUSION_"):
            monkeypatch.delenv(name)


@pytest.fixture
def write_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WritePlan:
    """Writes `plan.yaml` in a temporary folder made current, and returns its name."""
    monkeypatch.chdir(tmp_path)

    def write(text: str) -> str:
        (tmp_path / "plan.yaml").write_text(text, encoding="utf-8")
        return "plan.yaml"

    return write
