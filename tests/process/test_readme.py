"""The README and the documentation under docs/ say what fusion-run does: their commands run as
shown, their examples of output are what fusion-run prints, the tests they cite as proof exist,
and the site builds without a warning.

`readme_commands` finds every shell command in the fenced code blocks of the README and of every
page under docs/: each line of an `sh` block (a line that ends in a backslash goes on in the
next), each `fusion-run ...` line of a `text` block (the command line's synopsis), each item of a
`script:` list in a `yaml` block (GitLab CI) and each `sh '...'` step of a `groovy` block
(Jenkins). Each is either run by a test here (`@covers(...)`) or listed in NOT_RUN with the reason
it is not, so a command added to any page fails `test_every_readme_command_is_run_or_excused`
until it is one or the other. An example is checked wherever it is, and must be there once.

What the runs here rewrite, and why:
- `fusion-run` and `fusion-emulator` run as `python -m runner` and `python -m runner.cli.emulator`,
  and `mkdocs` as `python -m mkdocs`, with this checkout first on the path: what the installed
  scripts call (a test checks that), on the code under test;
- the set-up command's virtual environment and `pip install` are not run (PART_NOT_RUN says why);
  the `fusion-run` it ends with is;
- a command meant for a real Fusion gets `--emulate`: there is no Fusion here;
- `PLAN` in the synopsis is a small plan written by the test;
- `plans/nightly.yaml` in the CI examples is a copy of examples/nightly-recommendations.yaml;
- `--port 8764` becomes `--port 0`: a fixed port may be taken where the tests run;
- `pytest --record-mode=rewrite` re-records the tests that use cassettes in a copy of the
  checkout, not the whole suite in it: the suite holds this test, and the checkout's cassettes
  must not change under the other tests;
- `mkdocs build --strict` gets `--site-dir` in a temporary folder, as .ci/run does: the checkout
  keeps no `site/`.
Everything else is run as the page spells it, in a folder that holds a copy of `examples/`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import requests
import yaml

from runner import cli
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript, load_scenario
from runner.emulator.server import Emulator
from runner.report.console import Console
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, plan_of, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.paths import DOCS, EXAMPLES, ROOT, documentation
from tests.helpers.process import Lines

PAGES = documentation()  # the README and every page under docs/, by path
README = PAGES["README.md"]
EVERYWHERE = "\n".join(PAGES.values())
FUSION_RUN = [sys.executable, "-m", "runner"]  # what the fusion-run script calls
FUSION_EMULATOR = [sys.executable, "-m", "runner.cli.emulator"]  # and the fusion-emulator script

SET_UP = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install '.[test]' && "
    "fusion-run examples/quickstart.yaml --emulate"
)
TESTS = ". .venv/bin/activate && pytest"
GITLAB_INSTALL = 'pip install "fusion-run @ git+https://github.com/<your-org>/fusion-run@v0.1.0"'
# GitLab's and Jenkins' command
CI_RUN = "fusion-run plans/nightly.yaml --junit fusion-run.xml --html fusion-run.html"
EMULATOR = (
    "FUSION_USER=admin FUSION_PASSWORD=secret fusion-emulator --port 8764 "
    "--scenario examples/scenarios/nightly-failures.yaml"
)
RE_RECORD = "pytest --record-mode=rewrite"
PICTURES = "FUSION_RUN_MERMAID=.ci/cache/mermaid.min.js python docs/pictures/make.py"
REPORT_PAGE = "fusion-run report REPORT --html FILE"
DOCS_BUILD = "mkdocs build --strict"

# The part of a command that no test here runs, and why.
PART_NOT_RUN = {
    SET_UP.rsplit(" && ", maxsplit=1)[0]: "it installs from the network: "
    "test_the_set_up_commands_are_what_ci_runs checks it against .ci/run and pyproject.toml, and "
    "tests/process/test_packaging.py installs the wheel without the network",
}
# The commands no test here runs, and why.
NOT_RUN = {
    TESTS: "the whole suite, this test among it: .ci/run runs it, and "
    "test_the_set_up_commands_are_what_ci_runs checks that it is the README's command",
    GITLAB_INSTALL: "it installs from the network, from a repository the reader names",
    PICTURES: "it rewrites the checkout's pictures: tests/process/test_html_browser.py opens "
    "the same pages, of the same nights, in the same browser, and tests/process/test_mermaid.py "
    "draws the summary's timeline with the same Mermaid",
}


# --- the pages' fenced blocks and the commands in them -------------------------------------------

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
LANGUAGES = {"sh", "text", "yaml", "json", "groovy"}


@dataclasses.dataclass(frozen=True)
class Block:
    lang: str
    body: str
    page: str  # its path from the root
    section: str  # the heading above it

    @property
    def lines(self) -> list[str]:
        return self.body.splitlines()


def readme_blocks() -> list[Block]:
    """The fenced blocks of the README and of every page under docs/."""
    blocks = []
    for page, text in PAGES.items():
        # The text with each block blanked out, character for character: no "# " in a block
        # is a heading.
        outside = FENCE.sub(lambda match: re.sub(r"[^\n]", " ", match[0]), text)
        for match in FENCE.finditer(text):
            indent = len(match["indent"])
            body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
            headings = re.findall(r"^#+ (.+)$", outside[: match.start()], re.M)
            blocks.append(Block(match["lang"], body, page, headings[-1]))
    return blocks


def section(page: str, heading: str) -> str:
    """The text under `## heading` of a page, to the next heading of its level or above."""
    text = PAGES[page]
    start = text.index(f"\n## {heading}\n") + len(f"\n## {heading}\n")
    end = re.search(r"^#{1,2} ", text[start:], re.M)
    return text[start : start + end.start()] if end else text[start:]


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


RUN: dict[str, str] = {}  # each documented command a test here runs, and that test


def covers(*commands: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a test as the one that runs these documented commands."""

    def mark(test: Callable[..., None]) -> Callable[..., None]:
        for command in commands:
            RUN[command] = test.__name__
        return test

    return mark


def test_every_readme_command_is_run_or_excused() -> None:
    assert {block.lang for block in readme_blocks()} <= LANGUAGES, "a block of a new kind"
    assert {block.page for block in readme_blocks()} > {"README.md"}, "no page under docs/"
    found = set(readme_commands())
    assert not set(RUN) & set(NOT_RUN)
    assert found - set(RUN) - set(NOT_RUN) == set(), "run these documented commands in a test here"
    assert set(RUN) | set(NOT_RUN) <= found, "these commands are no longer in any page"


# --- the two set-up commands ---------------------------------------------------------------------


INSTALL = re.compile(r"(?:python -m )?pip install (?:--quiet )?'\.\[(?P<extras>[\w,-]+)\]'")


def test_the_set_up_commands_are_what_ci_runs() -> None:
    """A newcomer pastes two commands, from the README or the first guide: they are what .ci/run
    does, in the same order, and the install installs what CI's does."""
    pages = [page for page, text in PAGES.items() if "\n## Set up\n" in text]
    assert "README.md" in pages
    for page in pages:
        blocks = [b for b in readme_blocks() if b.page == page and b.section == "Set up"]
        assert [(b.lang, commands_in(b)) for b in blocks] == [("sh", [SET_UP]), ("sh", [TESTS])]
        assert "Python 3.11 or newer" in section(page, "Set up"), page
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    ci = [line for line in ci if line and not line.startswith("#")]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]

    def installed(named: str) -> set[str]:
        """The extras `.[named]` installs: those named, and the ones of this project they name."""
        todo, found = named.split(","), set()
        while todo:
            extra = todo.pop()
            if extra not in found:
                found.add(extra)
                for dependency in extras[extra]:
                    if itself := re.fullmatch(r"fusion-run\[([\w,-]+)\]", dependency):
                        todo += itself[1].split(",")
        return found

    def in_ci(command: str) -> int:
        """Where .ci/run does `command` (pip through `python -m`, quietly; this project with the
        same extras, however many of them it names)."""
        spelt = {command, f"python -m {command}".replace("install ", "install --quiet ")}
        wanted = INSTALL.fullmatch(command)

        def does(line: str) -> bool:
            given = INSTALL.fullmatch(line)
            if wanted and given:
                return installed(given["extras"]) == installed(wanted["extras"])
            return line in spelt

        [index] = [i for i, line in enumerate(ci) if does(line)]
        return index

    done = [in_ci(part) for part in SET_UP.split(" && ")[:-1]]
    assert done == sorted(done)
    assert in_ci("pytest") > done[-1]
    activate, tests = TESTS.split(" && ")
    assert in_ci(activate) < in_ci(tests) == ci.index("pytest")
    # The README's `pytest` builds the documentation, so the test extra brings MkDocs; CI also
    # builds it as docs/development.md says, into a folder of its own.
    assert "docs" in installed("test")
    [build] = [i for i, line in enumerate(ci) if line.startswith(f"{DOCS_BUILD} --site-dir ")]
    assert done[-1] < build < ci.index("pytest")

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert any(
        dependency.startswith("pytest") for dependency in project["optional-dependencies"]["test"]
    )
    # The scripts call what `python -m runner` and `python -m runner.cli.emulator` call here.
    assert project["scripts"] == {
        "fusion-run": "runner.cli:entry",
        "fusion-emulator": "runner.cli.emulator:main",
    }
    main = (ROOT / "runner" / "__main__.py").read_text()
    assert "from runner.cli import entry" in main
    emulator = (ROOT / "runner" / "cli" / "emulator.py").read_text()
    assert emulator.endswith('if __name__ == "__main__":\n    main()\n')


def assignments(words: list[str]) -> dict[str, str]:
    """`NAME=VALUE` words, as the shell sets them for one command."""
    return {name: value for name, _, value in (word.partition("=") for word in words)}


def _child_env(**extra: str) -> dict[str, str]:
    """This checkout's fusion-run, with no Fusion settings nor GitHub Actions from outside."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FUSION_", "GITHUB_"))
    }
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _with_examples(folder: Path) -> Path:
    shutil.copytree(EXAMPLES, folder / "examples")
    return folder


def fusion_run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FUSION_RUN, *args],
        cwd=cwd,
        env=_child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@covers(SET_UP)
def test_the_set_up_command_runs_the_quickstart(tmp_path: Path) -> None:
    """All but its PART_NOT_RUN: the quickstart on the built-in emulator."""
    [(install, _)] = PART_NOT_RUN.items()
    command = SET_UP.removeprefix(install + " && ")
    assert command.startswith("fusion-run ")
    done = fusion_run(*command.split()[1:], cwd=_with_examples(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith(
        "fusion-run: plan quickstart: 3 step(s) against the emulator at http://127.0.0.1:"
    )
    assert lines[-1].startswith("fusion-run: plan quickstart succeeded in ")
    assert lines[-1].endswith(": 3 succeeded. Report: fusion-run-report.json")
    assert json.loads((tmp_path / "fusion-run-report.json").read_text())["outcome"] == "succeeded"


# --- the command line ----------------------------------------------------------------------------

SYNOPSIS = block_starting("fusion-run PLAN ")
TINY = "version: 1\nname: tiny\nsteps:\n  - crawl\n"


def test_the_synopsis_names_every_option() -> None:
    """The synopsis under "Command line" and --help name the same options."""
    shown = set()
    for line in SYNOPSIS.lines:
        if line.startswith(("fusion-run ", "  -")):
            left = re.split(r" {2,}", line.strip())[0]
            shown |= set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", left))
    context = click.Context(cli.main, **cli.main.context_settings)
    options = [p for p in cli.main.get_params(context) if isinstance(p, click.Option)]
    assert shown == {name for option in options for name in option.opts + option.secondary_opts}


SYNOPSIS_RUNS = {
    # the command in the synopsis: (the arguments run, the exit code, a line of stderr or stdout)
    "fusion-run PLAN": (["plan.yaml", "--emulate"], 0, "fusion-run: plan tiny succeeded in "),
    "fusion-run PLAN --emulate": (["plan.yaml", "--emulate"], 0, "fusion-run: plan tiny succeeded"),
    "fusion-run PLAN... --validate": (
        ["examples/quickstart.yaml", "examples/catalog-refresh.yaml", "--validate"],
        0,
        "examples/catalog-refresh.yaml: valid, 3 step(s)",
    ),
    "fusion-run PLAN --dry-run": (["plan.yaml", "--dry-run"], 0, "plan tiny (plan.yaml, sha256 "),
    "fusion-run PLAN --check": (
        ["plan.yaml", "--check", "--emulate"],
        0,
        "fusion-run: plan tiny is ready: its 1 job(s) exist in the emulator at http://127.0.0.1:",
    ),
    "fusion-run PLAN --graph mermaid": (["plan.yaml", "--graph", "mermaid"], 0, "flowchart LR"),
}


@covers(*SYNOPSIS_RUNS)
@pytest.mark.parametrize("command", sorted(SYNOPSIS_RUNS))
def test_each_synopsis_command_runs(command: str, tmp_path: Path) -> None:
    """PLAN is a one-step plan, or the examples for --validate; a run or --check against a
    real Fusion runs on the emulator."""
    args, code, line = SYNOPSIS_RUNS[command]
    assert command in commands_in(SYNOPSIS)
    (_with_examples(tmp_path) / "plan.yaml").write_text(TINY)
    done = fusion_run(*args, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    # Only --graph and --dry-run write to stdout: what is meant for another program.
    output = done.stdout if "--graph" in args or "--dry-run" in args else done.stderr
    if output is done.stderr:
        assert done.stdout == ""
    assert any(shown.startswith(line) for shown in output.splitlines()), output


@covers(REPORT_PAGE)
def test_report_renders_an_earlier_report_as_the_synopsis_says(tmp_path: Path) -> None:
    """REPORT is the report of a one-step plan run on the emulator; FILE a page beside it."""
    assert REPORT_PAGE in commands_in(SYNOPSIS)
    (_with_examples(tmp_path) / "plan.yaml").write_text(TINY)
    assert fusion_run("plan.yaml", "--emulate", cwd=tmp_path).returncode == 0
    args = REPORT_PAGE.split()[1:]
    args[args.index("REPORT")], args[args.index("FILE")] = "fusion-run-report.json", "page.html"
    done = fusion_run(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    page = (tmp_path / "page.html").read_text()
    assert "<title>fusion-run: plan tiny succeeded in " in page


# --- what the pages show fusion-run print --------------------------------------------------------


def test_the_console_example_is_what_a_run_prints() -> None:
    """The example under "Running a plan" in the first guide: a 40-second job, then one that
    fails after 2m30s with its skipped dependent, followed on a fake clock against the emulator's
    model."""
    block = block_starting("fusion-run: plan nightly: 3 step(s) against ")
    out = io.StringIO()
    console = Console(out, live=False)
    steps = [step("aggregate"), step("train", "aggregate"), step("evaluate", "train")]
    plan = dataclasses.replace(plan_of(steps), name="nightly")
    console.header(plan, "https://fusion.example.com", emulated=False)
    oom = "Py4JJavaError: ... OutOfMemoryError"
    run(
        steps,
        jobs(
            aggregate=runs(RunScript(duration=40)),
            train=runs(RunScript(duration=150, state="error", error=oom)),
        ),
        reporter=console,
    )
    printed = out.getvalue().splitlines()
    assert printed[: len(block.lines)] == block.lines


NIGHTLY_SEARCH = (
    "fusion-run examples/nightly-search.yaml --emulate --scenario "
    "examples/scenarios/nightly-search.yaml"
)


def _alike(text: str) -> str:
    """What two rehearsals share: the emulator's port, run ids (new in each process) and
    durations to a tenth of a second (the emulator's thread reads the clock too) set aside."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"\b[a-z0-9]{10}\b", "RUN", text)
    return re.sub(r"\b\d+\.\ds\b", "N.Ns", text)


@covers(NIGHTLY_SEARCH)
def test_the_nightly_search_example_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warnings (Fusion's own schedule, a late run, a baseline not met), a stall cancelled, a
    driver log's last error and a freshness check: the README's rehearsal, on a fake clock."""
    block = block_starting("fusion-run: plan nightly-search: 4 step(s) against the emulator")
    monkeypatch.chdir(tmp_path)
    _, *args = NIGHTLY_SEARCH.split()
    result = invoke(*(str(ROOT / arg) if arg.startswith("examples/") else arg for arg in args))
    assert result.exit_code == 1
    assert _alike(result.stderr).splitlines() == _alike(block.body).splitlines()
    report = json.loads((tmp_path / "fusion-run-report.json").read_text())
    warnings = [(w["step"], w["text"].split(" ")[0]) for w in report["warnings"]]
    assert warnings == [
        ("crawl-catalog", "Fusion's"),  # its own schedule
        ("crawl-catalog", "run"),  # late
        ("crawl-catalog", "warn"),  # short of its baseline
    ]
    assert [s["job"] for s in report["schedules"]] == ["datasource:products-catalog"]
    [train] = [s for s in report["steps"] if s["name"] == "train"]
    assert train["attempts"][0]["evidence"]["driver_log"][-1].startswith("\tat org.apache.spark")


NIGHTLY_REINDEX = (
    "fusion-run examples/nightly-reindex.yaml --emulate --scenario "
    "examples/scenarios/nightly-reindex.yaml"
)


@covers(NIGHTLY_REINDEX)
def test_the_nightly_reindex_example_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A for_each of crawls, an allowed failure the fan-in passes over, a query and an alias swap
    as request steps, and a webhook kept for a failure: the README's rehearsal, on a fake clock."""
    block = block_starting("fusion-run: plan nightly-reindex: 8 step(s) against the emulator")
    monkeypatch.chdir(tmp_path)
    _, *args = NIGHTLY_REINDEX.split()
    result = invoke(*(str(ROOT / arg) if arg.startswith("examples/") else arg for arg in args))
    assert result.exit_code == 0
    assert _alike(result.stderr).splitlines() == _alike(block.body).splitlines()
    report = json.loads((tmp_path / "fusion-run-report.json").read_text())
    assert report["plan"]["target"] == "prod"
    steps = {step["name"]: step for step in report["steps"]}
    assert [steps[name]["for_each"] for name in ("crawl-catalog", "crawl-reviews")] == [
        "crawl",
        "crawl",
    ]
    assert steps["crawl-partner-feed"]["outcome"] == "failed"
    assert steps["aggregate"]["outcome"] == "succeeded"
    assert steps["swap-alias"]["call"]["sent"] == "/api/solr/admin/collections"


JSON_LOG = (
    "fusion-run examples/nightly-recommendations.yaml --emulate --log-format json 2> events.jsonl"
)
JQ = (
    'jq -r \'select(.event == "plan_ended") | .results[] | '
    '"\\(.step) \\(.outcome) \\(.tries)"\' events.jsonl'
)


@covers(JSON_LOG, JQ)
def test_the_json_log_example_is_what_a_run_writes(tmp_path: Path) -> None:
    """The three lines under "Events as JSON" are lines of that run (but for times, the port and
    run ids), and the jq one-liner prints what the page shows."""
    [commands] = [b for b in readme_blocks() if b.lang == "sh" and JSON_LOG in commands_in(b)]
    assert commands_in(commands) == [JSON_LOG, JQ]
    example = block_starting('{"event": "plan_started"')
    _with_examples(tmp_path)
    fusion_run_here = shlex.join(FUSION_RUN)
    done = subprocess.run(
        JSON_LOG.replace("fusion-run ", f"{fusion_run_here} ", 1),
        shell=True,
        cwd=tmp_path,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    written = (tmp_path / "events.jsonl").read_text().splitlines()

    def alike(line: str) -> str:
        line = re.sub(r'"at": [\d.]+', '"at": N', _alike(line))
        return re.sub(r'"time": "[^"]+"', '"time": T', line)

    for line in example.lines:
        assert alike(line) in {alike(other) for other in written}, line
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed: the one-liner's output is not checked")
    printed = subprocess.run(
        JQ, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True
    )
    output = block_starting("aggregate-clicks succeeded 1")
    assert printed.stdout.splitlines() == output.lines


def test_the_heartbeat_example_is_what_a_ci_log_shows() -> None:
    """The heartbeat line in the CI recipes, but for the counters: the emulator shows a crawl's
    counters only once it ends."""
    [example] = re.findall(r"`( +\d+:\d\d crawl: still running [^`]*)`", EVERYWHERE)
    out = io.StringIO()
    crawl = step("crawl", job="datasource:web", states=("success",))
    scenario = jobs(**{"datasource:web": runs(RunScript(duration=700, state="success"))})
    run([crawl], scenario, reporter=Console(out, live=False))
    beats = [line for line in out.getvalue().splitlines() if "still running" in line]
    assert beats == [
        "   5:06 crawl: still running (run 41pjso2krv, 5m6s)",  # 5 minutes, then the next read
        example.split(": counter.input ")[0],
    ]


VALIDATED = """\
version: 1
name: nightly
steps:
  - job: products_click_signals_aggregation
    name: aggregate
  - job: products_recs_als
    name: train
    timeout: 3h
  - job: products_recs_ranking_metrics
    name: evaluate
    depends_on: [trian]
  - job: products_recs_cleanup
    name: cleanup
    depends_on: [train, evaluate]
    run_if: all_done
    timout: 10m
"""
CYCLE = """\
version: 1
name: nightly
steps:
  - aggregate
  - job: train
    depends_on: [aggregate, evaluate]
  - job: evaluate
    depends_on: [train]
"""


def test_the_validation_examples_are_what_validate_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    block = block_starting("plan.yaml:")
    Path("plan.yaml").write_text(VALIDATED)
    result = invoke("plan.yaml", "--validate")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", block.body)
    [cycle] = re.findall(r"`(plan\.yaml:\d+:\d+: [^`]*dependency cycle[^`]*)`", EVERYWHERE)
    Path("plan.yaml").write_text(CYCLE)
    result = invoke("plan.yaml", "--validate")
    assert (result.exit_code, result.stderr) == (2, cycle + "\n")


CHECKED = """\
version: 1
name: nightly
fusion:
  auth: none
steps:
  - job: datasource:web
    name: crawl
  - job: products_recs_als
    name: train
"""


def test_the_check_example_is_what_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl started at 01:55 is running; on a fake clock, it stays so."""
    monkeypatch.chdir(tmp_path)
    block = block_starting("crawl (datasource:web): ")
    Path("plan.yaml").write_text(CHECKED)
    Path("s.yaml").write_text(
        "version: 1\njobs:\n  datasource:web:\n    runs: [{duration: 1h, state: success}]\n"
        "  products_recs_als: {}\n"
    )
    model = EmulatedFusion(load_scenario("s.yaml"), clock=FakeClock(), epoch=EPOCH + 6900)
    model.start("datasource:web")
    with Emulator(model) as emulator:
        result = invoke("plan.yaml", "--check", "--url", emulator.url)
        expected = block.body.replace("https://fusion.example.com", emulator.url)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", expected)


# --- the emulator --------------------------------------------------------------------------------


@covers(EMULATOR)
def test_the_emulator_command_serves_the_nightly_plan(tmp_path: Path) -> None:
    """Its credentials are required, the nightly plan's jobs are there, and Ctrl-C stops it."""
    words = EMULATOR.split()
    env = assignments(words[:2])
    args = words[3:]
    args[args.index("--port") + 1] = "0"
    process = subprocess.Popen(
        [*FUSION_EMULATOR, *args],
        cwd=_with_examples(tmp_path),
        env=_child_env(**env),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    output = Lines(process.stderr)
    try:
        banner = output.until("fusion-emulator: serving Fusion's API at ")
        api = banner.rsplit(" ", 1)[1]
        job = f"{api}/apps/ecommerce/spark/jobs/products_recs_als"
        assert requests.get(job, timeout=10).status_code == 401
        assert requests.get(job, auth=("admin", "secret"), timeout=10).status_code == 200
        url = api.removesuffix("/api")
        checked = fusion_run(
            "examples/nightly-recommendations.yaml", "--check", "--url", url, cwd=tmp_path, **env
        )
        assert checked.returncode == 0, checked.stderr
        assert checked.stderr.splitlines()[-1].startswith(
            "fusion-run: plan nightly-recommendations is ready: its 5 job(s) exist in Fusion at "
        )
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_the_quickstart_runs_on_the_standalone_emulator_with_its_scenario(tmp_path: Path) -> None:
    """As examples/quickstart.yaml says, on the port it gets rather than 8764."""
    comment = (EXAMPLES / "quickstart.yaml").read_text()
    serve = "fusion-emulator --scenario examples/scenarios/quickstart.yaml"
    follow = "FUSION_USER=admin FUSION_PASSWORD=secret fusion-run examples/quickstart.yaml"
    assert f"#   {serve}\n#   {follow}\n" in comment
    process = subprocess.Popen(
        [*FUSION_EMULATOR, *serve.split()[1:], "--port", "0"],
        cwd=_with_examples(tmp_path),
        env=_child_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        api = Lines(process.stderr).until("fusion-emulator: serving").rsplit(" ", 1)[1]
        env = assignments(follow.split()[:2])
        args = [*follow.split()[3:], "--url", api.removesuffix("/api")]
        done = fusion_run(*args, cwd=tmp_path, **env)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1].endswith(
            ": 3 succeeded. Report: fusion-run-report.json"
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


# --- tests and cassettes -------------------------------------------------------------------------


@covers(RE_RECORD)
def test_re_recording_the_cassettes_gives_the_same_files(tmp_path: Path) -> None:
    copy = tmp_path / "checkout"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".ci", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"
        ),
    )
    modules = sorted(  # cassettes/test_x/ holds the cassettes of test_x.py, in whichever folder
        str(module.relative_to(ROOT))
        for folder in (ROOT / "cassettes").iterdir()
        for module in (ROOT / "tests").rglob(f"{folder.name}.py")
    )
    assert modules, "no cassettes"
    command = [sys.executable, "-m", *RE_RECORD.split(), "-p", "no:cacheprovider", "-q", *modules]
    done = subprocess.run(
        command,
        cwd=copy,
        env=_child_env(PYTHONPATH=str(copy)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    for cassette in sorted((ROOT / "cassettes").rglob("*.yaml")):
        again = copy / cassette.relative_to(ROOT)
        assert again.read_bytes() == cassette.read_bytes(), f"{cassette.name} changed"
    assert sorted((copy / "cassettes").rglob("*.yaml")) == sorted(
        copy / p.relative_to(ROOT) for p in (ROOT / "cassettes").rglob("*.yaml")
    )


# --- CI ------------------------------------------------------------------------------------------


@covers(CI_RUN)
def test_the_ci_command_writes_what_gitlab_and_jenkins_keep(tmp_path: Path) -> None:
    """GitLab's and Jenkins' command, on the emulator: it writes the files their configuration
    keeps, and the report's outcome agrees with the JUnit file."""
    (tmp_path / "plans").mkdir()
    shutil.copy(EXAMPLES / "nightly-recommendations.yaml", tmp_path / "plans" / "nightly.yaml")
    done = fusion_run(*CI_RUN.split()[1:], "--emulate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [gitlab] = [b for b in readme_blocks() if CI_RUN in commands_in(b) and b.lang == "yaml"]
    artifacts = yaml.safe_load(gitlab.body)["nightly"]["artifacts"]
    [groovy] = [b for b in readme_blocks() if b.lang == "groovy"]
    kept = {
        *artifacts["paths"],
        artifacts["reports"]["junit"],
        *",".join(re.findall(r"(?:junit|archiveArtifacts) '([^']+)'", groovy.body)).split(","),
    }
    assert kept == {"fusion-run-report.json", "fusion-run.xml", "fusion-run.html"}
    for name in kept:
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "fusion-run-report.json").read_text())["outcome"] == "succeeded"
    junit = (tmp_path / "fusion-run.xml").read_text()
    assert "<failure" not in junit
    assert "<error" not in junit
    page = (tmp_path / "fusion-run.html").read_text()
    assert "<title>fusion-run: plan nightly-recommendations succeeded in " in page


def test_the_readme_plans_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each plan shown (the README's, the annotated one under "The plan file") as it is, and each
    fragment of one (steps only) in a plan."""
    monkeypatch.chdir(tmp_path)
    checked = []
    for block in readme_blocks():
        data = yaml.safe_load(block.body) if block.lang == "yaml" else None
        if not isinstance(data, dict) or "steps" not in data:
            continue
        text = block.body if "version" in data else "version: 1\n" + block.body
        Path("plan.yaml").write_text(text)
        result = invoke("plan.yaml", "--validate")
        assert (result.exit_code, result.stdout) == (0, ""), result.stderr
        checked.append(block.page)
    assert sorted(checked) == [
        "README.md",
        "docs/guides/first-plan.md",
        "docs/reference/plan.md",
        "docs/reference/plan.md",  # its require: fragment
        "docs/reference/plan.md",  # its allowed_failures fragment
        "docs/reference/plan.md",  # its for_each and templates: fragment
        "docs/reference/plan.md",  # its request: and webhook: fragment
    ]


def test_the_readme_action_and_hook_are_this_repositorys() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    uses = [b for b in readme_blocks() if "uses: your-org/fusion-run@" in b.body]
    assert {b.page for b in uses} == {"README.md", "docs/guides/ci.md"}
    for block in uses:
        [step_] = yaml.safe_load(block.body)
        also = re.search(r"# also: (.+)$", block.body, re.M)
        assert also is not None, block.page
        named = set(step_["with"]) | set(re.findall(r"([a-z-]+)(?: \([^)]*\))?(?:,|$)", also[1]))
        assert named == set(action["inputs"]), block.page
        required = {i for i, spec in action["inputs"].items() if spec["required"]}
        assert set(step_["with"]) >= required, block.page
    [config] = [b for b in readme_blocks() if "- id: fusion-run-validate" in b.body]
    assert yaml.safe_load(config.body)["repos"][0]["hooks"] == [{"id": hook["id"]}]
    [editor] = [b for b in readme_blocks() if b.lang == "json" and "yaml.schemas" in b.body]
    for schema in json.loads(editor.body)["yaml.schemas"]:
        assert (ROOT / schema).is_file(), schema


# --- the tests the pages cite as proof -----------------------------------------------------------

# `test_x.py::test_y`, then `::test_z` in the same file; `tests/test_x.py` alone names the file.
CITED = re.compile(r"`(?:tests/)?(?:[\w/]+/)?(test_\w+\.py)?(?:::(test_\w+))?`")


@dataclasses.dataclass(frozen=True)
class Citation:
    page: str
    file: str
    test: str | None  # None: the file is cited as a whole


def citations(text: str, page: str) -> Iterator[Citation]:
    current = None
    for match in CITED.finditer(text):
        if not (match[1] or match[2]):
            continue
        current = match[1] or current
        assert current is not None, f"{page}: {match[0]} follows no test file"
        yield Citation(page, current, match[2])


def cited_files(name: str) -> list[Path]:
    """The test files of that name, wherever they are under tests/: a file whose tests are of
    several kinds has a part in each kind's folder (unit/, scenario/, process/)."""
    found = sorted((ROOT / "tests").rglob(name))
    assert found, f"{name}: no such file under tests/"
    return found


def defines(name: str, test: str) -> bool:
    """One of the files of that name defines the test."""
    return any(
        re.search(rf"^def {test}\(", path.read_text(encoding="utf-8"), re.MULTILINE)
        for path in cited_files(name)
    )


def test_the_tests_the_readme_names_exist() -> None:
    """Each promise in docs/guarantees.md names its test, and that test exists."""
    promises = re.findall(r"^- (.+?)(?=^- |\Z)", PAGES["docs/guarantees.md"], re.M | re.S)
    assert len(promises) >= 8
    for promise in promises:
        named = list(citations(promise, "docs/guarantees.md"))
        assert named, promise[:80]
        for citation in named:
            cited_files(citation.file)
            assert citation.test is None or defines(citation.file, citation.test), citation


def test_every_test_the_readme_cites_exists() -> None:
    """The README and the pages under docs/ prove their promises by naming tests
    (`test_x.py::test_y`, then `::test_z` in the same file, or a file alone): each named test is
    there, wherever its file is under tests/, so that a promise never outlives its proof."""
    cited = [c for page, text in PAGES.items() for c in citations(text, page)]
    assert sum(1 for c in cited if c.test) > 30
    missing = [c for c in cited if c.test is not None and not defines(c.file, c.test)]
    assert missing == []
    for citation in cited:
        cited_files(citation.file)


# --- the site ------------------------------------------------------------------------------------


def load_hooks() -> Any:
    """docs/hooks.py, the MkDocs hook that writes the reference pages."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_reference_pages_name_every_property_and_option() -> None:
    """The generated pages: one per schema, a row for each property of each, and every option
    of the command with its help."""
    pages: dict[str, str] = load_hooks().generated_pages(ROOT)
    schemas = sorted((ROOT / "schemas").glob("*.schema.json"))
    assert len(schemas) == 9  # plan, scenario, report, three report formats before, events,
    # and the documents of --dry-run and --check --format json
    for path in schemas:
        page = pages[f"reference/schemas/{path.name.removesuffix('.schema.json')}.md"]
        for name, node in properties(json.loads(path.read_text())):
            assert f"| `{name}` |" in page, (path.name, name)
            if "description" in node:
                assert " ".join(node["description"].split()[:3]) in page, (path.name, name)
    options = pages["reference/options.md"]
    context = click.Context(cli.main, **cli.main.context_settings)
    for param in cli.main.get_params(context):
        if isinstance(param, click.Option):
            assert all(f"{opt}" in options for opt in param.opts), param.opts
            assert param.help is not None
            assert " ".join(param.help.split()[:4]) in options, param.opts
    report = options[options.index("\n## `fusion-run report`\n") :]
    assert "fusion-run report [OPTIONS] REPORT" in report
    for option in ("--html FILE", "--traceback", "-h, --help"):
        assert f"| `{option}` |" in report


def properties(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property anywhere in a schema, with its schema."""
    if isinstance(node, dict):
        yield from node.get("properties", {}).items()
        for value in node.values():
            yield from properties(value)
    elif isinstance(node, list):
        for item in node:
            yield from properties(item)


EXTERNAL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//")


@covers(DOCS_BUILD)
def test_the_documentation_builds_strictly(tmp_path: Path) -> None:
    """As docs/development.md says, into a folder of its own: every page in the nav, the
    generated ones among them, with no warning, and nothing loaded from outside the site."""
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", *DOCS_BUILD.split(), "--site-dir", str(site)],
        cwd=ROOT,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^WARNING\b", done.stderr, re.M) is None, done.stderr
    assert not (ROOT / "site").exists()
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def nav_pages(entries: list[Any]) -> Iterator[str]:
        for entry in entries:
            for value in entry.values():
                yield from nav_pages(value) if isinstance(value, list) else [value]

    pages = list(nav_pages(config["nav"]))
    generated = ["reference/options.md"] + [
        f"reference/schemas/{p.name.removesuffix('.schema.json')}.md"
        for p in sorted((ROOT / "schemas").glob("*.schema.json"))
    ]
    on_disk = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")]
    assert sorted(pages) == sorted(on_disk + generated)
    for page in pages:
        built = (site / page).with_suffix(".html")
        assert built.is_file(), page
        assert EXTERNAL.findall(built.read_text(encoding="utf-8")) == [], page
