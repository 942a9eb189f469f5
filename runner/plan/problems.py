"""The one record every plan problem becomes, and its text and JSON forms."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    file: str
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: Path | None = None  # into the plan; None when the problem is not about one value

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line or 0, self.column or 0, self.message)

    def __str__(self) -> str:
        place = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        if self.path is None:
            return f"{place}: {self.message}"
        return f"{place}: {json_path(self.path)}: {self.message}"


def json_path(path: Path) -> str:
    """`$.steps[2].depends_on[0]`; keys that are not plain names are quoted: `$['a b']`."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=Problem.sort_key)


def problems_as_json(problems: Sequence[Problem]) -> str:
    return json.dumps(problem_rows(problems), indent=2, ensure_ascii=False)


def problem_rows(problems: Sequence[Problem]) -> list[dict[str, object]]:
    """Each problem as an object: its file, message, line, column and JSON path."""
    return [{**asdict(p), "path": None if p.path is None else json_path(p.path)} for p in problems]


class InvalidPlan(Exception):
    """Raised by loading with every problem found; the CLI prints them all and exits 2."""

    def __init__(self, problems: Sequence[Problem], *, notes: Sequence[Problem] = ()) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = sort_problems(problems)
        self.notes = sort_problems(notes)  # not problems: what --validate could not check here
