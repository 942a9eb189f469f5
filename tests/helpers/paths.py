"""Where the checkout's files are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"
INVALID = ROOT / "tests" / "plans" / "invalid"
CASSETTES = ROOT / "cassettes"

WritePlan = Callable[[str], str]  # the write_plan fixture: text in, the plan's file name out
