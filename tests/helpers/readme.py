"""The README's fenced blocks and the shell commands in them; the commands the tests run or excuse,
and `covers`, which marks the test that runs a command (tests/process/test_readme.py runs them,
tests/unit/test_readme.py checks that each is run or excused)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from tests.helpers.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")

SET_UP = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install '.[test]' && "
    "fusion-run examples/quickstart.yaml --emulate"
)
TESTS = ". .venv/bin/activate && pytest"
GITLAB_INSTALL = 'pip install "fusion-run @ git+https://github.com/<your-org>/fusion-run@v0.1.0"'
CI_RUN = "fusion-run plans/nightly.yaml --junit fusion-run.xml"  # GitLab's and Jenkins'
EMULATOR = (
    "FUSION_USER=admin FUSION_PASSWORD=secret fusion-emulator --port 8764 "
    "--scenario examples/scenarios/nightly-failures.yaml"
)
RE_RECORD = "pytest --record-mode=rewrite"

# The part of a command that no test runs, and why.
PART_NOT_RUN = {
    SET_UP.rsplit(" && ", maxsplit=1)[0]: "it installs from the network: "
    "test_the_set_up_commands_are_what_ci_runs checks it against .ci/run and pyproject.toml, and "
    "tests/process/test_packaging.py installs the wheel without the network",
}
# The commands no test runs, and why.
NOT_RUN = {
    TESTS: "the whole suite, this test among it: .ci/run runs it, and "
    "test_the_set_up_commands_are_what_ci_runs checks that it is the README's command",
    GITLAB_INSTALL: "it installs from the network, from a repository the reader names",
}


# --- the README's fenced blocks and the commands in them -----------------------------------------

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
LANGUAGES = {"sh", "text", "yaml", "json", "groovy"}


@dataclasses.dataclass(frozen=True)
class Block:
    lang: str
    body: str
    section: str  # the heading above it

    @property
    def lines(self) -> list[str]:
        return self.body.splitlines()


def readme_blocks() -> list[Block]:
    blocks = []
    for match in FENCE.finditer(README):
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        headings = re.findall(r"^#+ (.+)$", README[: match.start()], re.M)
        blocks.append(Block(match["lang"], body, headings[-1]))
    return blocks


def commands_in(block: Block) -> list[str]:
    if block.lang == "sh":
        joined = block.body.replace("\\\n", " ")
        return [" ".join(line.split()) for line in joined.splitlines() if line.strip()]
    if block.lang == "text":
        return [
            re.split(r" {2,}", line)[0] for line in block.lines if line.startswith("fusion-run ")
        ]
    if block.lang == "yaml":
        return list(_scripts(yaml.safe_load(block.body)))
    if block.lang == "groovy":
        return re.findall(r"\bsh '([^']*)'", block.body)
    return []


def _scripts(data: Any) -> Iterator[str]:
    """The commands of every `script:` list in a YAML document (GitLab CI's)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "script":
                yield from ([value] if isinstance(value, str) else value)
            else:
                yield from _scripts(value)
    elif isinstance(data, list):
        for item in data:
            yield from _scripts(item)


def readme_commands() -> list[str]:
    return [command for block in readme_blocks() for command in commands_in(block)]


def block_starting(first_line: str) -> Block:
    [block] = [b for b in readme_blocks() if b.body.startswith(first_line)]
    return block


RUN: dict[str, str] = {}  # each README command a test runs, and that test


def covers(*commands: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a test as the one that runs these README commands."""

    def mark(test: Callable[..., None]) -> Callable[..., None]:
        for command in commands:
            RUN[command] = test.__name__
        return test

    return mark


SYNOPSIS = block_starting("fusion-run PLAN ")
