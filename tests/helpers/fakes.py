"""Test doubles shared by the test modules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from runner.emulator.model import FIXED_EPOCH
from runner.plan import Call, CallKind, OnRunning, RetryOn, RunIf, Step, Success, WarnAfter
from runner.plan.calls import shown_host, shown_path

SPIN = 1_000  # sleeps in a row that do not move time: an engine that spins, not one that waits


@dataclass
class FakeClock:
    """Monotonic time that moves only when told to: `sleep` advances it at once. A loop that
    sleeps without time moving fails the test, rather than hanging it. A `runner.clock.WakingClock`,
    so that a command runs on it as on the real clock (`tests.helpers.cli.invoke`)."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    idle: int = 0  # sleeps in a row that moved no time
    woken: int = 0  # wakes asked for, as a signal asks them of fusion-run's clock

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.idle = self.idle + 1 if seconds <= 0 else 0
        assert self.idle < SPIN, f"{SPIN} sleeps in a row of no time at {self.now}s: a busy loop"
        self.now += max(0.0, seconds)  # as time.sleep: a wait that is due already takes none

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def wake(self) -> None:
        """Counted only: a sleep here never waits, so there is none to end early."""
        self.woken += 1

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime.fromtimestamp(FIXED_EPOCH + self.now, tz=UTC)


# Known fake credentials: tests set them, and the cassette scan proves none is ever stored.
CREDENTIALS = {
    "FUSION_USER": "fusion-admin",
    "FUSION_PASSWORD": "Pa55-w0rd-for-tests",
    "FUSION_API_KEY": "k3y-for-tests-0123456789",
    "FUSION_TOKEN": "t0ken-for-tests-0123456789",
}
EPOCH = FIXED_EPOCH


def step(
    name: str,
    *depends_on: str,
    run_if: str = "all_success",
    allow_failure: bool = False,
    job: str | None = None,
    timeout: int = 7200,
    poll_interval: int = 10,
    retries: int = 0,
    retry_delay: int = 30,
    retry_backoff: float = 2,
    retry_on: tuple[str, ...] = ("state",),
    on_running: str = "wait",
    states: tuple[str, ...] = ("finished", "skipped"),
    max_duration: int | None = None,
    expect: tuple[str, ...] = (),
    warn: tuple[str, ...] = (),
    min_documents: int | None = None,
    warn_after: int | None = None,
    poll_auto: bool = True,
) -> Step:
    """A step as the plan would build it, for tests that need no YAML."""
    return Step(
        name=name,
        job=job or name,
        depends_on=depends_on,
        implicit_dependency=False,
        run_if=RunIf(run_if),
        timeout=timeout,
        poll_interval=poll_interval,
        retries=retries,
        retry_delay=retry_delay,
        retry_backoff=retry_backoff,
        retry_on=frozenset(RetryOn(kind) for kind in retry_on),
        on_running=OnRunning(on_running),
        allow_failure=allow_failure,
        success=Success(
            states=states,
            max_duration=max_duration,
            expect=expect,
            warn=warn,
            min_documents=min_documents,
        ),
        line=1,
        column=1,
        warn_after=None if warn_after is None else WarnAfter(seconds=warn_after),
        poll_auto=poll_auto,
    )


def call_step(
    name: str,
    *depends_on: str,
    path: str = "/api/solr/products/select",
    method: str = "GET",
    params: tuple[tuple[str, str], ...] = (),
    body: str | None = None,
    statuses: tuple[int, ...] = (),
    repeat_safe: bool = False,
    webhook: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    **settings: Any,
) -> Step:
    """A `request:` step (or, with `webhook` its URL, a `webhook:` step) as the plan builds it."""
    call = Call(
        kind=CallKind.REQUEST if webhook is None else CallKind.WEBHOOK,
        method=method if webhook is None else "POST",
        target=path if webhook is None else webhook,
        params=params,
        body=body,
        headers=headers,
        statuses=statuses,
        repeat_safe=repeat_safe,
    )
    where = shown_path(path) if webhook is None else shown_host(webhook)
    built = step(name, *depends_on, job=f"{call.method} {where}", states=(), **settings)
    return replace(built, call=call, success=replace(built.success, min_documents=0))
