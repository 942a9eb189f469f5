"""The README says what fusion-run does: its commands run as shown, and its examples of output are
what fusion-run prints.

`readme_commands` finds every shell command in the README's fenced code blocks: each line of an
`sh` block (a line that ends in a backslash goes on in the next), each `fusion-run ...` line of a
`text` block (the command line's synopsis), each item of a `script:` list in a `yaml` block (GitLab
CI) and each `sh '...'` step of a `groovy` block (Jenkins). Each is either run by a test here
(`@covers(...)`) or listed in NOT_RUN with the reason it is not, so a command added to the README
fails `test_every_readme_command_is_run_or_excused` until it is one or the other.

What the runs here rewrite, and why:
- `fusion-run` and `fusion-emulator` run as `python -m runner` and `python -m runner.cli.emulator`,
  with this checkout first on the path: what the installed scripts call (a test checks that), on
  the code under test;
- the set-up command's virtual environment and `pip install` are not run (PART_NOT_RUN says why);
  the `fusion-run` it ends with is;
- a command meant for a real Fusion gets `--emulate`: there is no Fusion here;
- `PLAN` in the synopsis is a small plan written by the test;
- `plans/nightly.yaml` in the CI examples is a copy of examples/nightly-recommendations.yaml;
- `--port 8764` becomes `--port 0`: a fixed port may be taken where the tests run;
- `pytest --record-mode=rewrite` re-records the tests that use cassettes in a copy of the
  checkout, not the whole suite in it: the suite holds this test, and the checkout's cassettes
  must not change under the other tests.
Everything else is run as the README spells it, in a folder that holds a copy of `examples/`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
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
from tests.helpers.paths import EXAMPLES, ROOT
from tests.helpers.process import Lines

README = (ROOT / "README.md").read_text(encoding="utf-8")
FUSION_RUN = [sys.executable, "-m", "runner"]  # what the fusion-run script calls
FUSION_EMULATOR = [sys.executable, "-m", "runner.cli.emulator"]  # and the fusion-emulator script

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


RUN: dict[str, str] = {}  # each README command a test here runs, and that test


def covers(*commands: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a test as the one that runs these README commands."""

    def mark(test: Callable[..., None]) -> Callable[..., None]:
        for command in commands:
            RUN[command] = test.__name__
        return test

    return mark


def test_every_readme_command_is_run_or_excused() -> None:
    assert {block.lang for block in readme_blocks()} <= LANGUAGES, "a block of a new kind"
    found = set(readme_commands())
    assert not set(RUN) & set(NOT_RUN)
    assert found - set(RUN) - set(NOT_RUN) == set(), "run these README commands in a test here"
    assert set(RUN) | set(NOT_RUN) <= found, "these commands are no longer in the README"


# --- the two set-up commands ---------------------------------------------------------------------


def test_the_set_up_commands_are_what_ci_runs() -> None:
    """A newcomer pastes two commands: they are what .ci/run does, in the same order."""
    set_up = README[README.index("## Set up") : README.index("## The plan")]
    blocks = [b for b in readme_blocks() if b.section == "Set up"]
    assert [(b.lang, commands_in(b)) for b in blocks] == [("sh", [SET_UP]), ("sh", [TESTS])]
    assert "Python 3.11 or newer" in set_up
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    ci = [line for line in ci if line and not line.startswith("#")]

    def in_ci(command: str) -> int:
        """Where .ci/run does `command` (pip through `python -m`, quietly)."""
        spelt = {command, f"python -m {command}".replace("install ", "install --quiet ")}
        [index] = [i for i, line in enumerate(ci) if line in spelt]
        return index

    done = [in_ci(part) for part in SET_UP.split(" && ")[:-1]]
    assert done == sorted(done)
    assert in_ci("pytest") > done[-1]
    activate, tests = TESTS.split(" && ")
    assert in_ci(activate) < in_ci(tests) == ci.index("pytest")

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


@pytest.mark.slow
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
    """The README's command block and --help name the same options."""
    shown = set()
    for line in SYNOPSIS.lines:
        if line.startswith(("fusion-run ", "  -")):
            left = re.split(r" {2,}", line.strip())[0]
            shown |= set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", left))
    context = click.Context(cli.main, **cli.main.context_settings)
    options = [p for p in cli.main.get_params(context) if isinstance(p, click.Option)]
    assert shown == {name for option in options for name in option.opts + option.secondary_opts}


SYNOPSIS_RUNS = {
    # the command in the README: (the arguments run, the exit code, a line of stderr or stdout)
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


@pytest.mark.slow
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


# --- what the README shows fusion-run print ------------------------------------------------------


def test_the_console_example_is_what_a_run_prints() -> None:
    """The example under "Running a plan": a 40-second job, then one that fails after 2m30s
    with its skipped dependent, followed on a fake clock against the emulator's model."""
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


def test_the_heartbeat_example_is_what_a_ci_log_shows() -> None:
    """The heartbeat line under "In CI", but for the counters: the emulator shows a crawl's
    counters only once it ends."""
    [example] = re.findall(r"`( +\d+:\d\d crawl: still running [^`]*)`", README)
    out = io.StringIO()
    crawl = step("crawl", job="datasource:web", states=("success",))
    scenario = jobs(**{"datasource:web": runs(RunScript(duration=700, state="success"))})
    run([crawl], scenario, reporter=Console(out, live=False))
    beats = [line for line in out.getvalue().splitlines() if "still running" in line]
    assert beats == [
        "   5:03 crawl: still running (run 41pjso2krv, 5m3s)",  # 5 minutes, then the next read
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
    [cycle] = re.findall(r"`(plan\.yaml:\d+:\d+: [^`]*dependency cycle[^`]*)`", README)
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
        *re.findall(r"(?:junit|archiveArtifacts) '([^']+)'", groovy.body),
    }
    assert kept == {"fusion-run-report.json", "fusion-run.xml"}
    for name in kept:
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "fusion-run-report.json").read_text())["outcome"] == "succeeded"
    junit = (tmp_path / "fusion-run.xml").read_text()
    assert "<failure" not in junit
    assert "<error" not in junit


def test_the_readme_plans_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan under "The plan" as it is, and each fragment of one (steps only) in a plan."""
    monkeypatch.chdir(tmp_path)
    checked = 0
    for block in readme_blocks():
        data = yaml.safe_load(block.body) if block.lang == "yaml" else None
        if not isinstance(data, dict) or "steps" not in data:
            continue
        text = block.body if "version" in data else "version: 1\n" + block.body
        Path("plan.yaml").write_text(text)
        result = invoke("plan.yaml", "--validate")
        assert (result.exit_code, result.stdout) == (0, ""), result.stderr
        checked += 1
    assert checked == 2


def test_the_readme_action_and_hook_are_this_repositorys() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [uses] = [b for b in readme_blocks() if "uses: your-org/fusion-run@" in b.body]
    [step_] = yaml.safe_load(uses.body)
    also = re.search(r"# also: (.+)$", uses.body, re.M)
    assert also is not None
    named = set(step_["with"]) | set(re.findall(r"([a-z-]+)(?: \([^)]*\))?(?:,|$)", also[1]))
    assert named == set(action["inputs"])
    assert set(step_["with"]) >= {i for i, spec in action["inputs"].items() if spec["required"]}
    [config] = [b for b in readme_blocks() if "- id: fusion-run-validate" in b.body]
    assert yaml.safe_load(config.body)["repos"][0]["hooks"] == [{"id": hook["id"]}]
    [editor] = [b for b in readme_blocks() if b.lang == "json"]
    for schema in json.loads(editor.body)["yaml.schemas"]:
        assert (ROOT / schema).is_file(), schema


# --- the tests the README cites as proof ----------------------------------------------------------


def cited_file(name: str) -> str:
    """Every test file called `name`, anywhere under tests/, as one text: a file stands in the
    folder of its tests' kind (unit, scenario, process), and a file of tests of several kinds
    has a part in each, under the same name."""
    found = sorted((ROOT / "tests").rglob(name))
    assert found, f"no {name} under tests/"
    return "\n".join(path.read_text(encoding="utf-8") for path in found)


def test_the_tests_the_readme_names_exist() -> None:
    """Each promise under "What fusion-run guarantees" names its test: that test exists."""
    module = ""
    for given, name in re.findall(r"`(?:tests/)?(test_\w+\.py)?::(test_\w+)`", README):
        module = given or module
        assert re.search(rf"^def {name}\(", cited_file(module), re.M), name


CITED = re.compile(r"`(test_\w+\.py)?::(test_\w+)`")


def test_every_test_the_readme_cites_exists() -> None:
    """The README proves its promises by naming tests (`test_x.py::test_y`, then `::test_z` in
    the same file): each named test is there, so that a promise never outlives its proof."""
    cited, missing, current = 0, [], None
    for match in CITED.finditer(README):
        current = match[1] or current
        assert current is not None, match[0]
        source = cited_file(current)
        cited += 1
        if not re.search(rf"^def {match[2]}\(", source, re.MULTILINE):
            missing.append(f"{current}::{match[2]}")
    assert cited > 30
    assert missing == []
