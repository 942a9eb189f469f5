"""Where the checkout's files are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"
INVALID = ROOT / "tests" / "plans" / "invalid"
CASSETTES = ROOT / "cassettes"
DOCS = ROOT / "docs"


def documentation() -> dict[str, str]:
    """The README and every page under docs/, each by its path from the root: its text."""
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return {page.relative_to(ROOT).as_posix(): page.read_text(encoding="utf-8") for page in pages}


WritePlan = Callable[[str], str]  # the write_plan fixture: text in, the plan's file name out
