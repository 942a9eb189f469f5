"""The plan as typed, frozen records, free of YAML and JSON Schema.

`runner.plan.loader` is the only place raw plan data becomes these records. Settings resolve per
step in this order: the step's own, its templates (`extends:`), the plan's `defaults:`, the
built-in default (`DEFAULTS`). Under `success:`, each of its keys (`states`, `max_duration`,
`expect`, `warn`, `min_documents`) resolves on its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class RunIf(enum.StrEnum):
    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    AT_LEAST_ONE_SUCCESS = "at_least_one_success"
    NONE_FAILED = "none_failed"
    AT_LEAST_ONE_FAILED = "at_least_one_failed"
    ALL_FAILED = "all_failed"


class AllowedFailures(enum.StrEnum):
    """How a step's run_if counts an upstream that failed with `allow_failure: true`."""

    PASS = "pass"  # as a success, as GitLab's allow_failure and GitHub's continue-on-error
    FAIL = "fail"  # as the failure it was


class OnRunning(enum.StrEnum):
    WAIT = "wait"
    ADOPT = "adopt"
    FAIL = "fail"


class OnInterrupt(enum.StrEnum):
    CANCEL = "cancel"
    DETACH = "detach"


class Auth(enum.StrEnum):
    AUTO = "auto"  # from the credentials in the environment
    BASIC = "basic"
    SESSION = "session"
    OAUTH2 = "oauth2"
    API_KEY = "api-key"
    BEARER = "bearer"
    NONE = "none"


class RetryOn(enum.StrEnum):
    """What a failed attempt may be retried for."""

    STATE = "state"  # the run ended in a state the plan does not accept
    CRITERIA = "criteria"  # max_duration or an expect did not hold
    TIMEOUT = "timeout"  # the step's timeout cancelled the run


class OnStall(enum.StrEnum):
    """What a run whose counters stood still for stall_after gets."""

    WARN = "warn"  # a warning; the run goes on
    CANCEL = "cancel"  # cancelled: the step fails


@dataclass(frozen=True, kw_only=True, slots=True)
class WarnAfter:
    """When a run still going is late: after `seconds`, or after `times` its job's last good
    run's duration (no warning when no such run is known)."""

    seconds: int | None = None
    times: float | None = None


class SparkStart(enum.StrEnum):
    SPARK_API = "spark-api"  # POST {api}/spark/jobs/{id}
    JOBS_API = "jobs-api"  # POST {api}/jobs/spark:{id}/actions


DEFAULTS: dict[str, Any] = {
    "run_if": "all_success",
    "timeout": "2h",
    "poll_interval": "auto",
    "retries": 0,
    "retry_delay": "30s",
    "retry_backoff": 2,
    "retry_on": ["state"],
    "on_running": "wait",
    "allow_failure": False,
    "allowed_failures": "pass",
    "states": None,  # by kind: DEFAULT_STATES
    "max_duration": None,
    "expect": [],
    "warn": [],
    "min_documents": None,  # None: a run that did no work is a warning, where Fusion counts work
    "warn_after": None,
    "stall_after": None,
    "on_stall": "warn",
    "tags": [],
}
DEFAULT_MAX_PARALLEL = 4
# poll_interval: auto reads a run at most this many seconds apart: Lucidworks' own polling loop
# reads every 10 s, and so did fusion-run's poll_interval before auto
AUTO_POLL_CEILING = 10
# Requests a second to Fusion, all steps together: its API gateway also serves the search UI. Ten
# follow 500 runs at once (a read each per 50 s) and start a step in a tenth of a second.
DEFAULT_MAX_REQUESTS_PER_SECOND = 10
DEFAULT_STATES = {
    "spark": ("finished", "skipped"),
    "datasource": ("success",),
    "task": ("success",),
}


class Schedules(enum.StrEnum):
    """What a plan job that Fusion's own scheduler may start during the plan does to the plan."""

    WARN = "warn"  # a warning before the first start
    FAIL = "fail"  # the plan stops before anything starts
    OFF = "off"  # Fusion's schedules are not read


@dataclass(frozen=True, kw_only=True, slots=True)
class Success:
    states: tuple[str, ...]
    max_duration: int | None  # seconds
    expect: tuple[str, ...]  # JMESPath expressions, each must be truthy on the final status
    warn: tuple[str, ...] = ()  # ... each a warning when it is not; the step still succeeds
    min_documents: int | None = None  # fewer documents fail the step (None: none warn)


@dataclass(frozen=True, kw_only=True, slots=True)
class Gate:
    """`require:` a step that starts nothing: it passes when Fusion lists a run of the step's job
    that ended in an accepted state (`Success.states`) within `succeeded_within` before now."""

    succeeded_within: int  # seconds


class CallKind(enum.StrEnum):
    """What a step that runs no job sends."""

    REQUEST = "request"  # to the plan's own Fusion, with its credentials
    WEBHOOK = "webhook"  # to another host, with only what the plan gives


REPEAT_SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Call:
    """`request:` or `webhook:` instead of `job:`: one HTTP request, judged by its answer.

    For a request, `target` is a path relative to fusion.url (validation keeps it on Fusion's
    host); for a webhook, a whole URL. `params` are added to the target's own query; `body` is
    JSON text (None: none sent); `statuses` the accepted answer statuses (empty: any 2xx)."""

    kind: CallKind
    method: str
    target: str
    params: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # a webhook's own; a request sends Fusion's
    statuses: tuple[int, ...] = ()
    repeat_safe: bool = False  # sending it twice does no harm: a lost answer may be re-sent

    @property
    def may_repeat(self) -> bool:
        return self.repeat_safe or self.method in REPEAT_SAFE_METHODS

    def accepts(self, status: int) -> bool:
        return status in self.statuses if self.statuses else 200 <= status < 300


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
    retry_on: frozenset[RetryOn]
    on_running: OnRunning
    allow_failure: bool
    success: Success
    line: int  # where the step stands in the plan, for messages and annotations
    column: int
    warn_after: WarnAfter | None = None  # a run still going then is late: a warning
    stall_after: int | None = None  # seconds a run's counters may stand still
    on_stall: OnStall = OnStall.WARN
    gate: Gate | None = None  # `require:` instead of `job:`: `job` is the job it checks
    poll_auto: bool = True  # poll_interval: auto; poll_interval is then AUTO_POLL_CEILING
    tags: tuple[str, ...] = ()  # for --select tag:NAME
    for_each: str | None = None  # made by a for_each: that step's name (else job) as written
    allowed_failures: AllowedFailures = AllowedFailures.PASS  # its run_if reads allowed failures
    call: Call | None = None  # `request:` or `webhook:` instead of `job:`: `job` is its label


@dataclass(frozen=True, kw_only=True, slots=True)
class FusionSettings:
    url: str | None
    api: str
    auth: Auth
    verify: bool | str
    spark_start: SparkStart = SparkStart.SPARK_API
    realm: str = "native"
    connect_timeout: int = 10  # seconds
    read_timeout: int = 60  # seconds
    retry_budget: int = 300  # seconds a step may be out of contact with Fusion
    first_contact: int = 30  # seconds to keep trying before Fusion has answered once
    schedules: Schedules = Schedules.WARN
    max_requests_per_second: int = DEFAULT_MAX_REQUESTS_PER_SECOND  # all steps together


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    file: str
    name: str
    sha256: str
    fusion: FusionSettings
    max_parallel: int
    fail_fast: bool
    timeout: int | None  # seconds
    on_interrupt: OnInterrupt = OnInterrupt.CANCEL
    steps: tuple[Step, ...]
    variables: frozenset[str] = frozenset()  # the names the plan declares under variables:
    target: str | None = None  # the target it was read with (--target, or default_target:)

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)
