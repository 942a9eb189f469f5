"""Files into records: a plan is read, checked and built here, and nowhere else.

`load_plan` reads the YAML with positions (`runner.plan.source`), expands each `for_each`
(`runner.plan.expand`), validates it against the schema and the semantic rules
(`runner.plan.validate`), and builds the frozen records of `runner.plan`; any
problem raises `InvalidPlan` with all of them. `validate_file` is --validate's lenient twin: a
variable set nowhere is noted, not refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.durations import parse_duration
from runner.jobs import job_kind
from runner.plan import (
    AUTO_POLL_CEILING,
    DEFAULT_MAX_PARALLEL,
    DEFAULT_MAX_REQUESTS_PER_SECOND,
    DEFAULT_STATES,
    DEFAULTS,
    AllowedFailures,
    Auth,
    Call,
    CallKind,
    FusionSettings,
    Gate,
    OnInterrupt,
    OnRunning,
    OnStall,
    Plan,
    RetryOn,
    RunIf,
    Schedules,
    SparkStart,
    Step,
    Success,
    WarnAfter,
)
from runner.plan.calls import shown_host, shown_path
from runner.plan.expand import expand
from runner.plan.problems import InvalidPlan, Problem
from runner.plan.source import Document, parse, read_text
from runner.plan.validate import step_name, validate


def load_plan(
    path: str,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    target: str | None = None,
) -> Plan:
    """The plan at `path`, with `target` (else its `default_target:`) and the variables given."""
    import hashlib  # noqa: PLC0415 - 3 ms that --validate need not wait

    text = read_text(path)
    doc = parse(text, path, variables=variables, environ=environ, target=target, choose=True)
    expansion = expand(doc)
    problems = expansion.restore(validate(expansion.doc))
    if problems:
        raise InvalidPlan(problems)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return build(expansion.doc, digest, made_by=expansion.written)


@dataclass(frozen=True, slots=True)
class Checked:
    steps: int
    notes: list[Problem]  # each value that could not be checked here: its variables are not set
    variables: frozenset[str]  # every name the plan declares under variables:
    from_for_each: int = 0  # how many of `steps` a for_each made


def validate_file(
    path: str,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    target: str | None = None,
) -> Checked:
    """What --validate says of the plan at `path`: as `load_plan`, but a value whose variables are
    set nowhere, CI's perhaps, is noted rather than refused; InvalidPlan carries the notes too.
    Without `target` or `default_target:`, a plan with targets is checked with each of them."""
    text = read_text(path)
    first = parse(
        text,
        path,
        variables=variables,
        environ=environ,
        unset_allowed=True,
        target=target,
    )
    expansion = expand(first)
    doc = expansion.doc
    problems = expansion.restore(validate(doc))
    if doc.target is None and doc.targets and not problems:
        return _validate_targets(path, doc, variables=variables, environ=environ)
    if problems:  # a value refused outright is not also "checked when the plan runs"
        refused = {problem.path for problem in problems}
        raise InvalidPlan(problems, notes=[n for n in doc.notes if n.path not in refused])
    if not doc.unset:  # with every value known, the plan builds as it will when it runs
        build(doc, sha256="", made_by=expansion.written)  # a digest for reports: not run
    return Checked(
        steps=len(doc.data["steps"]),
        notes=list(doc.notes),
        variables=doc.declared,
        from_for_each=expansion.from_for_each,
    )


def _validate_targets(
    path: str,
    first: Document,
    *,
    variables: Mapping[str, str] | None,
    environ: Mapping[str, str] | None,
) -> Checked:
    """--validate of a plan with targets and no default: the plan checked with each target, each
    problem said once, naming the targets it is found with unless it is found with all."""
    found: dict[Problem, list[str]] = {}
    notes: dict[Problem, None] = {}
    from_for_each = 0
    for name in first.targets:
        try:
            checked = validate_file(path, variables=variables, environ=environ, target=name)
        except InvalidPlan as invalid:
            for problem in invalid.problems:
                found.setdefault(problem, []).append(name)
            notes.update(dict.fromkeys(invalid.notes))
        else:
            notes.update(dict.fromkeys(checked.notes))
            from_for_each = checked.from_for_each
    if found:
        every = len(first.targets)
        raise InvalidPlan(
            [
                p
                if len(names) == every
                else replace(p, message=f"{p.message} (--target {', '.join(names)})")
                for p, names in found.items()
            ],
            notes=list(notes),
        )
    return Checked(
        steps=len(first.data["steps"]),
        notes=list(notes),
        variables=first.declared,
        from_for_each=from_for_each,
    )


def build(doc: Document, sha256: str, *, made_by: Mapping[int, str] | None = None) -> Plan:
    """Typed records from a document that validated cleanly; `made_by` names the for_each step
    each step it made comes from, by the step's index."""
    data: dict[str, Any] = doc.data
    defaults: dict[str, Any] = data.get("defaults", {})
    templates: dict[str, dict[str, Any]] = data.get("templates", {})
    fusion: dict[str, Any] = data.get("fusion", {})
    if doc.target is not None:  # the target's settings, each over the plan's own
        fusion = {**fusion, **data["targets"][doc.target].get("fusion", {})}
    steps: list[Step] = []
    previous: str | None = None
    for index, raw in enumerate(data["steps"]):
        settings: dict[str, Any] = {"job": raw} if isinstance(raw, str) else raw
        name = step_name(raw)
        assert name is not None  # validated
        line, column = doc.locate(("steps", index))
        shared = [*_extended(settings, templates), defaults]
        step = _build_step(
            settings, shared=shared, name=name, previous=previous, line=line, column=column
        )
        origin = (made_by or {}).get(index)
        steps.append(step if origin is None else replace(step, for_each=origin))
        previous = name
    stem = doc.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return Plan(
        file=doc.file,
        name=data.get("name", stem),
        sha256=sha256,
        fusion=FusionSettings(
            url=fusion.get("url"),
            api=fusion.get("api", "/api"),
            auth=Auth(fusion.get("auth", "auto")),
            verify=fusion.get("verify", True),
            spark_start=SparkStart(fusion.get("spark_start", "spark-api")),
            realm=fusion.get("realm", "native"),
            connect_timeout=parse_duration(fusion.get("connect_timeout", 10)),
            read_timeout=parse_duration(fusion.get("read_timeout", 60)),
            retry_budget=parse_duration(fusion.get("retry_budget", 300)),
            first_contact=parse_duration(fusion.get("first_contact", 30)),
            schedules=Schedules(fusion.get("schedules", "warn") or "off"),  # YAML reads off: false
            max_requests_per_second=fusion.get(
                "max_requests_per_second", DEFAULT_MAX_REQUESTS_PER_SECOND
            ),
        ),
        max_parallel=data.get("max_parallel", DEFAULT_MAX_PARALLEL),
        fail_fast=data.get("fail_fast", False),
        timeout=parse_duration(data["timeout"]) if "timeout" in data else None,
        on_interrupt=OnInterrupt(data.get("on_interrupt", "cancel")),
        steps=tuple(steps),
        variables=doc.declared,
        target=doc.target,
    )


def _extended(raw: dict[str, Any], templates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The templates a step names in `extends`, the one that wins first: the last named."""
    names = raw.get("extends", [])
    return [templates[name] for name in reversed([names] if isinstance(names, str) else names)]


def _resolved(key: str, sources: list[dict[str, Any]]) -> Any:
    """`key` from the first of `sources` that sets it, else its built-in default."""
    return next((source[key] for source in sources if key in source), DEFAULTS[key])


def _build_step(
    raw: dict[str, Any],
    *,
    shared: list[dict[str, Any]],
    name: str,
    previous: str | None,
    line: int,
    column: int,
) -> Step:
    """A step whose settings resolve from `raw`, then from `shared` (its templates, then the
    plan's defaults), then from `DEFAULTS`."""

    def setting(key: str) -> Any:
        return _resolved(key, [raw, *shared])

    def success(key: str) -> Any:
        return _resolved(key, [source.get("success", {}) for source in [raw, *shared]])

    implicit = "depends_on" not in raw
    depends_on = ([] if previous is None else [previous]) if implicit else raw["depends_on"]
    if "request" in raw or "webhook" in raw:
        return _build_call(raw, shared, name=name, depends_on=depends_on, line=line, column=column)
    if "require" in raw:
        return _build_gate(raw, shared, name=name, depends_on=depends_on, line=line, column=column)
    max_duration = success("max_duration")
    return Step(
        name=name,
        job=raw["job"],
        depends_on=tuple(depends_on),
        implicit_dependency=implicit and previous is not None,
        run_if=RunIf(setting("run_if")),
        timeout=parse_duration(setting("timeout")),
        poll_interval=_poll_interval(setting("poll_interval")),
        retries=setting("retries"),
        retry_delay=parse_duration(setting("retry_delay")),
        retry_backoff=float(setting("retry_backoff")),
        retry_on=frozenset(RetryOn(kind) for kind in setting("retry_on")),
        on_running=OnRunning(setting("on_running")),
        allow_failure=setting("allow_failure"),
        success=Success(
            states=tuple(success("states") or DEFAULT_STATES[job_kind(raw["job"])[0]]),
            max_duration=None if max_duration is None else parse_duration(max_duration),
            expect=tuple(success("expect")),
            warn=tuple(success("warn")),
            min_documents=success("min_documents"),
        ),
        line=line,
        column=column,
        warn_after=_warn_after(setting("warn_after")),
        stall_after=None if (stall := setting("stall_after")) is None else parse_duration(stall),
        on_stall=OnStall(setting("on_stall")),
        poll_auto=setting("poll_interval") == "auto",
        tags=tuple(setting("tags")),
        allowed_failures=AllowedFailures(setting("allowed_failures")),
    )


def _poll_interval(value: int | str) -> int:
    """poll_interval's seconds: those written, or with auto the longest wait between reads."""
    return AUTO_POLL_CEILING if value == "auto" else parse_duration(value)


def _warn_after(value: int | str | None) -> WarnAfter | None:
    """warn_after as written: a duration (45m), or a multiple of the last good run (3x)."""
    if value is None:
        return None
    if isinstance(value, str) and value.endswith("x"):
        return WarnAfter(times=float(value[:-1]))
    return WarnAfter(seconds=parse_duration(value))


def _build_gate(
    raw: dict[str, Any],
    shared: list[dict[str, Any]],
    *,
    name: str,
    depends_on: list[str],
    line: int,
    column: int,
) -> Step:
    """A `require:` step: it takes run_if, allowed_failures, allow_failure and success.states (its
    own, else its templates', else the plan's defaults), and none of the settings about a run
    (validation refuses them on it)."""
    job, previous_given = raw["require"]["job"], "depends_on" not in raw and bool(depends_on)
    states = _resolved("states", [source.get("success", {}) for source in [raw, *shared]])
    return Step(
        name=name,
        job=job,
        depends_on=tuple(depends_on),
        implicit_dependency=previous_given,
        run_if=RunIf(_resolved("run_if", [raw, *shared])),
        timeout=parse_duration(DEFAULTS["timeout"]),
        poll_interval=_poll_interval(DEFAULTS["poll_interval"]),
        retries=0,
        retry_delay=parse_duration(DEFAULTS["retry_delay"]),
        retry_backoff=float(DEFAULTS["retry_backoff"]),
        retry_on=frozenset(RetryOn(kind) for kind in DEFAULTS["retry_on"]),
        on_running=OnRunning(DEFAULTS["on_running"]),
        allow_failure=_resolved("allow_failure", [raw, *shared]),
        success=Success(
            states=tuple(states or DEFAULT_STATES[job_kind(job)[0]]),
            max_duration=None,
            expect=(),
        ),
        line=line,
        column=column,
        gate=Gate(succeeded_within=parse_duration(raw["require"]["succeeded_within"])),
        tags=tuple(_resolved("tags", [raw, *shared])),
        allowed_failures=AllowedFailures(_resolved("allowed_failures", [raw, *shared])),
    )


def _build_call(
    raw: dict[str, Any],
    shared: list[dict[str, Any]],
    *,
    name: str,
    depends_on: list[str],
    line: int,
    column: int,
) -> Step:
    """A `request:` or `webhook:` step: it takes run_if, allowed_failures, allow_failure, tags
    and the retry settings (its own, else its templates', else the plan's defaults), and its own
    success.expect and warn only (those of templates and defaults judge runs, not answers);
    nothing else about a run applies."""

    def setting(key: str) -> Any:
        return _resolved(key, [raw, *shared])

    call = _call(raw)
    label = (
        f"{call.method} {shown_path(call.target)}"
        if call.kind is CallKind.REQUEST
        else f"{call.method} {shown_host(call.target)}"
    )
    own = raw.get("success", {})
    return Step(
        name=name,
        job=label,
        depends_on=tuple(depends_on),
        implicit_dependency="depends_on" not in raw and bool(depends_on),
        run_if=RunIf(setting("run_if")),
        timeout=parse_duration(DEFAULTS["timeout"]),
        poll_interval=_poll_interval(DEFAULTS["poll_interval"]),
        retries=setting("retries"),
        retry_delay=parse_duration(setting("retry_delay")),
        retry_backoff=float(setting("retry_backoff")),
        retry_on=frozenset(RetryOn(kind) for kind in setting("retry_on")),
        on_running=OnRunning(DEFAULTS["on_running"]),
        allow_failure=setting("allow_failure"),
        success=Success(
            states=(),
            max_duration=None,
            expect=tuple(own.get("expect", ())),
            warn=tuple(own.get("warn", ())),
            min_documents=0,
        ),
        line=line,
        column=column,
        tags=tuple(setting("tags")),
        allowed_failures=AllowedFailures(setting("allowed_failures")),
        call=call,
    )


def _call(raw: dict[str, Any]) -> Call:
    """The request a `request:` or `webhook:` step sends, as written."""
    if "request" in raw:
        given, kind, target = raw["request"], CallKind.REQUEST, raw["request"]["path"]
        body = given.get("body")
    else:
        given, kind, target = raw["webhook"], CallKind.WEBHOOK, raw["webhook"]["url"]
        body = given.get("body", {})
    return Call(
        kind=kind,
        method=given.get("method", "GET") if kind is CallKind.REQUEST else "POST",
        target=target,
        params=tuple((str(k), _param(v)) for k, v in given.get("params", {}).items()),
        body=None if body is None else json.dumps(body, sort_keys=False),
        headers=tuple((str(k), str(v)) for k, v in given.get("headers", {}).items()),
        statuses=tuple(given.get("status", ())),
        repeat_safe=given.get("repeat_safe", False),
    )


def _param(value: Any) -> str:
    """A query parameter's value as sent: booleans as JSON writes them."""
    return json.dumps(value) if isinstance(value, bool) else str(value)
