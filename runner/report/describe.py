"""The resolved plan in words, for --dry-run: what each step waits for, its limits, its criteria,
which steps the selection leaves in, and when each would start."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from runner.durations import format_duration
from runner.engine.calling import call_record
from runner.engine.scheduler import Scheduler
from runner.outcomes import Outcome
from runner.plan import (
    AllowedFailures,
    Call,
    CallKind,
    OnRunning,
    OnStall,
    Plan,
    RetryOn,
    RunIf,
    Step,
)
from runner.plan.calls import shown_host, shown_path

RUN_IF_WORDS = {
    RunIf.ALL_SUCCESS: "runs if all succeed",
    RunIf.ALL_DONE: "runs once all are done, however they end",
    RunIf.AT_LEAST_ONE_SUCCESS: "runs if at least one succeeds",
    RunIf.NONE_FAILED: "runs if none fails and at least one ran",
    RunIf.AT_LEAST_ONE_FAILED: "runs if at least one fails",
    RunIf.ALL_FAILED: "runs if all fail",
}
ON_RUNNING_WORDS = {
    OnRunning.WAIT: "is waited for, then the step starts its own",
    OnRunning.ADOPT: "is adopted as the step's run",
    OnRunning.FAIL: "fails the step",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Order:
    """When the steps would start if every step that starts succeeds."""

    waves: list[list[str]]  # the steps that start together, in plan order within a wave
    on_failure: list[str]  # not started then: failure handlers and the steps that wait on them
    left_out: list[str]  # not selected: not run, counted as succeeded by the steps after them


def start_order(plan: Plan, selected: Collection[str] | None = None) -> Order:
    """What the scheduler of a run would start, wave by wave, when every step it starts succeeds;
    the steps --select and --exclude leave out count as succeeded, as in a run."""
    scheduler = Scheduler(plan.steps, max_parallel=len(plan.steps))
    left_out = [s.name for s in plan.steps if selected is not None and s.name not in selected]
    skipped = [skip.name for skip in scheduler.settle((), left_out)]
    waves: list[list[str]] = []
    while ready := scheduler.ready():
        waves.append(ready)
        for name in ready:
            skipped += [skip.name for skip in scheduler.finished(name, Outcome.SUCCEEDED)]
    order = {step.name: index for index, step in enumerate(plan.steps)}
    return Order(waves=waves, on_failure=sorted(skipped, key=order.__getitem__), left_out=left_out)


def describe(
    plan: Plan,
    *,
    url: str | None,
    url_source: str,
    selected: Collection[str] | None = None,
    max_parallel: int | None = None,
) -> str:
    """The dry run's text; `selected` as --select, --exclude and --from leave it (None: every
    step), `max_parallel` as --max-parallel sets it (None: the plan's)."""
    fusion = plan.fusion
    where = (
        f"{url}{fusion.api} (from {url_source})" if url else "no URL yet: set --url or FUSION_URL"
    )
    if isinstance(fusion.verify, str):
        tls = f"verified with {fusion.verify}"
    else:
        tls = "verified" if fusion.verify else "NOT verified"
    limit = format_duration(plan.timeout) if plan.timeout else "none"
    parallel = plan.max_parallel if max_parallel is None else max_parallel
    target = "" if plan.target is None else f", target {plan.target}"
    lines = [
        f"plan {plan.name} ({plan.file}, sha256 {plan.sha256[:12]}{target})",
        f"fusion: {where}; auth {fusion.auth}; TLS {tls}",
        f"at most {parallel} runs at once{'' if max_parallel is None else ' (--max-parallel)'}; "
        f"fail_fast {'on' if plan.fail_fast else 'off'}; plan timeout {limit}",
    ]
    order = start_order(plan, selected)
    if order.left_out:
        chosen = len(plan.steps) - len(order.left_out)
        lines.append(
            f"selected: {chosen} of {len(plan.steps)} steps; the others are not run, and count "
            "as succeeded for the steps after them"
        )
    lines += ["", "steps:"]
    for step in plan.steps:
        if step.name in order.left_out:
            lines += [_head(step), "    not selected"]
        else:
            lines += _describe_step(step)
    lines += ["", "start order, if every step succeeds:"]
    checks = {step.name for step in plan.steps if step.gate is not None}
    for number, wave in enumerate(order.waves, start=1):
        named = ", ".join(f"{name} (checked)" if name in checks else name for name in wave)
        more = f" ({parallel} at a time)" if len(wave) > parallel else ""
        lines.append(f"  {number}. {named}{more}")
    if order.on_failure:
        lines += [
            "",
            "started only if a step fails (failure handlers, and the steps that wait for them):",
        ]
        lines += [f"  {name}: waits for {_waits(plan.step(name))}" for name in order.on_failure]
    return "\n".join(lines) + "\n"


def _head(step: Step) -> str:
    if step.gate is not None:
        return f"  {step.name} (checks job {step.job}, starts nothing)"
    return f"  {step.name}" + ("" if step.name == step.job else f" (job {step.job})")


def _waits(step: Step) -> str:
    if not step.depends_on:
        return "nothing"
    if step.implicit_dependency:
        waits = f"{step.depends_on[0]}, the step listed before it; {RUN_IF_WORDS[step.run_if]}"
    else:
        waits = f"{', '.join(step.depends_on)}; {RUN_IF_WORDS[step.run_if]}"
    if step.allowed_failures is AllowedFailures.FAIL:
        waits += " (a failure allowed upstream counts as failed)"
    return waits


def _retries(step: Step) -> str:
    """`retries 2, 30s apart, x2 each time, after state or timeout`"""
    if not step.retries:
        return "retries 0"
    words = f"retries {step.retries}, {format_duration(step.retry_delay)} apart"
    if step.retry_backoff != 1:
        words += f", x{step.retry_backoff:g} each time"
    kinds = [kind for kind in RetryOn if kind in step.retry_on]
    return f"{words}, after {' or '.join(kinds)}"


def _describe_step(step: Step) -> list[str]:
    head, waits, retries = _head(step), _waits(step), _retries(step)
    criteria = [f"state in [{', '.join(step.success.states)}]"]
    if step.success.max_duration is not None:
        criteria.append(f"took at most {format_duration(step.success.max_duration)}")
    criteria += step.success.expect
    least = step.success.min_documents
    if least:
        criteria.append(f"at least {least} document{'' if least == 1 else 's'}")
    warnings = [f"unless {expression}" for expression in step.success.warn]  # and the work
    # check, by default: said in the plan reference, not on every step
    if step.warn_after is not None:
        late = step.warn_after
        warnings.append(
            f"if it runs longer than {late.times:g}x its last good run"
            if late.times is not None
            else f"if it runs longer than {format_duration(late.seconds or 0)}"
        )
    lines = [
        head,
        f"    waits for: {waits}",
        f"    timeout {format_duration(step.timeout)}; polls at most "
        f"{format_duration(step.poll_interval)} apart; {retries}",
        f"    success: {'; '.join(criteria)}",
    ]
    if warnings:
        lines.append(f"    warns: {'; '.join(warnings)}")
    if step.stall_after is not None:
        then = "cancels it" if step.on_stall is OnStall.CANCEL else "a warning"
        lines.append(
            f"    stalled when no counter moved for {format_duration(step.stall_after)}: {then}"
        )
    if step.gate is not None:  # read once: no run, so no timeout, polls or retries
        within = format_duration(step.gate.succeeded_within)
        lines[2:] = [  # no work check, no warnings: it has no run
            f"    success: a run ended in a state in [{', '.join(step.success.states)}] "
            f"within {within} before the check"
        ]
    elif step.call is not None:  # one request: no run, so no polls and no work check
        lines[0] = f"  {step.name} ({_sends(step.call)})"
        lines[2:] = [
            f"    {retries}",
            f"    success: {'; '.join([_accepted(step.call), *step.success.expect])}",
            *lines[4:5],  # its warns, if any
        ]
    else:
        lines.append(
            f"    on_running {step.on_running}: a run of its job already going "
            f"{ON_RUNNING_WORDS[step.on_running]}"
        )
    if step.allow_failure:
        lines.append("    allowed to fail: its failure does not fail the plan")
    return lines


DRY_RUN_FORMAT, DRY_RUN_VERSION = "fusion-run-dry-run", 1


def dry_run_document(
    plan: Plan,
    *,
    url: str | None,
    url_source: str,
    selected: Collection[str] | None = None,
    max_parallel: int | None = None,
) -> dict[str, Any]:
    """The dry run as JSON (`--dry-run --format json`): what `describe` says, as data. Durations
    in seconds; a new field may be added within a version, none removed or changed."""
    fusion, order = plan.fusion, start_order(plan, selected)
    return {
        "format": DRY_RUN_FORMAT,
        "version": DRY_RUN_VERSION,
        "plan": {"name": plan.name, "file": plan.file, "sha256": plan.sha256},
        "fusion": {
            "url": url,
            "url_source": url_source,
            "api": fusion.api,
            "auth": str(fusion.auth),
            "verify": fusion.verify,
        },
        "max_parallel": plan.max_parallel if max_parallel is None else max_parallel,
        "fail_fast": plan.fail_fast,
        "timeout": plan.timeout,
        "selected": None
        if selected is None
        else [s.name for s in plan.steps if s.name in selected],
        "steps": [
            _step_document(step, selected=step.name not in order.left_out) for step in plan.steps
        ],
        "start_order": order.waves,
        "on_failure": order.on_failure,
    }


def _step_document(step: Step, *, selected: bool) -> dict[str, Any]:
    success = step.success
    warn_after = step.warn_after
    return {
        "name": step.name,
        "job": step.job,
        "selected": selected,
        "checks_only": step.gate is not None,
        "succeeded_within": None if step.gate is None else step.gate.succeeded_within,
        "tags": list(step.tags),
        "depends_on": list(step.depends_on),
        "implicit_dependency": step.implicit_dependency,
        "run_if": str(step.run_if),
        "timeout": step.timeout,
        "poll_interval": step.poll_interval,
        "poll_auto": step.poll_auto,
        "retries": step.retries,
        "retry_delay": step.retry_delay,
        "retry_backoff": step.retry_backoff,
        "retry_on": [str(kind) for kind in RetryOn if kind in step.retry_on],
        "on_running": str(step.on_running),
        "allow_failure": step.allow_failure,
        "success": {
            "states": list(success.states),
            "max_duration": success.max_duration,
            "expect": list(success.expect),
            "warn": list(success.warn),
            "min_documents": success.min_documents,
        },
        "warn_after": None
        if warn_after is None
        else {"seconds": warn_after.seconds, "times": warn_after.times},
        "stall_after": step.stall_after,
        "on_stall": str(step.on_stall),
        "allowed_failures": str(step.allowed_failures),
        "call": None if step.call is None else call_record(step.call).to_dict(),
    }


def _sends(call: Call) -> str:
    """What a request or webhook step sends, as outputs may show it: the method and the path
    (with the names of its query parameters), or the webhook's host; never a value or header."""
    if call.kind is CallKind.WEBHOOK:
        return f"webhook: POST to {shown_host(call.target)}"
    names = [name for name, _ in call.params]
    query = f" with parameters {', '.join(names)}" if names else ""
    body = ", a JSON body" if call.body is not None else ""
    safe = "" if call.may_repeat else "; not sent again if its answer is lost"
    return f"request: {call.method} {shown_path(call.target)}{query}{body}{safe}"


def _accepted(call: Call) -> str:
    if not call.statuses:
        return "answer status 2xx"
    return f"answer status in [{', '.join(str(status) for status in call.statuses)}]"
