"""One execution of `fusion-run PLAN`: join the plan, Fusion (or the emulator), the engine and
the reporters, with SIGINT and SIGTERM turned into a cancellation the engine carries out."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runner import wording
from runner.clock import Clock, SystemClock, WakingClock
from runner.commands import traces
from runner.commands.loading import load
from runner.commands.options import Options
from runner.engine import Engine, JobsNotFound, Resume, ScheduledByFusion, Unreachable
from runner.engine.reporter import Reporter
from runner.errors import ExitCode, FatalError, UsageError
from runner.events import Event
from runner.fusion import ErrorKind, Fusion, FusionError
from runner.fusion.auth import refused
from runner.fusion.budget import Budget
from runner.fusion.client import FusionClient
from runner.plan import Auth, OnInterrupt, Plan
from runner.plan.problems import InvalidPlan, Problem
from runner.reasons import (
    Carried,
    CredentialsRefused,
    InterruptedBeforeStart,
    JobsMissing,
    TriggersFound,
)
from runner.redact import Redactor
from runner.report import Reporters, Together
from runner.report.console import Console
from runner.report.github import GitHubActions
from runner.report.html import HtmlFile
from runner.report.journal import Journal, report_file, why_unwritable, write_atomically
from runner.report.jsonlog import JsonLog
from runner.report.junit import JUnitFile
from runner.report.refused import refused_result
from runner.result import Noted, PlanResult, TraceIds
from runner.signals import Interrupts, catching_signals
from runner.verdict import judged, verdict

if TYPE_CHECKING:
    from runner.report.tracing import Tracer


@dataclass(kw_only=True, slots=True)
class _Reached:
    """How far a run came: the plan read, Fusion's URL, and whether the engine took over the
    report (from then on, every stop is in the report it writes)."""

    plan: Plan | None = None
    url: str | None = None
    engine: bool = False


def main(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    *,
    clock: WakingClock | None = None,
) -> int:
    """Run the plan on `clock` (the real one unless given: tests give a fake one, that an
    emulator started here with --emulate shares). The report, JUnit and HTML page of an earlier
    run are removed first (but the report a resume reads), and a stop before the plan begins
    writes its report and JUnit: no earlier run's success outlives this run, however it ends."""
    clock = SystemClock() if clock is None else clock
    _remove_earlier(options)
    reached = _Reached()
    try:
        return _run(options, environ, redact, clock, reached)
    except (InvalidPlan, FatalError) as stop:
        if not reached.engine:
            _write_refused(options, reached, stop, at=clock.wall(), clean=redact.line)
        raise


def _remove_earlier(options: Options) -> None:
    """Remove the report, JUnit file and HTML page an earlier run left, but the report --resume
    reads: a run killed before it writes its own must not leave an earlier run's outcome in
    place."""
    kept = _resumed_in_place(options)
    for path in (None if kept else options.report, options.junit, options.html):
        if path is not None and Path(path).is_file():
            with contextlib.suppress(OSError):  # a report that cannot be written says so later
                Path(path).unlink()


def _resumed_in_place(options: Options) -> bool:
    """--resume reads the report this run writes: it stays as it is until the engine writes."""
    if not options.resume or not Path(options.resume).is_file():
        return False
    return Path(options.report).is_file() and Path(options.report).samefile(options.resume)


def _write_refused(
    options: Options,
    reached: _Reached,
    stop: InvalidPlan | FatalError,
    *,
    at: datetime,
    clean: Callable[[str], str],
) -> None:
    """The report and JUnit of a run that stopped before the plan began: why, and the exit code;
    the report a resume reads stays as it was. What cannot be written is let go: the stop is the
    error."""
    if isinstance(stop, InvalidPlan):
        error, refused = "; ".join(str(problem) for problem in stop.problems), True
    else:
        error, refused = str(stop), stop.exit_code == ExitCode.INVALID
    result = refused_result(
        options.plans[0], reached.plan, reached.url, error=clean(error), refused=refused, at=at
    )
    if not _resumed_in_place(options):
        with contextlib.suppress(OSError):
            write_atomically(options.report, result.to_dict())
    if options.junit:
        with contextlib.suppress(FatalError):
            JUnitFile(options.junit).finish(result)


def _run(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    clock: WakingClock,
    reached: _Reached,
) -> int:
    loaded = load(options, environ)
    plan, url, selected = loaded.plan, loaded.url, loaded.selected
    reached.plan, reached.url = plan, url
    console, log = _console(options, redact)
    resume = _resume(options, plan, lambda line: console.write(redact.line(line)))
    warn = OutputWarnings(console.write)
    tracer = traces.tracer(options, environ, redact, warn, resume)
    final = Reporters(
        *([JUnitFile(options.junit)] if options.junit else []),
        GitHubActions(plan, environ, click.echo, warn=warn),
        *([HtmlFile(options.html, warn=warn)] if options.html else []),
        Together(  # a slow Pushgateway and a slow collector: one wait, not two
            *_metrics_push(options, environ, redact, warn=warn),
            *([tracer] if tracer else []),
        ),
        warn,  # last: the report again, if the others warned
    )
    with ExitStack() as stack:
        interrupts = stack.enter_context(catching_signals(clock))
        fusion, url = connect(
            plan,
            options,
            url,
            environ=environ,
            log=log,
            stack=stack,
            interrupts=interrupts,
            redact=redact,
            clock=clock,
        )
        journal = Journal(report_file(options.report), path=options.report, warn=console.write)
        engine = Engine(
            plan,
            fusion,
            clock,
            url=url,
            max_parallel=options.max_parallel,
            reporter=Reporters(journal, console),
            interrupts=interrupts,
            detach=options.detach or plan.on_interrupt is OnInterrupt.DETACH,
            resume=resume,
            selected=selected,
        )
        reached.engine = True
        warn.keep_in(engine.result, journal)
        engine.result.trace = _trace(tracer, resume)
        chosen = None if selected is None else len(selected)
        console.header(plan, url, emulated=options.emulate, selected=chosen)
        try:
            _begin(engine, plan, url)
        except KeyboardInterrupt:
            final.finish(engine.result)
            console.finish(engine.result)
            return verdict(engine.result).code
        except (InvalidPlan, FatalError):
            final.finish(engine.result)  # JUnit and GitHub say why, as the exit code does
            if not isinstance(engine.result.error, CredentialsRefused):
                raise
            console.finish(engine.result)  # as a refusal mid-run: the steps, why, the report
            return verdict(engine.result).code
        except Exception as error:  # a bug: exit 3, and every output says so, not "running"
            engine.result.error = Carried(text=f"internal error: {type(error).__name__}")
            with contextlib.suppress(Exception):  # the report too, if it still can be
                engine.conclude()
            final.finish(engine.result)
            raise
        if journal.unwritten is not None:
            engine.result.unrecorded = why_unwritable(journal.unwritten)
            engine.result.verdict = judged(engine.result)  # exit 3: what the outputs say
        final.finish(engine.result)
        console.finish(engine.result)
    if engine.result.unrecorded is not None:  # nothing may be lost: the final report goes to stderr
        report = engine.result.to_dict()
        if isinstance(console, JsonLog):
            console.final_report(report)
        else:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False), err=True)
        raise FatalError(
            f"cannot write the report {options.report}: {engine.result.unrecorded}; "
            "its final state is printed above"
        )
    return verdict(engine.result).code


def _resume(options: Options, plan: Plan, note: Callable[[str], None]) -> Resume | None:
    """With --resume, what the earlier report hands on; `note` is told the settings it takes."""
    if not options.resume:
        return None
    from runner.commands.resume import load_resume  # noqa: PLC0415

    return load_resume(options.resume, plan, force=options.force, note=note)


class OutputWarnings:
    """The warnings of the outputs themselves (a trace not exported, a summary or page not
    written, metrics not pushed): each printed as it comes (`write`), and kept among the
    report's warnings, about the plan, in the same words less the `fusion-run: warning: `
    before them. A reporter, last among the final ones: it writes the report once more if
    they warned after the plan ended."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.early: list[Event | Noted] = []  # given before the run's result exists
        self.kept: tuple[PlanResult, Journal] | None = None
        self.added = 0  # how many the result kept as they came

    def __call__(self, line: str) -> None:
        self.write(line)
        noted = Noted(step=None, text=line.removeprefix("fusion-run: ").removeprefix("warning: "))
        if self.kept is None:
            self.early.append(noted)
        else:
            self.kept[0].warnings.append(noted)
            self.added += 1

    def keep_in(self, result: PlanResult, journal: Journal) -> None:
        """From now on, keep each warning in `result`, which `journal` writes, beginning with
        those already given."""
        result.warnings.extend(self.early)
        self.kept, self.early = (result, journal), []

    def handle(self, event: Event, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        if self.kept is not None and self.added and self.kept[1].unwritten is None:
            self.kept[1].rewrite(result)


def _trace(tracer: Tracer | None, resume: Resume | None) -> TraceIds | None:
    """The trace the report names before anything starts, so that a resume continues it: this
    run's, else the resumed run's (a later resume with tracing continues it)."""
    if tracer is not None:
        return tracer.ids
    return None if resume is None else resume.trace


def _console(
    options: Options, redact: Redactor
) -> tuple[Console | JsonLog, Callable[[str], None] | None]:
    """What the run prints as it goes, as text lines or JSON lines (--log-format), and where
    --verbose writes each request to Fusion (None: nowhere)."""
    if options.log_format == "json":
        log = JsonLog(
            redact,
            report=options.report,
            resume_command=options.resume_command(),
            heartbeat=options.heartbeat,
        )
        return log, log.request if options.verbose else None
    console = Console(
        quiet=options.quiet,
        report=options.report,
        resume_command=options.resume_command(),
        verbose=options.verbose,
        heartbeat=options.heartbeat,
    )
    return console, (lambda line: console.write(f"        {line}")) if options.verbose else None


def _begin(engine: Engine, plan: Plan, url: str) -> None:
    """Check the jobs, then run the plan. A stop before anything starts (a job missing, Fusion
    out of reach, the first report not written, an interrupt) ends the engine's result with
    its cause, then goes on up as InvalidPlan, FatalError or KeyboardInterrupt."""
    try:
        engine.preflight()
    except JobsNotFound as missing:
        problems = [
            Problem(
                file=plan.file,
                line=step.line,
                column=step.column,
                path=("steps", index),
                message=wording.missing_job(step.job, url + plan.fusion.api),
            )
            for index, step in missing.steps
        ]
        named = tuple(step.name for _, step in missing.steps)
        engine.abort(JobsMissing(count=len(problems), steps=named))
        raise InvalidPlan(problems) from None
    except ScheduledByFusion as scheduled:
        problems = []
        for finding in scheduled.found:
            index, step = next((i, s) for i, s in enumerate(plan.steps) if s.name == finding.step)
            problems.append(
                Problem(
                    file=plan.file,
                    line=step.line,
                    column=step.column,
                    path=("steps", index),
                    message=wording.scheduled_problem(finding),
                )
            )
        engine.abort(TriggersFound(count=len(problems)))
        raise InvalidPlan(problems) from None
    except Unreachable as unreachable:
        engine.abort(unreachable.reason)
        raise FatalError(wording.text(unreachable.reason)) from None
    except FatalError as error:
        if not isinstance(error, FusionError) or error.kind is not ErrorKind.CREDENTIALS:
            engine.abort(Carried(text=str(error)))
            raise
        engine.abort(CredentialsRefused(error=refused(error)))
        raise
    except KeyboardInterrupt:
        engine.abort(InterruptedBeforeStart())
        raise
    try:
        engine.execute()
    except FatalError as error:  # the first report could not be written: nothing started
        engine.abort(Carried(text=str(error)))
        raise


def connect(
    plan: Plan,
    options: Options,
    url: str | None,
    *,
    environ: Mapping[str, str],
    log: Callable[[str], None] | None,
    stack: ExitStack,
    interrupts: Interrupts,
    redact: Redactor,
    clock: Clock,
) -> tuple[Fusion, str]:
    """A client for Fusion at `url`, or for the emulator started here with --emulate, whose runs
    go by `clock`, the engine's; its requests keep to the plan's request budget on that clock."""
    budget = Budget(
        plan.fusion.max_requests_per_second, monotonic=clock.monotonic, sleep=clock.sleep
    )
    if options.emulate:
        from runner.emulator.adapter import Hooks  # noqa: PLC0415
        from runner.emulator.model import EmulatedFusion  # noqa: PLC0415
        from runner.emulator.scenario import load_scenario  # noqa: PLC0415
        from runner.emulator.server import Emulator  # noqa: PLC0415

        jobs = [step.job for step in plan.steps if step.call is None]
        scenario = load_scenario(options.scenario, jobs=jobs) if options.scenario else None
        # Run ids new in each process: a resume against a new emulator must not find its
        # earlier run ids again, on runs that are not the same.
        # Its wall time is fusion-run's: a scenario's next starts and past runs fall where the plan
        # reads them.
        epoch = clock.wall().timestamp() - clock.monotonic()
        model = EmulatedFusion(
            scenario,
            clock=clock.monotonic,
            epoch=epoch,
            seed=None,
            extra_jobs=jobs,
        )
        url = stack.enter_context(Emulator(model)).url
        client = FusionClient(  # as for Fusion, but for the credentials: a rehearsal of the plan
            url=url,
            api=plan.fusion.api,
            auth=Auth.NONE,
            connect_timeout=plan.fusion.connect_timeout,
            read_timeout=plan.fusion.read_timeout,
            log=log,
            guard=interrupts.request,
            spark_start=plan.fusion.spark_start,
            environ={},
            redact=redact,  # the environment's credentials, masked as for Fusion: a CI job that
            budget=budget,  # rehearses has them set, and a scenario's words may hold them
            hooks=Hooks(),  # a rehearsal posts no webhook: the emulator answers each
        )
        return client, url
    if url is None:
        raise UsageError(
            "no Fusion URL: set fusion.url in the plan, FUSION_URL, or --url "
            "(or rehearse on the emulator with --emulate)"
        )
    settings = plan.fusion
    client = FusionClient(
        url=url,
        api=settings.api,
        auth=settings.auth,
        environ=environ,
        verify=settings.verify,
        realm=settings.realm,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        log=log,
        guard=interrupts.request,
        spark_start=settings.spark_start,
        redact=redact,
        budget=budget,
    )
    return client, url


def _metrics_push(
    options: Options, environ: Mapping[str, str], redact: Redactor, *, warn: Callable[[str], None]
) -> list[Reporter]:
    """With --push-metrics, the reporter that pushes the final result's metrics, last of the
    final outputs: whatever its push meets, the report, JUnit and the summary are written. Its
    warning is masked, the gateway's password too."""
    if options.push_metrics is None:
        return []
    from runner.report.push import MetricsPush, gateway  # noqa: PLC0415

    target = gateway(options.push_metrics, environ)
    if target.password is not None:
        redact.add(target.password)
    return [MetricsPush(target, warn=lambda line: warn(redact.line(line)))]
