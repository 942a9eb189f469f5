"""The command line: options into `Options`, `execute` them, every outcome into an exit code.

Only this module and `runner.cli.exits` print errors or exit; `runner.cli.exits.guarded` is the one
place exceptions become exit codes.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, NoReturn

from runner import __version__
from runner.cli.exits import guarded
from runner.commands.options import Action, Options
from runner.errors import ExitCode
from runner.plan.problems import InvalidPlan
from runner.redact import Redactor
from runner.report import annotate, echo

if TYPE_CHECKING:
    import click

    from runner.clock import WakingClock

EXIT_CODES = """\b
Exit codes:
  0    the plan succeeded (with --validate: every plan is valid; with --check:
       the plan is ready)
  1    the plan failed: a step not allowed to fail ended other than succeeded
       or excluded by run_if, or a step's run was left going (even with
       allow_failure); losing Fusion mid-run fails the steps it cuts off
  2    invalid plan or usage, credentials missing from the environment, or a
       job that Fusion does not have (found before anything starts)
  3    Fusion out of reach before anything started, credentials refused, the
       final report not written, or an unexpected internal error
  130  interrupted
"""


def execute(
    options: Options,
    environ: Mapping[str, str] = os.environ,
    redact: Redactor | None = None,
    *,
    clock: WakingClock | None = None,
) -> int:
    """The options checked against each other, then the action's command (`runner.commands`), on
    `clock` (the real one unless given). A plan found invalid on the way is also annotated on
    GitHub Actions."""
    from runner.cli.usage import check_options  # noqa: PLC0415
    from runner.commands import COMMANDS, command  # noqa: PLC0415

    redact = redact or Redactor.from_environ(environ)
    check_options(options, environ)
    try:
        return command(COMMANDS[options.action])(options, environ, redact, clock=clock)
    except InvalidPlan as invalid:
        annotate(invalid.problems, environ, redact)
        raise


def _parse_variables(values: tuple[str, ...]) -> dict[str, str]:
    import click  # noqa: PLC0415 - these three run only under the click command

    variables: dict[str, str] = {}
    for item in values:
        name, equals, value = item.partition("=")
        if not equals or not name.isidentifier():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        if name in variables and variables[name] != value:  # one line, as the other refusals
            click.echo(f"fusion-run: --var {name} is given twice: give it once", err=True)
            raise click.exceptions.Exit(ExitCode.INVALID)
        variables[name] = value
    return variables


def _given(parameter: str) -> bool:
    """The option was on the command line, not left at its default."""
    import click  # noqa: PLC0415

    source = click.get_current_context().get_parameter_source(parameter)
    return source is click.core.ParameterSource.COMMANDLINE


def _parse_heartbeat(value: str) -> float:
    import click  # noqa: PLC0415

    from runner.durations import parse_duration  # noqa: PLC0415

    try:
        return float(parse_duration(int(value) if value.isdigit() else value))
    except ValueError:
        raise click.BadParameter(
            f"expected a duration such as 5m, 90s or 0, got {value!r}", param_hint="--heartbeat"
        ) from None


@functools.cache
def _command() -> click.Command:
    """The click command, built on first use: `fusion-run PLAN... --validate` needs no option
    parser, and click takes 15 ms to import (see `entry`)."""
    import click  # noqa: PLC0415

    @click.command(
        epilog=EXIT_CODES,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    @click.argument("plans", nargs=-1, required=True, metavar="PLAN...")
    @click.option(
        "--validate", is_flag=True, help="Check the plans offline and exit: 0 valid, 2 not."
    )
    @click.option(
        "--dry-run",
        is_flag=True,
        help="Show the resolved plan and its start order without contacting Fusion.",
    )
    @click.option(
        "--check",
        is_flag=True,
        help="Check the plan against Fusion and start nothing: the URL, the credentials, that "
        "every job exists, and what is running now. Exit 0 ready, 2 a job missing, 3 Fusion out "
        "of reach or the credentials refused.",
    )
    @click.option(
        "--graph",
        type=click.Choice(["mermaid", "dot", "gantt"]),
        help="Print the plan's dependency graph in Mermaid or Graphviz DOT; with --report, "
        "coloured by that report's outcomes. gantt: the report's runs on a timeline, in Mermaid "
        "(needs --report).",
    )
    @click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="With --validate: problems as text lines on stderr, or as a JSON list on stdout. "
        "With --dry-run or --check: the plan, or its readiness, as a JSON document on stdout "
        "(format fusion-run-dry-run or fusion-run-check, version 1).",
    )
    @click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set ${NAME} in the plan (a name under its variables:); wins over the target and "
        "the environment. Repeatable.",
    )
    @click.option(
        "--target",
        metavar="NAME",
        help="Read the plan with its target NAME (under targets:): its Fusion settings and "
        "variables over the plan's own. Default: the plan's default_target.",
    )
    @click.option(
        "--url", help="Fusion's base URL; wins over FUSION_URL and the plan's fusion.url."
    )
    @click.option(
        "--report",
        default="fusion-run-report.json",
        show_default=True,
        metavar="PATH",
        help="Where to write the JSON report; rewritten after every change while the plan runs.",
    )
    @click.option(
        "--max-parallel",
        type=click.IntRange(min=1),
        help="At most this many runs at once (overrides the plan's max_parallel).",
    )
    @click.option(
        "--junit",
        metavar="PATH",
        help="Also write the outcome as JUnit XML (one testcase per step), for Jenkins and GitLab.",
    )
    @click.option(
        "--html",
        metavar="FILE",
        help="Also write the report as one self-contained HTML page (timeline, dependency graph, "
        "each step's attempts and evidence), at the end of the run and when interrupted.",
    )
    @click.option(
        "--quiet",
        "-q",
        is_flag=True,
        help="Print only warnings, the reasons of the steps that failed, and the outcome.",
    )
    @click.option(
        "--verbose",
        "-v",
        is_flag=True,
        help="Also print each request to Fusion with its HTTP status and how long it took, and "
        "each run's final status as Fusion returned it.",
    )
    @click.option(
        "--heartbeat",
        default="5m",
        show_default=True,
        metavar="DURATION",
        help="Without a terminal (CI logs), print a line for each active run at the first status "
        "read after every DURATION of its age, with Fusion's state and counters; 0 turns it off.",
    )
    @click.option(
        "--emulate",
        is_flag=True,
        help="Run against the built-in Fusion emulator instead of Fusion: a rehearsal.",
    )
    @click.option(
        "--scenario",
        metavar="FILE",
        help="With --emulate: a scenario that scripts the jobs' runs and faults.",
    )
    @click.option(
        "--resume",
        metavar="REPORT",
        help="Carry on from an earlier report: keep what succeeded, follow runs it left active, "
        "run the rest.",
    )
    @click.option(
        "--select",
        multiple=True,
        metavar="STEP",
        help="Run only STEP; +STEP also runs every step upstream of it, STEP+ every step "
        "downstream. STEP may be tag:TAG (the steps tagged TAG) or a glob such as 'crawl-*'. The "
        "others are not run and do not fail the plan. Repeatable.",
    )
    @click.option(
        "--exclude",
        multiple=True,
        metavar="STEP",
        help="Leave STEP out (+STEP, STEP+ as for --select), after --select. Repeatable.",
    )
    @click.option(
        "--from",
        "start_from",
        metavar="STEP",
        help="Of the steps selected, run only STEP and every step downstream of it.",
    )
    @click.option(
        "--force", is_flag=True, help="With --resume: resume even though the plan changed."
    )
    @click.option(
        "--detach",
        is_flag=True,
        help="On Ctrl-C or SIGTERM, leave active runs going in Fusion (as on_interrupt: detach).",
    )
    @click.option(
        "--push-metrics",
        metavar="URL",
        help="When the plan ends (or is interrupted), push its outcome and each step's to the "
        "Prometheus Pushgateway at URL, grouped by job fusion-run and the plan's name. Basic "
        "auth from FUSION_RUN_PUSHGATEWAY_USER and FUSION_RUN_PUSHGATEWAY_PASSWORD. A failed "
        "push is a warning. Needs the metrics extra.",
    )
    @click.option(
        "--otel",
        is_flag=True,
        help="Export the plan as an OpenTelemetry trace over OTLP/HTTP, to "
        "OTEL_EXPORTER_OTLP_ENDPOINT or http://localhost:4318 (on by itself when that variable is "
        "set). Needs pip install 'fusion-run[otel]'.",
    )
    @click.option(
        "--traceback", "show_traceback", is_flag=True, help="Show tracebacks of internal errors."
    )
    @click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="How a run writes its events on stderr: lines for people, or JSON Lines (one "
        "object per event, schemas/events.schema.json) for programs.",
    )
    @click.version_option(__version__, "--version", prog_name="fusion-run")
    def main(  # noqa: PLR0917 - click passes each option by position
        plans: tuple[str, ...],
        validate: bool,
        dry_run: bool,
        check: bool,
        graph: Literal["mermaid", "dot", "gantt"] | None,  # as click.Choice gives them
        output_format: Literal["text", "json"],
        variables: tuple[str, ...],
        target: str | None,
        url: str | None,
        report: str,
        max_parallel: int | None,
        quiet: bool,
        emulate: bool,
        scenario: str | None,
        resume: str | None,
        select: tuple[str, ...],
        exclude: tuple[str, ...],
        start_from: str | None,
        force: bool,
        detach: bool,
        verbose: bool,
        heartbeat: str,
        junit: str | None,
        show_traceback: bool,
        push_metrics: str | None,
        otel: bool,
        html: str | None,
        log_format: Literal["text", "json"],
    ) -> None:
        """Run the Lucidworks Fusion jobs of PLAN in dependency order and report how they ended.

        Credentials come from the environment only: FUSION_USER and FUSION_PASSWORD, FUSION_API_KEY,
        or FUSION_TOKEN, as the plan's fusion.auth says.
        """
        chosen = [
            name
            for name, on in (
                ("--validate", validate),
                ("--dry-run", dry_run),
                ("--check", check),
                ("--graph", graph),
            )
            if on
        ]
        if len(chosen) > 1:
            raise click.UsageError(f"choose one of {', '.join(chosen)}")
        action = Action(chosen[0].removeprefix("--")) if chosen else Action.RUN
        options = Options(
            plans=plans,
            action=action,
            graph=graph,
            output_format=output_format,
            variables=_parse_variables(variables),
            target=target,
            url=url,
            show_traceback=show_traceback,
            report=report,
            max_parallel=max_parallel,
            quiet=quiet,
            emulate=emulate,
            scenario=scenario,
            resume=resume,
            force=force,
            detach=detach,
            verbose=verbose,
            junit=junit,
            select=select,
            exclude=exclude,
            start_from=start_from,
            heartbeat=_parse_heartbeat(heartbeat),
            report_given=_given("report"),
            format_given=_given("output_format"),
            heartbeat_given=_given("heartbeat"),
            push_metrics=push_metrics,
            otel=otel,
            html=html,
            log_format=log_format,
            log_format_given=_given("log_format"),
        )
        # A clock given as the context's object (`CliRunner().invoke(main, args, obj=clock)`, as
        # the tests do) is the one the command waits on; fusion-run itself gives none.
        _run(options, clock=click.get_current_context().obj)

    return main


def _run(options: Options, *, clock: WakingClock | None = None) -> NoReturn:
    redact = Redactor.from_environ(os.environ)
    sys.exit(
        guarded(
            lambda: execute(options, redact=redact, clock=clock),
            show_traceback=options.show_traceback,
            clean=redact.line,
            log_format=options.log_format,
        )
    )


def validate_only(args: list[str], environ: Mapping[str, str]) -> Options | None:
    """The options of `fusion-run PLAN... --validate` with nothing else on the command line, which
    CI runs most and which needs no option parser; None for any other command line, which click
    parses. click would read these the same way: plans that are not options, every other option
    at its default (no shell completion asked for, and Windows' wildcards left to click)."""
    plans = tuple(arg for arg in args if arg != "--validate")
    if not plans or len(plans) == len(args) or os.name == "nt":
        return None
    if any(not plan or plan.startswith("-") for plan in plans):
        return None
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in environ):
        return None
    return Options(plans=plans, action=Action.VALIDATE)


def __getattr__(name: str) -> click.Command:
    """`main`, the click command, built when first asked for."""
    if name == "main":
        return _command()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _json_log(args: list[str]) -> bool:
    """The command line asks for --log-format json (before `--`, which ends the options)."""
    words = args[: args.index("--")] if "--" in args else args
    pairs = zip(words, [*words[1:], ""], strict=True)
    return "--log-format=json" in words or ("--log-format", "json") in pairs


def _parse_as_json_log(args: list[str]) -> NoReturn:
    """Run the command as click would, but for a command line click refuses (an unknown option,
    a value it cannot read): with --log-format json, that refusal is an `error` object too."""
    import click  # noqa: PLC0415

    from runner.report.jsonlog import error_line  # noqa: PLC0415

    try:
        _command().main(args, prog_name="fusion-run", standalone_mode=False)
    except click.UsageError as refused:
        clean = Redactor.from_environ(os.environ).line
        echo(
            error_line(ExitCode.INVALID, f"fusion-run: {refused.format_message()}", clean=clean),
            err=True,
        )
        sys.exit(ExitCode.INVALID)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        _aborted()
    sys.exit(0)  # --help and --version, which print and return


def _aborted() -> NoReturn:
    """End as click's command ends on Ctrl-C or end of input at a prompt."""
    echo("", err=True)
    echo("Aborted!", err=True)
    sys.exit(1)


def entry() -> None:
    """The `fusion-run` command. Once it has its exit code, no signal may change it: SIGINT
    and SIGTERM are ignored from then until the process is gone (its report is final).

    `fusion-run PLAN... --validate` alone runs without click, the biggest import of its start-up;
    it ends as click's command would (see `validate_only`). `fusion-run report ...` is the command
    that renders an earlier report (`runner.cli.report`)."""
    import signal  # noqa: PLC0415

    from runner.signals import SIGNALS  # noqa: PLC0415

    try:
        if sys.argv[1:2] == ["report"]:  # a plan file named `report` is `./report`
            from runner.cli.report import command  # noqa: PLC0415

            command()(sys.argv[2:], prog_name="fusion-run report")
        options = validate_only(sys.argv[1:], os.environ)
        if options is None and _json_log(sys.argv[1:]):
            _parse_as_json_log(sys.argv[1:])
        elif options is None:
            _command()()
        else:
            try:
                _run(options)
            except (EOFError, KeyboardInterrupt):  # as click's command ends on them
                _aborted()
    finally:
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
