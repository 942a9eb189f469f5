"""The shape of the code, held by tests: the engine's transition table matches the diagram that
documents it, the core imports no I/O library, each package imports only from the layers below it,
and no module of runner/ imports itself back."""

from __future__ import annotations

import ast
import graphlib
import re
import sys
from pathlib import Path

import pytest

from runner.emulator.scenario import RunScript
from runner.engine import phases, stops
from runner.engine.context import Context
from runner.engine.handlers import HANDLERS
from runner.engine.phases import TRANSITIONS, Phase, StepState
from runner.outcomes import Outcome
from tests.helpers.engine import jobs, run, runs
from tests.helpers.fakes import step
from tests.helpers.paths import ROOT

PACKAGE = ROOT / "runner"


def test_the_diagram_and_the_transition_table_agree() -> None:
    doc = phases.__doc__ or ""
    drawn = {
        (Phase[source], Phase[target])
        for source, target in re.findall(r"^ {4}([A-Z_]+) +-> ([A-Z_]+) ", doc, re.MULTILINE)
    }
    coded = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
    assert drawn == coded
    assert len(re.findall(r"^ {4}[A-Z_]+ +-> ", doc, re.MULTILINE)) == len(coded)  # none twice


def test_every_phase_that_acts_has_one_handler_and_every_phase_ends() -> None:
    assert set(HANDLERS) == set(Phase) - {Phase.UPSTREAM, Phase.DONE}
    for phase in Phase:  # DONE is reachable from every phase but itself
        assert phase is Phase.DONE or Phase.DONE in TRANSITIONS[phase]


def test_a_move_the_table_does_not_allow_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(*_: object) -> Phase:
        return Phase.CANCEL  # CHECK may not go there

    monkeypatch.setitem(HANDLERS, Phase.CHECK, wrong)
    with pytest.raises(AssertionError, match=r"a: Phase.CHECK -> Phase.CANCEL"):
        run([step("a")], jobs(a=runs(RunScript(duration=1))))


def test_a_handler_that_ends_its_step_but_returns_another_phase_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A handler moves its step one way, by the phase it returns: `ctx.end` returns DONE for it."""

    def ends_but_says_follow(ctx: Context, s: StepState, now: float) -> Phase:
        ctx.end(s, Outcome.FAILED, None)
        return Phase.FOLLOW

    monkeypatch.setitem(HANDLERS, Phase.CHECK, ends_but_says_follow)
    with pytest.raises(AssertionError, match=r"^a: Phase.FOLLOW in Phase.DONE$"):
        run([step("a")], jobs(a=runs(RunScript(duration=1))))


def test_every_phase_says_how_it_stops_as_the_table_in_words_says() -> None:
    words = {
        "never began": stops.never_began,
        "not started*": stops.not_started,
        "failed": stops.failed,
        "cancel its run": stops.cancel_run,
        "look on, cancel": stops.look_on,
        "(cancelling)": stops.cancelling,
        "left going": stops.left_going,
        "start unconfirmed": stops.start_unconfirmed,
        "cancel unconfirmed": stops.cancel_unconfirmed,
        "may be going": stops.may_be_running,
        "-": stops._nothing,
    }
    doc = stops.__doc__ or ""
    drawn = {}
    for phase in Phase:
        [row] = re.findall(rf"^ {{4}}{phase.name} +(.+)$", doc, re.MULTILINE)
        cells = re.split(r" {2,}", row.strip())
        drawn[phase] = dict(zip(stops.Stop, (words[cell] for cell in cells), strict=True))
    assert drawn == stops.STOPS


def test_no_phase_in_which_a_run_may_go_on_ends_its_step_as_not_started() -> None:
    """The trap of a table by exclusion: a new phase silently ending as "not started"."""
    quiet = {stops.never_began, stops.not_started, stops.failed, stops._nothing}
    for phase in (Phase.PICK_UP, Phase.VERIFY, Phase.FOLLOW, Phase.CANCEL):
        assert not set(stops.STOPS[phase].values()) & quiet, phase


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The runner modules `path` imports anywhere: at the top, in functions, for types only.
    A package's `__init__` that runs first is not counted: it is not what the importer needs."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` needs the module; `from module import name`, the module
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in modules
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for imported in names:
            name = imported
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != "runner":
                found.add(name)
    return found


def test_no_import_cycle_in_runner() -> None:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: _imports(path, set(files)) - {name} for name, path in files.items()}
    assert graph["runner.engine.starting"] >= {"runner.engine.following"}  # the walk sees imports
    graphlib.TopologicalSorter(graph).prepare()  # CycleError names the cycle


def test_the_cycle_check_finds_a_cycle() -> None:
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).prepare()


# The layers of runner/, bottom first: the vocabulary modules at the top of the package, then the
# pipeline's packages. A module imports only from its own layer and those below.
LAYERS = ["vocabulary", "plan", "fusion", "engine", "report", "emulator", "commands", "cli"]


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 2 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])  # a package's __init__
    if len(parts) == 2 or module == "runner":
        return LAYERS.index("vocabulary")
    return LAYERS.index(parts[1])


def _upward_imports() -> list[str]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    del files["runner.__main__"]  # `python -m runner`: the command line itself
    upward = []
    for name, path in sorted(files.items()):
        for imported in sorted(_imports(path, set(files) | {"runner.__main__"})):
            if _layer(imported) > _layer(name):
                upward.append(f"{name} -> {imported}")
    return upward


def test_each_layer_imports_only_from_the_layers_below_it() -> None:
    assert {
        path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"
    } == set(LAYERS) - {"vocabulary"}
    assert _upward_imports() == []


def test_the_layering_check_sees_an_upward_import(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _imports

    def with_one_more(path: Path, modules: set[str]) -> set[str]:
        found = real(path, modules)
        return found | {"runner.engine.driver"} if path.name == "jobs.py" else found

    monkeypatch.setattr(sys.modules[__name__], "_imports", with_one_more)
    assert _upward_imports() == ["runner.jobs -> runner.engine.driver"]


def test_every_action_has_a_command_with_a_main() -> None:
    from runner.commands import COMMANDS, command  # noqa: PLC0415
    from runner.commands.options import Action  # noqa: PLC0415

    assert set(COMMANDS) == set(Action)
    for name in COMMANDS.values():
        assert callable(command(name))
