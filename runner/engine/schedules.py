"""Which triggers of Fusion's own scheduler may start a job of the plan while the plan runs.

A plan job can be started twice: by the plan, and by Fusion, whose schedule a team kept after
moving the chain into a plan. Two kinds of trigger are found, enabled on an enabled schedule:

- a cron or interval trigger whose next start (the job view's `nextStartTime`) falls before the
  end of the plan's expected window, or that Fusion gives no next start for (then it is unknown,
  and said so); a next start already past is due, and inside;
- a chain trigger on one plan job that follows another plan job: Fusion would start it when the
  other ends, and so would the plan. A bare id in the trigger (no `spark:`, `datasource:` or
  `task:`) is taken as a job of that id of any kind.

A `require:` step's job is not read: Fusion starts it, and the plan only checks it. A chain that
follows it is found all the same: when it ends, Fusion starts a job the plan starts too.

The expected window runs from now for the plan's `timeout` when it has one; else for the longest
chain of step timeouts through the dependency graph: the largest sum of `timeout` along steps that
wait for one another (each step's timeout once: retries are not counted). Only the steps taking
part (`only`) count. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from runner import wording
from runner.clock import format_time
from runner.events import FusionMayStart
from runner.fusion.schedule import Schedule, Trigger, TriggerKind
from runner.jobs import JOB_KINDS, job_kind
from runner.plan import Plan, Step


def expected_window(plan: Plan, only: Collection[str] | None = None) -> int:
    """Seconds the plan is expected to take at most (see the module)."""
    if plan.timeout is not None:
        return plan.timeout
    steps = {s.name: s for s in plan.steps if only is None or s.name in only}
    longest: dict[str, int] = {}

    def through(step: Step) -> int:  # the longest chain of timeouts that ends with `step`
        if step.name not in longest:
            before = [through(steps[name]) for name in step.depends_on if name in steps]
            longest[step.name] = step.timeout + max(before, default=0)
        return longest[step.name]

    return max((through(step) for step in steps.values()), default=0)


def findings(
    plan: Plan,
    schedules: Mapping[str, Schedule | None],
    now: datetime,
    only: Collection[str] | None = None,
) -> list[FusionMayStart]:
    """One warning for each enabled trigger that may start a step's job during the plan, in the
    plan's order; `schedules` holds each job's schedule, None when it has none."""
    steps = [s for s in plan.steps if only is None or s.name in only]
    ends = now + timedelta(seconds=expected_window(plan, only))
    found = []
    for step in steps:
        if step.gate is not None or step.call is not None:  # no job the plan starts
            continue
        schedule = schedules.get(step.job)
        if schedule is None or not schedule.enabled:
            continue
        for trigger in schedule.triggers:
            if not trigger.enabled:
                continue
            if trigger.kind in (TriggerKind.CRON, TriggerKind.INTERVAL):
                next_start = schedule.next_start
                if next_start is not None and next_start > ends:
                    continue
                when = None if next_start is None else format_time(next_start)
                found.append(_finding(step, trigger, when))
            elif trigger.kind is TriggerKind.CHAIN and trigger.other_job is not None:
                others = {s.job for s in steps if s.job != step.job}  # a gate's job too: when it
                # ends, Fusion starts this job, which the plan starts as well
                if any(same_job(trigger.other_job, job) for job in others):
                    found.append(_finding(step, trigger, None))
    return found


def same_job(named: str, job: str) -> bool:
    """Whether a trigger's `named` job is the plan's `job`.

    >>> same_job("spark:als", "als"), same_job("als", "datasource:als"), same_job("task:a", "a")
    (True, True, False)
    """
    kind, colon, _ = named.partition(":")
    if colon and kind in JOB_KINDS:
        return job_kind(named) == job_kind(job)
    return job_kind(job)[1] == named


def _finding(step: Step, trigger: Trigger, next_start: str | None) -> FusionMayStart:
    says = wording.trigger_says(
        str(trigger.kind),
        expression=trigger.expression,
        interval=trigger.interval,
        unit=trigger.unit,
        start_time=trigger.start_time,
        other_job=trigger.other_job,
        on=tuple(str(end) for end in trigger.on),
    )
    return FusionMayStart(
        step=step.name, job=step.job, trigger=str(trigger.kind), says=says, next_start=next_start
    )
