"""Which options go together: a combination that means nothing is refused, never ignored.

Every option is checked against the action (a run, --check, --validate, --dry-run, --graph) and
against the other options, before any file is read; an output that would overwrite an input is
refused before anything is written; a --var the plan does not declare is refused once the plan is
read.
Each refusal is one line naming both sides, and exit code 2 (`UsageError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from runner.commands.options import Action, Options
from runner.errors import UsageError
from runner.report.paths import file_in_the_way

RUN, CHECK, VALIDATE = Action.RUN, Action.CHECK, Action.VALIDATE
DRY_RUN, GRAPH = Action.DRY_RUN, Action.GRAPH
_NAMES = {
    RUN: "a run",
    CHECK: "--check",
    VALIDATE: "--validate",
    DRY_RUN: "--dry-run",
    GRAPH: "--graph",
}

# The actions each option means something to; every other action refuses it.
GOES_WITH: dict[str, tuple[Action, ...]] = {
    "--format": (VALIDATE, DRY_RUN, CHECK),
    "--url": (RUN, CHECK, DRY_RUN),
    "--report": (RUN, GRAPH),
    "--max-parallel": (RUN, DRY_RUN, GRAPH),
    "--junit": (RUN,),
    "--quiet": (RUN, CHECK),
    "--verbose": (RUN, CHECK),
    "--emulate": (RUN, CHECK),
    "--scenario": (RUN, CHECK),
    "--resume": (RUN,),
    "--force": (RUN,),
    "--detach": (RUN,),
    "--select": (RUN, CHECK, DRY_RUN, GRAPH),
    "--exclude": (RUN, CHECK, DRY_RUN, GRAPH),
    "--from": (RUN, CHECK, DRY_RUN, GRAPH),
    "--heartbeat": (RUN,),
    "--push-metrics": (RUN,),
    "--otel": (RUN,),
    "--html": (RUN,),
    "--log-format": (RUN,),
}


def given(options: Options) -> list[str]:
    """The options of `GOES_WITH` that the command line gave, in that table's order."""
    present = {
        "--format": options.format_given,
        "--url": options.url is not None,
        "--report": options.report_given,
        "--max-parallel": options.max_parallel is not None,
        "--junit": options.junit is not None,
        "--quiet": options.quiet,
        "--verbose": options.verbose,
        "--emulate": options.emulate,
        "--scenario": options.scenario is not None,
        "--resume": options.resume is not None,
        "--force": options.force,
        "--detach": options.detach,
        "--select": bool(options.select),
        "--exclude": bool(options.exclude),
        "--from": options.start_from is not None,
        "--heartbeat": options.heartbeat_given,
        "--push-metrics": options.push_metrics is not None,
        "--otel": options.otel,
        "--html": options.html is not None,
        "--log-format": options.log_format_given,
    }
    return [flag for flag in GOES_WITH if present[flag]]


def check_options(options: Options, environ: Mapping[str, str] | None = None) -> None:
    """UsageError for the first option that means nothing here, or that contradicts another."""
    action = options.action
    if action is not VALIDATE and len(options.plans) != 1:
        raise UsageError(f"give one plan to {action}, not {len(options.plans)}")
    flags = given(options)
    if action is VALIDATE and options.log_format_given:
        raise UsageError(
            "--log-format is for a run's events: --validate writes its problems as JSON with "
            "--format json"
        )
    for flag in flags:
        if action not in GOES_WITH[flag]:
            *others, last = (_NAMES[a] for a in GOES_WITH[flag])
            where = f"{', '.join(others)} or {last}" if others else last
            raise UsageError(f"{flag} does nothing with {_NAMES[action]}: use it with {where}")
    if options.quiet and options.verbose:
        raise UsageError("--quiet and --verbose contradict each other: choose one")
    if options.quiet and options.heartbeat_given and options.heartbeat > 0:
        raise UsageError(
            "--quiet and --heartbeat contradict each other: --quiet prints no heartbeat; choose one"
        )
    if options.graph == "gantt" and not options.report_given:
        raise UsageError("--graph gantt draws the runs of a report: give the report with --report")
    shaping = ("--select", "--exclude", "--from", "--max-parallel")
    if options.graph == "gantt" and (shaped := next((f for f in flags if f in shaping), None)):
        raise UsageError(
            f"{shaped} does nothing with --graph gantt, which draws the runs a report holds: "
            "use it with --graph mermaid or dot"
        )
    if options.quiet and options.log_format == "json":
        raise UsageError(
            "--quiet does nothing with --log-format json, which writes every event: "
            "choose one, or filter the JSON lines (jq)"
        )
    if options.scenario and not options.emulate:
        raise UsageError("--scenario scripts the emulator: use it with --emulate")
    if options.url is not None and options.emulate:
        raise UsageError("--url does nothing with --emulate: the emulator has its own URL")
    if options.force and not options.resume:
        raise UsageError("--force goes with --resume")
    if action is RUN:
        _check_outputs(options, environ or {})
    if options.push_metrics is not None:
        from runner.report.push import gateway  # noqa: PLC0415

        gateway(options.push_metrics, environ or {})


def _check_outputs(options: Options, environ: Mapping[str, str]) -> None:
    """No output may overwrite an input. The report may be the one --resume reads: that is
    where a run writes it by default, and what a resume carries on. GitHub's step summary is
    appended to, which would spoil any of these files as surely."""
    inputs = [(options.plans[0], "the plan", "the plan")]
    if options.scenario:
        inputs.append((options.scenario, "the --scenario file", "the scenario"))
    _refuse_overwrite("--report", options.report, inputs)
    inputs.append((options.report, "the --report file", "the report"))
    if options.resume:
        inputs.append((options.resume, "the --resume report", "the report it resumes from"))
    if options.junit is not None:
        _refuse_overwrite("--junit", options.junit, inputs)
        inputs.append((options.junit, "the --junit file", "the JUnit file"))
    if options.html is not None:
        _refuse_overwrite("--html", options.html, inputs)
        inputs.append((options.html, "the --html file", "the HTML report"))
    outputs = (("--report", options.report), ("--junit", options.junit), ("--html", options.html))
    for flag, output in outputs:
        if output is not None and (why := not_writable(output, replaced=True)):
            raise UsageError(f"{flag} {output}: {why}")
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary and environ.get("GITHUB_ACTIONS") == "true":
        if why := not_writable(summary, replaced=False):
            raise UsageError(f"GITHUB_STEP_SUMMARY {summary}: {why}")
        _refuse_overwrite(
            "GITHUB_STEP_SUMMARY",
            summary,
            inputs,
            harm="the summary appended there would spoil",
            fix="point it at another file",
        )


def _refuse_overwrite(
    flag: str,
    output: str,
    inputs: Iterable[tuple[str, str, str]],
    *,
    harm: str = "writing there would overwrite",
    fix: str = "choose another path",
) -> None:
    for path, what, it in inputs:
        if same_file(output, path):
            raise UsageError(f"{flag} {output} is {what}: {harm} {it}; {fix}")


def not_writable(path: str, *, replaced: bool) -> str | None:
    """Why `path` can never be written as a file, found before the run rather than after it: it
    is a folder, or goes through a file, or (for a file `replaced` whole, by a rename) it is a
    device, a pipe, a socket or a symbolic link, which the rename would destroy (`/dev/null`,
    `/dev/stdout`, as root). Other faults (permissions, a full disk) show at the first write."""
    place = Path(path)
    if not path:
        return "the path is empty: name a file"
    try:
        if place.is_dir():
            return "it is a folder: name a file in it"
        if replaced and place.is_symlink():
            return "it is a symbolic link, which writing would replace: name the file itself"
        if replaced and place.exists() and not place.is_file():
            return "it is not a regular file (a device, a pipe or a socket): name a file"
        blocking = file_in_the_way(place.parent)
    except OSError as error:  # a loop of symbolic links, a name too long
        return f"{error.strerror or error}: choose another path"
    return None if blocking is None else f"{blocking} is a file, not a folder: choose another path"


def same_file(one: str, other: str) -> bool:
    """The same file, however it is spelt: resolved paths (symbolic links followed), or, when
    both exist, one file under two names (a hard link)."""
    try:
        return Path(one).resolve() == Path(other).resolve() or Path(one).samefile(other)
    except (OSError, RuntimeError):  # missing, or a loop of symbolic links
        return False
