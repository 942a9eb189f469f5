"""The README says what fusion-run does, checked without running it: every command in it is run
by a test or excused, the set-up commands are what CI runs, the synopsis names every option, the
validation examples are what --validate prints, its plans are valid, and each test it cites as
proof exists.

The commands run in tests/process/test_readme.py, each marked there by `covers`
(`tests.helpers.readme`): this module imports it, so that the check sees them all.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import click
import pytest
import yaml

from runner import cli
from tests.helpers.cli import invoke
from tests.helpers.paths import ROOT
from tests.helpers.readme import (
    LANGUAGES,
    NOT_RUN,
    README,
    RUN,
    SET_UP,
    SYNOPSIS,
    TESTS,
    block_starting,
    commands_in,
    readme_blocks,
    readme_commands,
)
from tests.process import test_readme as runs_the_readme  # noqa: F401 - its `covers` fill RUN


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


# --- the command line ----------------------------------------------------------------------------


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


# --- what the README shows --validate print -------------------------------------------------------


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


# --- CI ------------------------------------------------------------------------------------------


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
