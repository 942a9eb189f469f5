"""The core imports no I/O library, checked in a fresh interpreter (the rest of the code's shape
is held in tests/unit/test_architecture.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.paths import ROOT

CORE = [
    "runner.plan",
    "runner.engine.scheduler",
    "runner.engine.judge",
    "runner.engine",
    "runner.events",
    "runner.reasons",
    "runner.result",
    "runner.wording",
    "runner.verdict",
    "runner.redact",
    "runner.fusion",
    "runner.emulator.scenario",
    "runner.emulator.model",
    "runner.emulator.adapter",
]


IO_LIBRARIES = ["requests", "urllib3", "yaml", "jsonschema", "click", "http.server"]


def test_the_core_imports_no_io_library() -> None:
    """In a fresh interpreter, so that nothing another test imported hides a slip."""
    probe = (
        f"import sys\nimport {', '.join(CORE)}\n"
        f"print([m for m in {IO_LIBRARIES!r} if m in sys.modules])"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert found.stdout.strip() == "[]"
