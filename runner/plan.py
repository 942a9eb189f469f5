"""The plan as typed, frozen records: the only place raw plan data is turned into them.

`load_plan` reads, validates and builds; any problem raises `InvalidPlan` with all of them.
Settings resolve per step in this order: the step's own, the plan's `defaults:`, the built-in
default (`DEFAULTS`). Under `success:`, each of `states`, `max_duration` and `expect` resolves
on its own.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.durations import parse_duration
from runner.errors import UsageError
from runner.problems import InvalidPlan
from runner.source import Document, parse, read_text
from runner.status import job_kind
from runner.validate import step_name, url_problem, validate


class RunIf(enum.StrEnum):
    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    AT_LEAST_ONE_SUCCESS = "at_least_one_success"
    NONE_FAILED = "none_failed"
    AT_LEAST_ONE_FAILED = "at_least_one_failed"
    ALL_FAILED = "all_failed"


class OnRunning(enum.StrEnum):
    WAIT = "wait"
    ADOPT = "adopt"
    FAIL = "fail"


class Auth(enum.StrEnum):
    BASIC = "basic"
    SESSION = "session"
    API_KEY = "api-key"
    BEARER = "bearer"
    NONE = "none"


DEFAULTS: dict[str, Any] = {
    "run_if": "all_success",
    "timeout": "2h",
    "poll_interval": "10s",
    "retries": 0,
    "retry_delay": "30s",
    "retry_backoff": 2,
    "retry_on": ["state"],
    "on_running": "wait",
    "allow_failure": False,
    "states": None,  # by kind: DEFAULT_STATES
    "max_duration": None,
    "expect": [],
}
DEFAULT_MAX_PARALLEL = 4
DEFAULT_STATES = {
    "spark": ("finished", "skipped"),
    "datasource": ("success",),
    "task": ("success",),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Success:
    states: tuple[str, ...]
    max_duration: int | None  # seconds
    expect: tuple[str, ...]  # JMESPath expressions, each must be truthy on the final status


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    name: str
    job: str
    depends_on: tuple[str, ...]
    implicit_dependency: bool  # no depends_on: waits for the step listed before it
    run_if: RunIf
    timeout: int  # seconds
    poll_interval: int  # seconds
    retries: int
    retry_delay: int  # seconds
    retry_backoff: float
    retry_on: frozenset[str]  # of "state", "criteria", "timeout"
    on_running: OnRunning
    allow_failure: bool
    success: Success
    line: int  # where the step stands in the plan, for messages and annotations
    column: int


@dataclass(frozen=True, kw_only=True, slots=True)
class FusionSettings:
    url: str | None
    api: str
    auth: Auth
    verify: bool | str
    realm: str = "native"
    connect_timeout: int = 10  # seconds
    read_timeout: int = 60  # seconds
    retry_budget: int = 300  # seconds a step may be out of contact with Fusion


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    file: str
    name: str
    sha256: str
    fusion: FusionSettings
    max_parallel: int
    fail_fast: bool
    timeout: int | None  # seconds
    on_interrupt: str = "cancel"  # or "detach"
    steps: tuple[Step, ...]

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)


def load_plan(
    path: str,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    text = read_text(path)
    doc = parse(text, path, variables=variables, environ=environ)
    problems = validate(doc)
    if problems:
        raise InvalidPlan(problems)
    return build(doc, hashlib.sha256(text.encode("utf-8")).hexdigest())


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
            auth=Auth(fusion.get("auth", "basic")),
            verify=fusion.get("verify", True),
            realm=fusion.get("realm", "native"),
            connect_timeout=parse_duration(fusion.get("connect_timeout", 10)),
            read_timeout=parse_duration(fusion.get("read_timeout", 60)),
            retry_budget=parse_duration(fusion.get("retry_budget", 300)),
        ),
        max_parallel=data.get("max_parallel", DEFAULT_MAX_PARALLEL),
        fail_fast=data.get("fail_fast", False),
        timeout=parse_duration(data["timeout"]) if "timeout" in data else None,
        on_interrupt=data.get("on_interrupt", "cancel"),
        steps=tuple(steps),
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
    max_duration = success("max_duration")
    return Step(
        name=name,
        job=raw["job"],
        depends_on=tuple(depends_on),
        implicit_dependency=implicit and previous is not None,
        run_if=RunIf(setting("run_if")),
        timeout=parse_duration(setting("timeout")),
        poll_interval=parse_duration(setting("poll_interval")),
        retries=setting("retries"),
        retry_delay=parse_duration(setting("retry_delay")),
        retry_backoff=float(setting("retry_backoff")),
        retry_on=frozenset(setting("retry_on")),
        on_running=OnRunning(setting("on_running")),
        allow_failure=setting("allow_failure"),
        success=Success(
            states=tuple(success("states") or DEFAULT_STATES[job_kind(raw["job"])[0]]),
            max_duration=None if max_duration is None else parse_duration(max_duration),
            expect=tuple(success("expect")),
        ),
        line=line,
        column=column,
    )


def resolve_url(
    plan: Plan, cli_url: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """Fusion's base URL and where it came from: --url, then FUSION_URL, then the plan."""
    for value, source in ((cli_url, "--url"), (environ.get("FUSION_URL"), "FUSION_URL")):
        if value:
            problem = url_problem(value)
            if problem:
                raise UsageError(f"{source}: {problem}")
            return value.rstrip("/"), source
    if plan.fusion.url:
        return plan.fusion.url.rstrip("/"), "the plan"
    return None, "nowhere"
