"""`fusion-run PLAN --check`: is the plan ready to run against this Fusion, as `terraform plan`
asks before `apply`? Nothing is started and no report is written.

It reaches Fusion (or the emulator) as a run would (`runner.commands.run.connect`), with the same
credentials, and asks through the engine's preflight (`runner.engine.preflight.survey`), so faults
are ridden out the same way. It prints one line per step on stderr: whether its job exists, whether
a run of it is going now, and what the step's on_running would do about that; then one line for
each trigger of Fusion's own scheduler that may start a plan job during the plan
(`runner.engine.preflight.check_schedules`); then one line for the plan. Exit 0 ready, 2 a job
missing (or such a trigger, with fusion.schedules: fail), 3 Fusion out of reach or the credentials
refused. With `--format json`, the same as one JSON document on stdout (`check_document`); the
warnings stay on stderr.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any

import click

from runner import wording
from runner.clock import SystemClock, WakingClock
from runner.commands.loading import load
from runner.commands.options import Options
from runner.commands.run import connect
from runner.durations import format_duration
from runner.engine import Unreachable
from runner.engine.preflight import Readiness, check_schedules, survey
from runner.errors import ExitCode, FatalError
from runner.events import Event, FusionMayStart
from runner.plan import CallKind, OnRunning, Plan, Schedules
from runner.reasons import TriggersFound
from runner.redact import Redactor, one_line
from runner.signals import catching_signals

ON_RUNNING = {
    OnRunning.WAIT: "would wait for it to end",
    OnRunning.ADOPT: "would adopt it as the step's run",
    OnRunning.FAIL: "would fail the step",
}


def main(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    *,
    clock: WakingClock | None = None,
) -> int:
    """Survey Fusion on `clock` (the real one unless given), as `runner.commands.run` runs."""
    loaded = load(options, environ)
    plan, url, selected = loaded.plan, loaded.url, loaded.selected

    def say(line: str) -> None:  # one line each: Fusion's words may hold a newline and `::error`
        click.echo(one_line(line), err=True)

    def warn(event: Event) -> None:
        say(f"fusion-run: {wording.line(event)}")

    def warn_unread(event: Event) -> None:  # the triggers found are printed with the steps
        if not isinstance(event, FusionMayStart):
            warn(event)

    log = (lambda line: say(f"        {line}")) if options.verbose else None
    clock = SystemClock() if clock is None else clock
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
        try:
            found = survey(
                plan,
                fusion,
                clock,
                rng=random.Random(),
                interrupts=interrupts,
                emit=warn,
                warn=warn,
                only=selected,
            )
            scheduled = check_schedules(
                plan,
                fusion,
                clock,
                rng=random.Random(),
                interrupts=interrupts,
                emit=warn,
                warn=warn_unread,
                only=selected,
            )
        except Unreachable as unreachable:
            raise FatalError(wording.text(unreachable.reason)) from None
    where = f"the emulator at {url}" if options.emulate else f"Fusion at {url}{plan.fusion.api}"
    missing = any(readiness.exists is False for readiness in found)
    stops = bool(scheduled) and plan.fusion.schedules is Schedules.FAIL
    if stops and not missing:
        why = wording.text(TriggersFound(count=len(scheduled)))
        closing = f"plan {plan.name} is not ready: {why}; nothing was started"
    else:
        closing = plan_line(plan.name, found, where)
    code = ExitCode.INVALID if missing or stops else ExitCode.SUCCEEDED
    if options.output_format == "json":
        document = check_document(plan, found, scheduled, url=url, closing=closing, ready=not code)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return code
    if not options.quiet:
        for readiness in found:
            say(step_line(readiness))
    for finding in scheduled:  # warnings: printed even with --quiet
        say(f"{finding.step} ({finding.job}): {wording.line(finding)}")
    if not options.quiet:
        say(budget_line(plan.fusion.max_requests_per_second))
    say(f"fusion-run: {closing}")
    return code


CHECK_FORMAT, CHECK_VERSION = "fusion-run-check", 1


def check_document(
    plan: Plan,
    found: list[Readiness],
    scheduled: Sequence[FusionMayStart],
    *,
    url: str,
    closing: str,
    ready: bool,
) -> dict[str, Any]:
    """`--check --format json`: what the lines say, as data. A new field may be added within a
    version, none removed or changed."""
    return {
        "format": CHECK_FORMAT,
        "version": CHECK_VERSION,
        "plan": {"name": plan.name, "file": plan.file, "sha256": plan.sha256},
        "url": url,
        "ready": ready,
        "steps": [
            {
                "name": readiness.step.name,
                "job": readiness.step.job,
                "selected": readiness.selected,
                "exists": readiness.exists,
                "running": None if readiness.active is None else readiness.active.label,
                "on_running": str(readiness.step.on_running),
                "text": one_line(step_line(readiness)),
            }
            for readiness in found
        ],
        "schedules": [
            {"step": finding.step, "job": finding.job, "text": one_line(wording.line(finding))}
            for finding in scheduled
        ],
        "max_requests_per_second": plan.fusion.max_requests_per_second,
        "text": one_line(closing),
    }


def step_line(readiness: Readiness) -> str:
    """`crawl (datasource:web): exists; running now (run 41pjso2krv): on_running wait would ...`"""
    step = readiness.step
    head = f"{step.name} ({step.job})"
    if not readiness.selected:
        return f"{head}: not selected"
    if step.call is not None:  # it runs no job: nothing to read before it is sent
        kind = "a webhook" if step.call.kind is CallKind.WEBHOOK else "a request to Fusion"
        return f"{head}: {kind}, sent when due; nothing to check before"
    if readiness.exists is False:
        return f"{head}: no configuration in Fusion"
    exists = "exists" if readiness.exists else "not known to exist (configurations unreadable)"
    if step.gate is not None:  # a run going now changes nothing: it is checked, never started
        within = format_duration(step.gate.succeeded_within)
        states = " or ".join(step.success.states)
        needs = f"needs a run ended {states} within {within}"
        return f"{head}: {exists}; checked when due, never started: {needs}"
    active = readiness.active
    if active is None:
        return f"{head}: {exists}; not running"
    run = f" ({wording.run_words(active.label)})" if active.label else ""
    rule = step.on_running
    return f"{head}: {exists}; running now{run}: on_running {rule} {ON_RUNNING[rule]}"


def budget_line(rate: int) -> str:
    """`requests to Fusion: at most 10 a second, all steps together (...)`"""
    return (
        f"requests to Fusion: at most {rate} a second, all steps together "
        "(fusion.max_requests_per_second)"
    )


def plan_line(name: str, found: list[Readiness], where: str) -> str:
    jobs = {r.step.job: r for r in found if r.selected and r.step.call is None}  # no request
    missing = sum(readiness.exists is False for readiness in jobs.values())
    running = sum(readiness.active is not None for readiness in jobs.values())
    nothing = "nothing was started"
    if missing:
        return (
            f"plan {name} is not ready: {missing} of {len(jobs)} job(s) have no configuration "
            f"in {where}; {nothing}"
        )
    if any(readiness.exists is None for readiness in jobs.values()):
        return (
            f"plan {name} may be ready: {where} would not show the configurations of its "
            f"{len(jobs)} job(s); {running} running now; {nothing}"
        )
    which = "selected " if any(not readiness.selected for readiness in found) else ""
    return (
        f"plan {name} is ready: its {len(jobs)} {which}job(s) exist in {where}, "
        f"{running} running now; {nothing}"
    )
