"""`fusion-run PLAN`: join the plan, Fusion (or the emulator), the engine, the console and the
report, with SIGINT and SIGTERM turned into a cancellation the engine carries out."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from runner.client import FusionClient
from runner.clock import SystemClock
from runner.console import Console
from runner.engine import Engine
from runner.errors import ExitCode, FatalError, UsageError
from runner.plan import Auth, Plan
from runner.problems import InvalidPlan
from runner.report import build_report, write_atomically, write_text_atomically

if TYPE_CHECKING:
    from runner.cli import Options


class Interrupts:
    """Counts SIGINT and SIGTERM, and wakes the clock so the engine acts at once."""

    def __init__(self, clock: SystemClock) -> None:
        self.count = 0
        self.clock = clock

    def __call__(self) -> int:
        return self.count

    def receive(self, _signal: int, _frame: FrameType | None) -> None:
        self.count += 1
        self.clock.wake()


@contextmanager
def catching_signals(clock: SystemClock) -> Iterator[Interrupts]:
    interrupts = Interrupts(clock)
    previous = {
        sig: signal.signal(sig, interrupts.receive) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_report(path: str, engine: Engine) -> None:
    try:
        write_atomically(path, build_report(engine))
    except OSError as error:
        raise FatalError(f"cannot write the report {path}: {error.strerror or error}") from None


def _publish(engine: Engine, options: Options, environ: Mapping[str, str]) -> None:
    """The final outcome where CI looks: a JUnit file, and GitHub's summary and annotations."""
    from runner import github, junit  # noqa: PLC0415

    report = build_report(engine)
    if options.junit:
        try:
            write_text_atomically(options.junit, junit.junit_xml(report))
        except OSError as error:
            raise FatalError(f"cannot write {options.junit}: {error.strerror or error}") from None
    if not github.in_github_actions(environ):
        return
    for line in github.step_annotations(report, engine.plan):
        click.echo(line)  # GitHub reads workflow commands from standard output
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as stream:
            stream.write(github.summary_markdown(report, engine.plan) + "\n")


def run_plan(plan: Plan, options: Options, url: str | None, environ: Mapping[str, str]) -> int:
    console = Console(quiet=options.quiet)
    log = (lambda line: console.write(f"        {line}")) if options.verbose else None
    resume = None
    if options.resume:
        from runner.resume import load_resume  # noqa: PLC0415

        resume = load_resume(options.resume, plan, force=options.force)
    with ExitStack() as stack:
        if options.emulate:
            from runner.emulator import EmulatedFusion, Emulator  # noqa: PLC0415
            from runner.scenario import load_scenario  # noqa: PLC0415

            scenario = load_scenario(options.scenario) if options.scenario else None
            model = EmulatedFusion(scenario, extra_jobs=[step.job for step in plan.steps])
            url = stack.enter_context(Emulator(model)).url
            fusion = FusionClient(url=url, api=plan.fusion.api, auth=Auth.NONE, log=log)
        elif url is None:
            raise UsageError(
                "no Fusion URL: set fusion.url in the plan, FUSION_URL, or --url "
                "(or rehearse on the emulator with --emulate)"
            )
        else:
            settings = plan.fusion
            fusion = FusionClient(
                url=url,
                api=settings.api,
                auth=settings.auth,
                environ=environ,
                verify=settings.verify,
                realm=settings.realm,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                log=log,
            )
        clock = SystemClock()
        interrupts = stack.enter_context(catching_signals(clock))
        engine = Engine(
            plan,
            fusion,
            clock,
            url=url,
            max_parallel=options.max_parallel,
            on_event=console.event,
            on_change=lambda engine: _write_report(options.report, engine),
            interrupts=interrupts,
            on_tick=console.tick if console.live else None,
            detach=options.detach or plan.on_interrupt == "detach",
            resume=resume,
        )
        console.header(engine, emulated=options.emulate)
        try:
            engine.preflight()
        except InvalidPlan as invalid:
            engine.abort(f"{len(invalid.problems)} job(s) have no configuration in Fusion")
            _publish(engine, options, environ)
            raise
        except FatalError as error:
            engine.abort(str(error))
            _publish(engine, options, environ)
            raise
        except KeyboardInterrupt:
            engine.abort("interrupted before anything started", interrupted=True)
            _publish(engine, options, environ)
            console.summary(engine, options.report)
            return ExitCode.INTERRUPTED
        outcome = engine.run()
        _publish(engine, options, environ)
        console.summary(engine, options.report)
        if engine.detached:
            console.write(
                "fusion-run: detached; to follow the runs still going: "
                f"fusion-run {plan.file} --resume {options.report}"
            )
    if outcome == "interrupted":
        return ExitCode.INTERRUPTED
    if engine.error:
        return ExitCode.FUSION
    return ExitCode.SUCCEEDED if outcome == "succeeded" else ExitCode.PLAN_FAILED
