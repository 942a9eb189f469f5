"""What `fusion-run` does, one module per action. `COMMANDS` names the module of each action; each
has a `main(options, environ, redact, *, clock) -> exit code` that writes what the action prints.
The clock is the one the command waits on: the real one (`runner.clock.SystemClock`) unless given.

The modules are imported when their action is asked for: `--validate` runs in CI on every push
and imports neither click nor the engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from runner.commands.options import Action, Options

if TYPE_CHECKING:
    from runner.clock import WakingClock
    from runner.redact import Redactor


class Main(Protocol):
    def __call__(
        self,
        options: Options,
        environ: Mapping[str, str],
        redact: Redactor,
        *,
        clock: WakingClock | None = None,
    ) -> int: ...


COMMANDS: dict[Action, str] = {
    Action.VALIDATE: "validate",  # every plan checked offline, each problem at file:line:col
    Action.GRAPH: "graph",  # the dependency graph, in Mermaid or DOT
    Action.DRY_RUN: "dry_run",  # the plan resolved, in words, with nothing contacted
    Action.CHECK: "check",  # is Fusion ready for the plan? nothing started
    Action.RUN: "run",  # run the plan
}


def command(name: str) -> Main:
    """The `main` of the command module `name`."""
    module = importlib.import_module(f"runner.commands.{name}")
    main: Main = module.main
    return main
