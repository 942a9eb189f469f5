"""The plan as an OpenTelemetry trace: a span for the plan, one per step, one per attempt.

Needs the `otel` extra (opentelemetry-sdk and its OTLP/HTTP exporter); imported only when tracing
is on (`runner.commands.traces`). The spans are built from the final result, once, at the end of
the run (an interrupted one too), timed by the report's own times, so the trace says what the
report says. They follow OpenTelemetry's CI/CD conventions: the plan's span (kind SERVER) is named
`RUN {plan}` and carries `cicd.pipeline.*`; each step's span (INTERNAL) is named after the step and
carries `cicd.pipeline.task.*`; each attempt's span, a child of its step's, is named
`{step} attempt {n}`. fusion-run's own figures are `fusion_run.*`, Fusion's `fusion.*`. Every
string is cleaned as the console's lines are (`runner.redact.one_line`); Fusion's words in them
were masked as they arrived, and nothing else is, so no run id, name or time changes whatever a
credential is.

The trace's ids are decided before the first start and written in the report (`trace`): the trace
id (`TRACEPARENT`'s when the CI set it, whose span is then the plan span's parent) and the plan
span's id. A resumed run reads them from the report it resumes: its own plan span (a new id) is a
child of that first plan span, in the same trace, and holds the steps it ran or followed (the
attempts an earlier run closed were that run's to export). A TRACEPARENT of the resumed run's own
CI job is a link of its plan span.

Exporting is bounded in time (`EXPORT_SECONDS`): a collector that does not answer costs that long
at most, and a failed export is one warning line, never a changed outcome.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from runner import __version__, wording
from runner.criteria import CriterionName
from runner.facts import to_fact
from runner.outcomes import AttemptOutcome, Outcome, PlanOutcome
from runner.redact import Redactor, one_line
from runner.result import Attempt, PlanResult, StepResult, TraceIds

EXPORT_SECONDS = 5.0  # the longest an export may hold the end of the run
DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"  # the SDK's, when no variable names one

_TASK_RESULTS = {
    Outcome.SUCCEEDED: "success",
    Outcome.FAILED: "failure",
    Outcome.TIMED_OUT: "timeout",
    Outcome.SKIPPED: "skip",
    Outcome.CANCELLED: "cancellation",
}
_FAILED = {"failure", "error", "timeout"}  # the results whose span's status is an error


def endpoint(environ: Mapping[str, str]) -> str:
    """Where the SDK's exporter sends the spans, by the variables it reads."""
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else DEFAULT_ENDPOINT


def ci_parent(environ: Mapping[str, str]) -> SpanContext | None:
    """The span `TRACEPARENT` names (W3C trace context), or None when it is unset or invalid."""
    carrier = {"traceparent": environ.get("TRACEPARENT", "")}
    if "TRACESTATE" in environ:
        carrier["tracestate"] = environ["TRACESTATE"]
    extracted = TraceContextTextMapPropagator().extract(carrier)
    context = trace.get_current_span(extracted).get_span_context()
    return context if context.is_valid else None


def decide_ids(earlier: TraceIds | None, parent: SpanContext | None) -> TraceIds:
    """The trace of a plan that begins now: the one of the report it resumes, if any; else a
    new plan span in the CI's trace (`parent`), or in a new trace."""
    if earlier is not None:
        return earlier
    trace_id = parent.trace_id if parent is not None else _nonzero(128)
    return TraceIds(trace_id=f"{trace_id:032x}", span_id=f"{_nonzero(64):016x}")


def _nonzero(bits: int) -> int:
    while True:
        value = secrets.randbits(bits)
        if value:
            return value


class Tracer:
    """A reporter that exports the plan's trace when the run ends (`finish`)."""

    def __init__(
        self,
        *,
        ids: TraceIds,
        resumed: bool,
        ci: SpanContext | None,
        earlier: Mapping[str, StepResult],
        exporter: SpanExporter,
        redact: Redactor,
        warn: Callable[[str], None],
        where: str,
        seconds: float = EXPORT_SECONDS,
    ) -> None:
        self.ids, self.resumed, self.ci, self.earlier = ids, resumed, ci, earlier
        self.exporter, self.redact, self.warn, self.where = exporter, redact, warn, where
        self.seconds = seconds

    def handle(self, event: object, result: PlanResult) -> None:
        pass

    def finish(self, result: PlanResult) -> None:
        spans = build_spans(
            result,
            self.ids,
            resumed=self.resumed,
            ci=self.ci,
            earlier=self.earlier,
        )
        why = export(spans, self.exporter, self.seconds)
        if why is not None:
            self.warn(
                f"fusion-run: warning: trace not exported to the collector at {self.where}: "
                f"{self.redact.line(why)}; the plan's outcome stands"
            )


def exporter_for(seconds: float = EXPORT_SECONDS) -> OTLPSpanExporter:
    """The SDK's OTLP/HTTP exporter: endpoint, headers and certificates from the
    OTEL_EXPORTER_OTLP_* variables, as usual; each export given at most `seconds`, retries
    included."""
    return OTLPSpanExporter(timeout=seconds)


class _Captured(logging.Handler):
    """The SDK's log records during an export: its reason for a failure, kept from the console."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def why(self, seconds: float) -> str:
        """Why the export failed, from what the SDK logged: the collector's answer, or the
        error of the last try."""
        for record in reversed(self.records):
            args = record.args if isinstance(record.args, tuple) else ()
            if str(record.msg).startswith("Failed to export %s batch code") and len(args) == 3:
                code, reason = args[1], args[2]
                return f"the collector answered {code} {reason}" if code else _words(reason)
            if str(record.msg).startswith("Transient error") and args:
                return _words(args[0])  # the last try's, once the time allowed ran out
        return f"no answer within {seconds:g}s"


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _words(error: object) -> str:
    """An error of the HTTP library in a few words: `Connection refused`, not its repr."""
    text = str(error)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    if "timed out" in text.lower():
        return "no answer in time"
    return text


def export(spans: Sequence[ReadableSpan], exporter: SpanExporter, seconds: float) -> str | None:
    """Send `spans`, waiting `seconds` at most (a thread left behind dies with the process);
    None when they went, else why not, in words."""
    if not spans:
        return None
    sdk = logging.getLogger("opentelemetry")
    captured = _Captured()
    kept = sdk.propagate, sdk.handlers[:]
    sdk.propagate, sdk.handlers = False, [captured]
    outcome: list[SpanExportResult | BaseException] = []

    def send() -> None:
        try:
            outcome.append(exporter.export(spans))
        except Exception as error:  # an exporter's fault is a warning, like any failed export
            outcome.append(error)

    try:
        sender = threading.Thread(target=send, name="fusion-run trace export", daemon=True)
        sender.start()
        sender.join(seconds + 1.0)  # the exporter's own deadline, and a second's grace
    finally:
        sdk.propagate, sdk.handlers = kept
    if not outcome:
        return f"no answer within {seconds:g}s"
    if outcome[0] is SpanExportResult.SUCCESS:
        return None
    if isinstance(outcome[0], BaseException):
        return f"{type(outcome[0]).__name__}: {outcome[0]}"
    return captured.why(seconds)


# --- the spans ------------------------------------------------------------------------------------


class _Collected(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


class _Ids(IdGenerator):
    """The trace's id for a root span, the plan span's id first (unless resumed), then random."""

    def __init__(self, ids: TraceIds, *, first: bool) -> None:
        self.trace_id = int(ids.trace_id, 16)
        self.first: int | None = int(ids.span_id, 16) if first else None

    def generate_span_id(self) -> int:
        span_id, self.first = self.first, None
        return span_id if span_id is not None else _nonzero(64)

    def generate_trace_id(self) -> int:
        return self.trace_id


def build_spans(
    result: PlanResult,
    ids: TraceIds,
    *,
    resumed: bool,
    ci: SpanContext | None,
    earlier: Mapping[str, StepResult],
) -> list[ReadableSpan]:
    """The spans of `result`, ended, children before their parents."""
    collected = _Collected()
    resource = Resource.create({"service.name": "fusion-run", "service.version": __version__})
    provider = TracerProvider(
        resource=resource, id_generator=_Ids(ids, first=not resumed), shutdown_on_exit=False
    )
    provider.add_span_processor(collected)
    tracer = provider.get_tracer("fusion-run", __version__)
    parent: SpanContext | None = ci
    links = []
    if resumed:
        parent = _remote(ids.trace_id, ids.span_id)
        if ci is not None and ci.trace_id != parent.trace_id:
            links.append(Link(ci, {"fusion_run.link": "ci_job"}))
    Builder(tracer, result, earlier).plan(parent, links)
    return collected.spans


def _remote(trace_id: str, span_id: str) -> SpanContext:
    return SpanContext(
        int(trace_id, 16),
        int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def _ns(moment: datetime) -> int:
    """`moment` in nanoseconds since the epoch, to the millisecond, as the report writes it."""
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond // 1_000 * 1_000_000


class Builder:
    """The spans of one result, by one tracer."""

    def __init__(
        self,
        tracer: trace.Tracer,
        result: PlanResult,
        earlier: Mapping[str, StepResult],
    ) -> None:
        self.tracer, self.result, self.earlier = tracer, result, earlier
        self.end = result.ended_at or _latest(result)

    def text(self, value: str) -> str:
        return one_line(value)

    def plan(self, parent: SpanContext | None, links: list[Link]) -> None:
        result = self.result
        outcome = self.plan_result()
        attributes: dict[str, Any] = {
            "cicd.pipeline.name": self.text(result.plan_name),
            "cicd.pipeline.run.id": f"{result.trace.trace_id}" if result.trace else "",
            "cicd.pipeline.action.name": "RUN",
            "cicd.pipeline.result": outcome,
            "fusion_run.version": __version__,
            "fusion_run.outcome": str(result.outcome),
            "fusion_run.plan.path": self.text(result.plan_path),
            "fusion_run.plan.sha256": result.plan_sha256,
            "fusion_run.detached": result.detached,
            "fusion.url": self.text(result.url),
        }
        if result.resumed_from is not None:
            attributes["fusion_run.resumed_from"] = self.text(result.resumed_from.path)
        if result.error is not None:
            attributes["fusion_run.error"] = self.text(wording.text(result.error))
        if outcome in _FAILED:
            kind = to_fact(result.error)["kind"] if result.error is not None else "_OTHER"
            attributes["error.type"] = kind
        context = None
        if parent is not None:
            context = trace.set_span_in_context(trace.NonRecordingSpan(parent))
        span = self.tracer.start_span(
            f"RUN {self.text(result.plan_name)}",
            context=context,
            kind=SpanKind.SERVER,
            attributes=attributes,
            links=links,
            start_time=_ns(result.started_at),
        )
        if outcome in _FAILED:
            error = None if result.error is None else self.text(wording.text(result.error))
            span.set_status(Status(StatusCode.ERROR, error))
        inside = trace.set_span_in_context(span)
        ended = {step.name: step for step in result.steps}
        for step in result.steps:
            attempts = self.attempts_here(step)
            if attempts is not None:
                self.step(step, attempts, inside, ended)
        span.end(end_time=_ns(self.end))

    def plan_result(self) -> str:
        result = self.result
        if result.error is not None or result.outcome is PlanOutcome.RUNNING:
            return "error"
        return {
            PlanOutcome.SUCCEEDED: "success",
            PlanOutcome.FAILED: "failure",
            PlanOutcome.INTERRUPTED: "cancellation",
        }[result.outcome]

    def attempts_here(self, step: StepResult) -> list[Attempt] | None:
        """The attempts of `step` this run exports (None: not the step, which an earlier run
        ended): all of them, unless resumed, when those an earlier run closed are not."""
        before = self.earlier.get(step.name)
        if before is None:
            return list(step.attempts)
        closed = {
            a.number
            for a in before.attempts
            if a.outcome is not None and a.outcome is not AttemptOutcome.LEFT_RUNNING
        }
        here = [a for a in step.attempts if a.number not in closed]
        if not here and before.outcome is not None and before.outcome == step.outcome:
            return None
        return here

    def task_result(self, step: StepResult) -> str:
        if step.outcome is None:  # its run was left going: how it ends nobody knows; it fails
            return "error"  # the plan, as it does in the report, JUnit and the exit code
        if step.outcome is Outcome.NOT_RUN:
            if self.result.error is not None:
                return "error"
            return "cancellation" if self.result.outcome is PlanOutcome.INTERRUPTED else "skip"
        return _TASK_RESULTS[step.outcome]

    def step(
        self,
        step: StepResult,
        attempts: list[Attempt],
        inside: Any,
        steps: Mapping[str, StepResult],
    ) -> None:
        outcome = self.task_result(step)
        attributes: dict[str, Any] = {
            "cicd.pipeline.task.name": self.text(step.name),
            "cicd.pipeline.task.run.result": outcome,
            "fusion_run.step.outcome": step.status,
            "fusion_run.step.allow_failure": step.allow_failure,
            "fusion_run.step.attempts": len(step.attempts),
            "fusion.job.id": self.text(step.job),
        }
        if step.run_id is not None:
            attributes["cicd.pipeline.task.run.id"] = self.text(step.run_id)
        if step.depends_on:
            attributes["fusion_run.step.depends_on"] = [self.text(d) for d in step.depends_on]
        reason = None if step.reason is None else self.text(wording.text(step.reason))
        if reason is not None:
            attributes["fusion_run.step.reason"] = reason
        if outcome in _FAILED:
            attributes["error.type"] = to_fact(step.reason)["kind"] if step.reason else "_OTHER"
        if step.gate is not None and step.gate.run_id is not None:
            attributes["fusion_run.gate.run_id"] = self.text(step.gate.run_id)
        start, end = self.step_times(step, attempts, steps)
        span = self.tracer.start_span(
            self.text(step.name),
            context=inside,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(start),
        )
        if outcome in _FAILED:
            span.set_status(Status(StatusCode.ERROR, reason))
        within = trace.set_span_in_context(span)
        for attempt in attempts:
            self.attempt(step, attempt, within)
        span.end(end_time=_ns(max(end, start)))

    def step_times(
        self, step: StepResult, attempts: list[Attempt], steps: Mapping[str, StepResult]
    ) -> tuple[datetime, datetime]:
        """From its attempts' first request to their last end (the plan's end for a run still
        going). A step that started nothing is a moment: when its gate read the job's runs,
        when the last of its upstream steps ended (a skip), or when the plan ended."""
        if attempts:
            start = min(self.attempt_times(a, self.end)[0] for a in attempts)
            end = max(self.attempt_times(a, self.end)[1] for a in attempts)
            return start, end
        if step.gate is not None and step.gate.checked_at is not None:
            return step.gate.checked_at, step.gate.checked_at
        if step.outcome is Outcome.SKIPPED:
            moment = self.upstream_end(step, steps)
            return moment, moment
        return self.end, self.end

    def upstream_end(self, step: StepResult, steps: Mapping[str, StepResult]) -> datetime:
        """When the last of `step`'s upstream steps ended (a skipped one, when its own did);
        the plan's start for a step with none."""
        ends = [self.result.started_at]
        for name in step.depends_on:
            upstream = steps.get(name)
            if upstream is None:
                continue
            ended = [a.ended_at for a in upstream.attempts if a.ended_at is not None]
            if ended:
                ends.append(max(ended))
            elif upstream.outcome is Outcome.SKIPPED:
                ends.append(self.upstream_end(upstream, steps))
        return max(ends)

    def attempt_times(self, attempt: Attempt, end: datetime) -> tuple[datetime, datetime]:
        start = attempt.requested_at or attempt.started_at or self.result.started_at
        return start, max(attempt.ended_at or end, start)

    def attempt(self, step: StepResult, attempt: Attempt, within: Any) -> None:
        attributes: dict[str, Any] = {
            "fusion_run.attempt.number": attempt.number,
            "fusion_run.attempt.round": attempt.round,
            "fusion_run.attempt.outcome": str(attempt.outcome or "open"),
            "fusion_run.attempt.adopted": attempt.adopted,
            "fusion_run.attempt.status_reads": attempt.status_reads,
            "fusion.job.id": self.text(step.job),
        }
        if attempt.run_id is not None:
            attributes["fusion.run.id"] = self.text(attempt.run_id)
        if attempt.state is not None:
            attributes["fusion.state"] = self.text(attempt.state)
        if attempt.error is not None:
            attributes["fusion.error"] = self.text(attempt.error)
        for criterion in attempt.criteria:
            if criterion.name is CriterionName.WORK and isinstance(criterion.actual, int):
                attributes["fusion.documents"] = criterion.actual
        if attempt.cancel is not None:
            attributes["fusion_run.attempt.cancel"] = self.text(wording.text(attempt.cancel.cause))
        failed = [c for c in attempt.criteria if not c.passed and not c.no_previous]
        words = [self.text(w) for c in failed if (w := wording.criterion(c))]
        if words:
            attributes["fusion_run.attempt.criteria_failed"] = words
        start, end = self.attempt_times(attempt, self.end)
        span = self.tracer.start_span(
            f"{self.text(step.name)} attempt {attempt.number}",
            context=within,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(start),
        )
        if attempt.started_at is not None and attempt.requested_at is not None:
            span.add_event("run started", timestamp=_ns(max(attempt.started_at, start)))
        if attempt.outcome in (AttemptOutcome.FAILED, AttemptOutcome.TIMED_OUT):
            error = None if attempt.error is None else self.text(attempt.error)
            span.set_status(Status(StatusCode.ERROR, words[0] if words else error))
        elif attempt.outcome in (AttemptOutcome.LEFT_RUNNING, None):
            span.set_status(Status(StatusCode.ERROR, "left running in Fusion"))
        span.end(end_time=_ns(end))


def _latest(result: PlanResult) -> datetime:
    """The latest time the result holds: the end of a run that has not concluded."""
    times = [result.started_at]
    for step in result.steps:
        for attempt in step.attempts:
            times += [t for t in (attempt.requested_at, attempt.started_at, attempt.ended_at) if t]
    return max(times)
