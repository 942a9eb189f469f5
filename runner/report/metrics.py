"""A plan's result as Prometheus metrics, in the groups `runner.report.push` sends to a
Pushgateway (docs/guides/monitoring.md lists them).

Every group's grouping key is `job="fusion-run"` and the plan's name (`plan`). The plan's group
holds the plan's series and every step's, labelled `step` and `fusion_job` (the step's Fusion
job); each step that succeeded has a group of its own (key `step` too) holding only its last
success time. The Pushgateway's POST replaces, in one group, every series of each metric name
pushed: so a last-success time is pushed only for what succeeded, and a step's goes in its own
group, where the push of another step's success cannot replace it. A failed night leaves the
earlier success times in place. A run of part of the plan (--select, --exclude) pushes no
last-success time of the plan, and no series of the steps it left out: it did not run them.

Only imported with --push-metrics: it needs prometheus_client (the `metrics` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge

from runner.criteria import CriterionName
from runner.outcomes import Outcome, PlanOutcome
from runner.reasons import NotSelected
from runner.result import STEP_OUTCOMES, PlanResult, StepResult, summary

JOB = "fusion-run"  # the grouping key's `job`, for every plan
STEP_LABELS = ("step", "fusion_job")


@dataclass(frozen=True, slots=True)
class Group:
    """One push: the grouping key besides `job`, and the metrics."""

    key: dict[str, str]
    registry: CollectorRegistry


def groups(result: PlanResult) -> list[Group]:
    """The plan's group, then one group per step that succeeded."""
    plan = {"plan": result.plan_name}
    found = [Group(plan, plan_registry(result))]
    for step in _ran(result):
        if step.outcome is Outcome.SUCCEEDED:
            registry = CollectorRegistry(auto_describe=True)
            Gauge(
                "fusion_run_step_last_success_timestamp_seconds",
                "When the step last succeeded, in Unix time.",
                ["fusion_job"],
                registry=registry,
            ).labels(step.job).set(_success_time(step, result))
            found.append(Group({**plan, "step": step.name}, registry))
    return found


def plan_registry(result: PlanResult) -> CollectorRegistry:
    """The plan's own series and every step's but their last success times."""
    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, text, list(labels), registry=registry)

    outcome = gauge(
        "fusion_run_plan_outcome",
        "1 for how the plan ended (label outcome), 0 for the other outcomes.",
        ("outcome",),
    )
    for value in PlanOutcome:
        outcome.labels(str(value)).set(int(value is result.outcome))
    if result.duration is not None:
        gauge("fusion_run_plan_duration_seconds", "How long the plan took.").set(result.duration)
    whole = len(_ran(result)) == len(result.steps)
    if result.outcome is PlanOutcome.SUCCEEDED and result.ended_at is not None and whole:
        gauge(
            "fusion_run_plan_last_success_timestamp_seconds",
            "When the plan last succeeded, in Unix time.",
        ).set(_unix(result.ended_at))
    steps = gauge("fusion_run_plan_steps", "The plan's steps by outcome.", ("outcome",))
    for name, count in summary([{"outcome": s.status} for s in result.steps]).items():
        if name != "steps":
            steps.labels(name).set(count)
    gauge("fusion_run_plan_warnings", "The warnings of the plan's run.").set(len(result.warnings))
    step_outcome = gauge(
        "fusion_run_step_outcome",
        "1 for how the step ended (label outcome), 0 for the other outcomes.",
        (*STEP_LABELS, "outcome"),
    )
    duration = gauge(
        "fusion_run_step_duration_seconds",
        "From the step's first run's start to its last run's end (`step_duration`).",
        STEP_LABELS,
    )
    attempts = gauge("fusion_run_step_attempts", "The step's runs started.", STEP_LABELS)
    reads = gauge("fusion_run_step_status_reads", "Status reads of the step's runs.", STEP_LABELS)
    documents = gauge(
        "fusion_run_step_documents",
        "Documents the step's last run indexed or wrote, by Fusion's counters.",
        STEP_LABELS,
    )
    for step in _ran(result):
        labels = (step.name, step.job)
        for status in STEP_OUTCOMES:
            step_outcome.labels(*labels, status).set(int(status == step.status))
        if step.duration is not None:
            duration.labels(*labels).set(step.duration)
        attempts.labels(*labels).set(len(step.attempts))
        reads.labels(*labels).set(sum(attempt.status_reads for attempt in step.attempts))
        counted = _documents(step)
        if counted is not None:
            documents.labels(*labels).set(counted)
    return registry


def _ran(result: PlanResult) -> list[StepResult]:
    """The steps of the run: all but those --select or --exclude left out."""
    return [step for step in result.steps if not isinstance(step.reason, NotSelected)]


def _documents(step: StepResult) -> float | None:
    """What the work check of the step's last run counted; None: no count."""
    if not step.attempts:
        return None
    for criterion in step.attempts[-1].criteria:
        if criterion.name is CriterionName.WORK and criterion.actual is not None:
            return float(criterion.actual)
    return None


def _success_time(step: StepResult, result: PlanResult) -> float:
    """When the step's last run ended; for a `require:` step, when it found the job's run; else
    when the plan ended. Kept within the plan's span: a run's end is Fusion's time, and a Fusion
    clock ahead by hours would put the success in the future, and an alert on its age hours
    late."""
    when: datetime | None = step.attempts[-1].ended_at if step.attempts else None
    if when is None and step.gate is not None:
        when = step.gate.checked_at
    end = result.ended_at or result.started_at
    return _unix(min(max(when or end, result.started_at), end))


def _unix(when: datetime) -> float:
    """`when` in Unix time, to the millisecond, as the report writes times."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000).timestamp()
