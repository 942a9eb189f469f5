"""Before anything starts: every step's job must exist in Fusion, checked once per job.

This is fusion-run's first contact with Fusion, and a wrong set-up says so here, soon: a host name
that does not resolve at once, and a Fusion that never answers (connection refused, no route)
after `fusion.first_contact` (30 s by default). Once Fusion has answered, transient faults are
ridden out within the plan's retry budget, as the steps' reads are. Past either, `Unreachable`.
Credentials that may not read configurations (403) make the check impossible, which is a
warning, not a failure: the steps' own requests will tell.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from runner.clock import Clock
from runner.engine.context import backoff
from runner.events import ConfigurationsUnreadable, ContactLost, Event
from runner.fusion import ErrorKind, Fusion, FusionError, Unreached
from runner.plan import Plan, Step
from runner.reasons import HostNotFound, LostContact, NoFirstContact


class Unreachable(Exception):
    """Fusion is out of reach before anything started: why, in `reason`."""

    def __init__(self, reason: LostContact | HostNotFound | NoFirstContact) -> None:
        super().__init__(reason)
        self.reason = reason


class JobsNotFound(Exception):
    """The preflight found steps whose job Fusion has no configuration for."""

    def __init__(self, steps: list[tuple[int, Step]]) -> None:
        super().__init__(f"{len(steps)} job(s) not found")
        self.steps = steps  # (index in the plan, step)


def check_jobs(
    plan: Plan,
    fusion: Fusion,
    clock: Clock,
    *,
    rng: random.Random,
    interrupts: Callable[[], int],
    emit: Callable[[Event], None],
    warn: Callable[[Event], None],
) -> None:
    """JobsNotFound naming every step whose job does not exist; nothing starts either way."""
    missing: list[tuple[int, Step]] = []
    known: dict[str, bool] = {}
    for index, step in enumerate(plan.steps):
        if step.job not in known:
            try:
                config = _configuration(
                    step.job,
                    plan=plan,
                    fusion=fusion,
                    clock=clock,
                    rng=rng,
                    interrupts=interrupts,
                    emit=emit,
                    answered=bool(known),
                )
            except FusionError as error:
                if error.kind is ErrorKind.CREDENTIALS and error.status == 403:
                    warn(ConfigurationsUnreadable())
                    return
                raise
            known[step.job] = config is not None
        if not known[step.job]:
            missing.append((index, step))
    if missing:
        raise JobsNotFound(missing)


def _configuration(
    job: str,
    *,
    plan: Plan,
    fusion: Fusion,
    clock: Clock,
    rng: random.Random,
    interrupts: Callable[[], int],
    emit: Callable[[Event], None],
    answered: bool,
) -> dict[str, Any] | None:
    """The job's configuration, trying again through transient faults: within the first-contact
    window while Fusion has never `answered`, within the retry budget once it has."""
    since, failures = clock.monotonic(), 0
    while True:
        try:
            return fusion.configuration(job)
        except FusionError as error:
            out_of_reach = clock.monotonic() - since
            if error.kind is ErrorKind.INTERRUPTED:
                raise KeyboardInterrupt from None
            if error.kind is not ErrorKind.TRANSIENT:
                raise
            first = not answered and error.unreached is not None
            if first and error.unreached is Unreached.NO_HOST:
                host = urlsplit(error.url).hostname or error.url
                raise Unreachable(HostNotFound(host=host, error=str(error))) from None
            window = plan.fusion.first_contact if first else plan.fusion.retry_budget
            if out_of_reach >= window:
                if first:
                    base = error.url.split(plan.fusion.api, 1)[0]
                    raise Unreachable(
                        NoFirstContact(url=base, seconds=window, error=str(error))
                    ) from None
                raise Unreachable(LostContact(seconds=out_of_reach, error=str(error))) from None
            if not failures:
                emit(ContactLost(error=str(error)))
            failures += 1
            clock.sleep(min(backoff(rng, failures, error), window - out_of_reach))
            if interrupts():
                raise KeyboardInterrupt from None
