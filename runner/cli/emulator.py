"""`fusion-emulator`: serve an emulated Fusion on 127.0.0.1 until interrupted."""

from __future__ import annotations

import signal
import sys
import time

import click

from runner.cli.exits import guarded
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import load_scenario
from runner.emulator.server import Access, Emulator
from runner.errors import UsageError
from runner.signals import SIGNALS

MAX_PORT = 65535


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port", default=8764, show_default=True, help="Port on 127.0.0.1 (0: any free one)."
)
@click.option("--scenario", type=click.Path(dir_okay=False), help="A scenario YAML file.")
@click.option("--user", envvar="FUSION_USER", help="Require this user (default: $FUSION_USER).")
@click.option(
    "--password", envvar="FUSION_PASSWORD", help="Its password (default: $FUSION_PASSWORD)."
)
@click.option("--api-key", envvar="FUSION_API_KEY", help="Accept this x-api-key ($FUSION_API_KEY).")
def main(
    port: int, scenario: str | None, user: str | None, password: str | None, api_key: str | None
) -> None:
    """Serve an emulated Fusion (its Spark jobs API and Jobs API) on 127.0.0.1 until interrupted.

    It knows the documentation's my-python-job and the jobs the scenario lists; any other job
    answers 404 (fusion-run --emulate also adds the plan's jobs).
    """

    def serve() -> int:
        # SIGINT and SIGTERM end it, even when it was started with SIGINT ignored (a background
        # job of a shell script inherits that), as a CI script stops it: `kill -INT` or `kill`.
        for signum in SIGNALS:
            signal.signal(signum, _interrupt)
        if not 0 <= port <= MAX_PORT:
            raise UsageError(f"--port {port}: not a port: give one from 1 to {MAX_PORT}, or 0")
        model = EmulatedFusion(load_scenario(scenario) if scenario else None, seed=None)
        access = Access(user=user, password=password, api_key=api_key)
        try:
            emulator = Emulator(
                model, port=port, access=access, log=lambda line: click.echo(line, err=True)
            )
        except OSError as error:
            raise UsageError(
                f"--port {port}: cannot serve on 127.0.0.1:{port} "
                f"({error.strerror or error}): give another --port, or 0 for any free one"
            ) from None
        with emulator:
            try:  # a signal from the moment it says it serves is a stop, however early
                click.echo(f"fusion-emulator: serving Fusion's API at {emulator.url}/api", err=True)
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0

    sys.exit(guarded(serve, show_traceback=False, prog="fusion-emulator"))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
