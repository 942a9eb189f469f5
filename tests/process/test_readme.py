"""The README's commands run as shown, each in processes of its own, as a reader would paste them.

`readme_commands` (`tests.helpers.readme`) finds every shell command in the README's fenced code
blocks: each line of an `sh` block (a line that ends in a backslash goes on in the next), each
`fusion-run ...` line of a `text` block (the command line's synopsis), each item of a `script:`
list in a `yaml` block (GitLab CI) and each `sh '...'` step of a `groovy` block (Jenkins). Each is
either run by a test here (`@covers(...)`) or listed in NOT_RUN with the reason it is not, so a
command added to the README fails tests/unit/test_readme.py's
`test_every_readme_command_is_run_or_excused` until it is one or the other.

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

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from tests.helpers.paths import EXAMPLES, ROOT
from tests.helpers.process import Lines
from tests.helpers.readme import (
    CI_RUN,
    EMULATOR,
    PART_NOT_RUN,
    RE_RECORD,
    SET_UP,
    SYNOPSIS,
    commands_in,
    covers,
    readme_blocks,
)

FUSION_RUN = [sys.executable, "-m", "runner"]  # what the fusion-run script calls
FUSION_EMULATOR = [sys.executable, "-m", "runner.cli.emulator"]  # and the fusion-emulator script


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


# --- the set-up command -------------------------------------------------------------------------


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

TINY = "version: 1\nname: tiny\nsteps:\n  - crawl\n"
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
        *re.findall(r"(?:junit|archiveArtifacts) '([^']+)'", groovy.body),
    }
    assert kept == {"fusion-run-report.json", "fusion-run.xml"}
    for name in kept:
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "fusion-run-report.json").read_text())["outcome"] == "succeeded"
    junit = (tmp_path / "fusion-run.xml").read_text()
    assert "<failure" not in junit
    assert "<error" not in junit
