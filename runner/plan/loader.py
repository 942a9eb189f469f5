"""Files into records: a plan is read, checked and built here, and nowhere else.

`load_plan` reads the YAML with positions (`runner.plan.source`), validates it against the schema
and the semantic rules (`runner.plan.validate`), and builds the frozen records of `runner.plan`; any
problem raises `InvalidPlan` with all of them. `validate_file` is --validate's lenient twin: a
variable set nowhere is noted, not refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.durations import parse_duration
from runner.jobs import job_kind
from runner.plan import (
    AUTO_POLL_CEILING,
    DEFAULT_MAX_PARALLEL,
    DEFAULT_MAX_REQUESTS_PER_SECOND,
    DEFAULT_STATES,
    DEFAULTS,
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
from runner.plan.problems import InvalidPlan, Problem
from runner.plan.source import Document, parse, read_text
from runner.plan.validate import step_name, validate


def load_plan(
    path: str,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    import hashlib  # noqa: PLC0415 - 3 ms that --validate need not wait

    text = read_text(path)
    doc = parse(text, path, variables=variables, environ=environ)
    problems = validate(doc)
    if problems:
        raise InvalidPlan(problems)
    return build(doc, hashlib.sha256(text.encode("utf-8")).hexdigest())


@dataclass(frozen=True, slots=True)
class Checked:
    steps: int
    notes: list[Problem]  # each value that could not be checked here: its variables are not set
    variables: frozenset[str]  # every ${NAME} the plan refers to


def validate_file(
    path: str,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Checked:
    """What --validate says of the plan at `path`: as `load_plan`, but a value whose variables are
    set nowhere, CI's perhaps, is noted rather than refused; InvalidPlan carries the notes too."""
    text = read_text(path)
    doc = parse(text, path, variables=variables, environ=environ, unset_allowed=True)
    problems = validate(doc)
    if problems:  # a value refused outright is not also "checked when the plan runs"
        refused = {problem.path for problem in problems}
        raise InvalidPlan(problems, notes=[n for n in doc.notes if n.path not in refused])
    if not doc.unset:  # with every value known, the plan builds as it will when it runs
        build(doc, sha256="")  # a digest for reports: this plan is not run
    return Checked(steps=len(doc.data["steps"]), notes=list(doc.notes), variables=doc.variables)


def build(doc: Document, sha256: str) -> Plan:
    """Typed records from a document that validated cleanly."""
    data: dict[str, Any] = doc.data
    defaults: dict[str, Any] = data.get("defaults", {})
    fusion: dict[str, Any] = data.get("fusion", {})
    steps: list[Step] = []
    previous: str | None = None
    for index, raw in enumerate(data["steps"]):
        settings: dict[str, Any] = {"job": raw} if isinstance(raw, str) else raw
        name = step_name(raw)
        assert name is not None  # validated
        line, column = doc.locate(("steps", index))
        steps.append(
            _build_step(
                settings, defaults=defaults, name=name, previous=previous, line=line, column=column
            )
        )
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
        variables=doc.variables,
    )


def _build_step(
    raw: dict[str, Any],
    *,
    defaults: dict[str, Any],
    name: str,
    previous: str | None,
    line: int,
    column: int,
) -> Step:
    def setting(key: str) -> Any:
        return raw.get(key, defaults.get(key, DEFAULTS[key]))

    def success(key: str) -> Any:
        own, shared = raw.get("success", {}), defaults.get("success", {})
        return own.get(key, shared.get(key, DEFAULTS[key]))

    implicit = "depends_on" not in raw
    depends_on = ([] if previous is None else [previous]) if implicit else raw["depends_on"]
    if "request" in raw or "webhook" in raw:
        return _build_call(
            raw, defaults, name=name, depends_on=depends_on, line=line, column=column
        )
    if "require" in raw:
        return _build_gate(
            raw, defaults, name=name, depends_on=depends_on, line=line, column=column
        )
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
    defaults: dict[str, Any],
    *,
    name: str,
    depends_on: list[str],
    line: int,
    column: int,
) -> Step:
    """A `require:` step: it takes run_if, allow_failure and success.states (its own, else the
    plan's defaults), and none of the settings about a run (validation refuses them on it)."""
    job, previous_given = raw["require"]["job"], "depends_on" not in raw and bool(depends_on)
    states = raw.get("success", {}).get("states", defaults.get("success", {}).get("states"))
    return Step(
        name=name,
        job=job,
        depends_on=tuple(depends_on),
        implicit_dependency=previous_given,
        run_if=RunIf(raw.get("run_if", defaults.get("run_if", DEFAULTS["run_if"]))),
        timeout=parse_duration(DEFAULTS["timeout"]),
        poll_interval=_poll_interval(DEFAULTS["poll_interval"]),
        retries=0,
        retry_delay=parse_duration(DEFAULTS["retry_delay"]),
        retry_backoff=float(DEFAULTS["retry_backoff"]),
        retry_on=frozenset(RetryOn(kind) for kind in DEFAULTS["retry_on"]),
        on_running=OnRunning(DEFAULTS["on_running"]),
        allow_failure=raw.get("allow_failure", defaults.get("allow_failure", False)),
        success=Success(
            states=tuple(states or DEFAULT_STATES[job_kind(job)[0]]),
            max_duration=None,
            expect=(),
        ),
        line=line,
        column=column,
        gate=Gate(succeeded_within=parse_duration(raw["require"]["succeeded_within"])),
    )


def _build_call(
    raw: dict[str, Any],
    defaults: dict[str, Any],
    *,
    name: str,
    depends_on: list[str],
    line: int,
    column: int,
) -> Step:
    """A `request:` or `webhook:` step: it takes run_if, allow_failure and the retry
    settings (its own, else the plan's defaults), and its own success.expect and warn only
    (the plan's defaults judge runs, not answers); nothing else about a run applies."""

    def setting(key: str) -> Any:
        return raw.get(key, defaults.get(key, DEFAULTS[key]))

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
