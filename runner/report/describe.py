"""The resolved plan in words, for --dry-run: what each step waits for, its limits, its criteria."""

from __future__ import annotations

from runner.durations import format_duration
from runner.plan import Call, CallKind, OnStall, Plan, RunIf, Step
from runner.plan.calls import shown_host, shown_path
from runner.report.graph import waves

RUN_IF_WORDS = {
    RunIf.ALL_SUCCESS: "runs if all succeed",
    RunIf.ALL_DONE: "runs once all are done, however they end",
    RunIf.AT_LEAST_ONE_SUCCESS: "runs if at least one succeeds",
    RunIf.NONE_FAILED: "runs if none fails and at least one ran",
    RunIf.AT_LEAST_ONE_FAILED: "runs if at least one fails",
    RunIf.ALL_FAILED: "runs if all fail",
}


def describe(plan: Plan, *, url: str | None, url_source: str) -> str:
    fusion = plan.fusion
    where = (
        f"{url}{fusion.api} (from {url_source})" if url else "no URL yet: set --url or FUSION_URL"
    )
    if isinstance(fusion.verify, str):
        tls = f"verified with {fusion.verify}"
    else:
        tls = "verified" if fusion.verify else "NOT verified"
    limit = format_duration(plan.timeout) if plan.timeout else "none"
    lines = [
        f"plan {plan.name} ({plan.file}, sha256 {plan.sha256[:12]})",
        f"fusion: {where}; auth {fusion.auth}; TLS {tls}",
        f"at most {plan.max_parallel} runs at once; fail_fast {'on' if plan.fail_fast else 'off'}; "
        f"plan timeout {limit}",
        "",
        "steps:",
    ]
    for step in plan.steps:
        lines += _describe_step(step)
    lines += ["", "start order, if every step succeeds:"]
    checks = {step.name for step in plan.steps if step.gate is not None}
    named = [
        [f"{name} (checked)" if name in checks else name for name in wave] for wave in waves(plan)
    ]
    lines += [f"  {number}. {', '.join(wave)}" for number, wave in enumerate(named, start=1)]
    return "\n".join(lines) + "\n"


def _describe_step(step: Step) -> list[str]:
    head = f"  {step.name}" + ("" if step.name == step.job else f" (job {step.job})")
    if step.gate is not None:
        head = f"  {step.name} (checks job {step.job}, starts nothing)"
    if not step.depends_on:
        waits = "nothing"
    elif step.implicit_dependency:
        waits = f"{step.depends_on[0]}, the step listed before it; {RUN_IF_WORDS[step.run_if]}"
    else:
        waits = f"{', '.join(step.depends_on)}; {RUN_IF_WORDS[step.run_if]}"
    retries = f"retries {step.retries}"
    if step.retries:
        retries += f", {format_duration(step.retry_delay)} apart"
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
    if step.call is not None:  # one request: no run, so no polls and no work check
        lines[0] = f"  {step.name} ({_sends(step.call)})"
        lines[2:] = [
            f"    {retries}",
            f"    success: {'; '.join([_accepted(step.call), *step.success.expect])}",
            *lines[4:5],  # its warns, if any
        ]
    if step.allow_failure:
        lines.append("    allowed to fail: its failure does not fail the plan")
    return lines


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
