"""The plan as an OpenTelemetry trace (`runner.report.tracing`): the span tree of a run, its
names and attributes, its parent from TRACEPARENT, the ids a resume reads from the report, the
redaction of every attribute, a failed export as one warning, and `--otel` without the extra.
The spans go to the SDK's in-memory exporter; the plans run on the emulator's model on a fake
clock (tests/process/test_tracing.py exports the real command's to an OTLP receiver)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import runner.report
from runner.commands import traces
from runner.commands.options import Action, Options
from runner.emulator.adapter import ModelFusion
from runner.emulator.model import EmulatedFusion
from runner.emulator.scenario import RunScript
from runner.engine import Engine
from runner.redact import Redactor
from runner.report import tracing
from runner.result import TraceIds
from tests.helpers.cli import invoke
from tests.helpers.engine import jobs, plan_of, run, runs
from tests.helpers.fakes import EPOCH, FakeClock, step
from tests.helpers.paths import EXAMPLES

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CI_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{CI_SPAN}-01"
IDS = TraceIds(trace_id=TRACE, span_id="1111111111111111")


def spans_of(result: Any, ids: TraceIds = IDS, **given: Any) -> list[ReadableSpan]:
    options: dict[str, Any] = {"resumed": False, "ci": None, "earlier": {}}
    return tracing.build_spans(result, ids, **{**options, **given})


def tree(spans: Sequence[ReadableSpan]) -> list[tuple[str, str | None, str]]:
    """Each span as (name, its parent's name, its kind), in the order they started."""
    by_id = {s.context.span_id: s.name for s in spans if s.context is not None}
    ordered = sorted(spans, key=lambda s: (s.start_time or 0, s.name))
    return [
        (s.name, None if s.parent is None else by_id.get(s.parent.span_id, "?"), s.kind.name)
        for s in ordered
    ]


def named(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    [span] = [s for s in spans if s.name == name]
    return span


def test_a_plan_is_a_span_with_a_span_per_step_and_per_attempt() -> None:
    done = run(
        [step("a"), step("b", "a", retries=1, retry_delay=5), step("c", "b")],
        jobs(
            a=runs(RunScript(duration=5)),
            b=runs(RunScript(duration=3, state="error", error="boom"), RunScript(duration=4)),
            c=runs(RunScript(duration=2)),
        ),
    )
    done.engine.result.trace = IDS
    spans = spans_of(done.engine.result)
    assert tree(spans) == [
        ("RUN test", None, "SERVER"),
        ("a", "RUN test", "INTERNAL"),
        ("a attempt 1", "a", "INTERNAL"),
        ("b", "RUN test", "INTERNAL"),
        ("b attempt 1", "b", "INTERNAL"),
        ("b attempt 2", "b", "INTERNAL"),
        ("c", "RUN test", "INTERNAL"),
        ("c attempt 1", "c", "INTERNAL"),
    ]
    plan = named(spans, "RUN test")
    assert plan.context is not None
    assert (f"{plan.context.trace_id:032x}", f"{plan.context.span_id:016x}") == (
        IDS.trace_id,
        IDS.span_id,
    )
    assert {s.context.trace_id for s in spans if s.context} == {int(TRACE, 16)}
    assert dict(plan.attributes or {}) == {
        "cicd.pipeline.name": "test",
        "cicd.pipeline.run.id": TRACE,
        "cicd.pipeline.action.name": "RUN",
        "cicd.pipeline.result": "success",
        "fusion_run.version": "0.1.0",
        "fusion_run.outcome": "succeeded",
        "fusion_run.plan.path": "plan.yaml",
        "fusion_run.plan.sha256": "0" * 64,
        "fusion_run.detached": False,
        "fusion.url": "http://emulated",
    }
    report = done.report
    b = named(spans, "b")
    assert dict(b.attributes or {}) == {
        "cicd.pipeline.task.name": "b",
        "cicd.pipeline.task.run.result": "success",
        "cicd.pipeline.task.run.id": report["steps"][1]["run_id"],
        "fusion_run.step.outcome": "succeeded",
        "fusion_run.step.allow_failure": False,
        "fusion_run.step.attempts": 2,
        "fusion_run.step.depends_on": ("a",),
        "fusion.job.id": "b",
    }
    first = named(spans, "b attempt 1")
    attempt = report["steps"][1]["attempts"][0]
    assert dict(first.attributes or {}) == {
        "fusion_run.attempt.number": 1,
        "fusion_run.attempt.round": 1,
        "fusion_run.attempt.outcome": "failed",
        "fusion_run.attempt.adopted": False,
        "fusion_run.attempt.status_reads": attempt["status_reads"],
        "fusion.job.id": "b",
        "fusion.run.id": attempt["run_id"],
        "fusion.state": "error",
        "fusion.error": "boom",
        "fusion_run.attempt.criteria_failed": (f"run {attempt['run_id']} ended error: boom",),
    }
    assert (first.status.status_code, first.status.description) == (
        StatusCode.ERROR,
        f"run {attempt['run_id']} ended error: boom",
    )
    assert [e.name for e in first.events] == ["run started"]
    assert named(spans, "b").status.status_code is StatusCode.UNSET  # the step succeeded
    # timed by the report's own times
    assert first.start_time == _ns(attempt["requested_at"])
    assert first.end_time == _ns(attempt["ended_at"])
    assert plan.start_time == _ns(report["started_at"])
    assert plan.end_time == _ns(report["ended_at"])


def _ns(text: str) -> int:
    from runner.clock import parse_time  # noqa: PLC0415

    moment = parse_time(text)
    assert moment is not None
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def test_a_failed_plan_says_so_by_the_ci_conventions_and_a_skipped_step_is_a_moment() -> None:
    done = run(
        [step("a"), step("b", "a"), step("c", "b")],
        jobs(a=runs(RunScript(duration=5, state="error", error="disk full"))),
    )
    spans = spans_of(done.engine.result)
    plan, a, b = named(spans, "RUN test"), named(spans, "a"), named(spans, "b")
    assert (plan.attributes or {})["cicd.pipeline.result"] == "failure"
    assert (plan.attributes or {})["error.type"] == "_OTHER"
    assert plan.status.status_code is StatusCode.ERROR
    assert (a.attributes or {})["cicd.pipeline.task.run.result"] == "failure"
    assert (a.attributes or {})["error.type"] == "criteria_failed"
    assert a.status.status_code is StatusCode.ERROR
    assert (b.attributes or {})["cicd.pipeline.task.run.result"] == "skip"
    assert (b.attributes or {})["fusion_run.step.reason"] == "upstream 'a' failed"
    assert b.status.status_code is StatusCode.UNSET
    assert b.start_time == b.end_time == a.end_time  # when its upstream ended
    assert tree(spans)[-1] == ("c", "RUN test", "INTERNAL")


def test_traceparent_makes_the_plan_span_a_child_of_the_ci_job_s_span() -> None:
    parent = tracing.ci_parent({"TRACEPARENT": TRACEPARENT})
    assert parent is not None
    ids = tracing.decide_ids(None, parent)
    assert ids.trace_id == TRACE
    assert ids.span_id != CI_SPAN
    assert len(ids.span_id) == 16
    done = run([step("a")], jobs(a=runs(RunScript(duration=5))))
    plan = named(spans_of(done.engine.result, ids, ci=parent), "RUN test")
    assert plan.parent is not None
    assert plan.context is not None
    assert (plan.parent.trace_id, plan.parent.span_id) == (int(TRACE, 16), int(CI_SPAN, 16))
    assert plan.parent.is_remote
    assert f"{plan.context.span_id:016x}" == ids.span_id


@pytest.mark.parametrize("value", ["", "00-zz-00f067aa0ba902b7-01", f"00-{'0' * 32}-{CI_SPAN}-01"])
def test_a_traceparent_that_names_no_span_is_no_parent(value: str) -> None:
    assert tracing.ci_parent({"TRACEPARENT": value}) is None
    ids = tracing.decide_ids(None, None)
    assert len(ids.trace_id) == 32
    assert ids.trace_id != TRACE


@pytest.mark.parametrize("secret", ["hunter2-secret", "0", "a"])
def test_fusion_s_words_are_masked_and_nothing_else_is(secret: str) -> None:
    """Masked as they arrived, as in the report; a credential that is a digit or a step's name
    changes no run id, name or time."""
    done = run(
        [step("a")],
        jobs(a=runs(RunScript(duration=5, state="error", error=f"login {secret} refused"))),
        redact=Redactor([secret]),
    )
    spans = spans_of(done.engine.result)
    run_id = done.step("a")["run_id"]
    assert {s.name for s in spans} == {"RUN test", "a", "a attempt 1"}
    assert {s.attributes.get("fusion.run.id") for s in spans if s.attributes} >= {run_id}
    said = json.dumps(
        [
            [dict(s.attributes or {}), s.status.description, [e.name for e in s.events]]
            for s in spans
        ],
        default=list,
    )
    assert f"login {secret} refused" not in said
    assert "login *** refused" in said


# --- exporting ------------------------------------------------------------------------------------


class Refusing(SpanExporter):
    def __init__(self, raises: bool = False) -> None:
        self.raises = raises

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.raises:
            raise OSError("no route to host")
        return SpanExportResult.FAILURE


def _tracer(exporter: SpanExporter, warned: list[str]) -> tracing.Tracer:
    return tracing.Tracer(
        ids=IDS,
        resumed=False,
        ci=None,
        earlier={},
        exporter=exporter,
        redact=Redactor(["tok3n"]),
        warn=warned.append,
        where="http://collector:4318/v1/traces",
    )


def test_the_tracer_exports_the_tree_when_the_run_ends() -> None:
    memory = InMemorySpanExporter()
    done = run([step("a")], jobs(a=runs(RunScript(duration=5))))
    warned: list[str] = []
    _tracer(memory, warned).finish(done.engine.result)
    assert [s.name for s in memory.get_finished_spans()] == ["a attempt 1", "a", "RUN test"]
    assert warned == []


@pytest.mark.parametrize(
    ("exporter", "why"),
    [
        (Refusing(), "no answer within 5s"),
        (Refusing(raises=True), "OSError: no route to host"),
    ],
)
def test_a_failed_export_is_one_warning_line(exporter: SpanExporter, why: str) -> None:
    done = run([step("a")], jobs(a=runs(RunScript(duration=5))))
    warned: list[str] = []
    _tracer(exporter, warned).finish(done.engine.result)
    assert warned == [
        "fusion-run: warning: trace not exported to the collector at "
        f"http://collector:4318/v1/traces: {why}; the plan's outcome stands"
    ]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://otuser:OtPassXyz@collector:4318/v1/traces?token=TokQwerty#x",
        "http://collector:4318/v1/traces?token=TokQwerty&user=otuser&key=OtPassXyz",
    ],
)
def test_the_collector_s_url_is_named_without_its_secrets(endpoint: str) -> None:
    redact = Redactor()
    environ = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint}
    options = Options(plans=("plan.yaml",), action=Action.RUN)
    made = traces.tracer(options, environ, redact, pytest.fail, None)
    assert made is not None
    assert made.where == "http://collector:4318/v1/traces"
    said = redact.line(f"POST {endpoint}: refused (OtPassXyz, TokQwerty)")
    assert "OtPassXyz" not in said
    assert "TokQwerty" not in said


def test_the_endpoint_named_is_the_one_the_sdk_reads() -> None:
    assert tracing.endpoint({}) == "http://localhost:4318/v1/traces"
    assert tracing.endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    both = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "x"}
    assert tracing.endpoint(both) == "x"


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """What the command exports, kept in memory."""
    memory = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "exporter_for", lambda: memory)
    return memory


NIGHTLY = str(EXAMPLES / "nightly-recommendations.yaml")


def test_otel_writes_the_trace_in_the_report_and_exports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    monkeypatch.chdir(tmp_path)
    done = invoke(NIGHTLY, "--emulate", "--otel", env={"TRACEPARENT": TRACEPARENT})
    assert done.exit_code == 0, done.stderr
    trace = json.loads(Path("fusion-run-report.json").read_text())["trace"]
    assert trace["trace_id"] == TRACE
    spans = exported.get_finished_spans()
    plan = named(spans, "RUN nightly-recommendations")
    assert plan.context is not None
    assert plan.parent is not None
    assert f"{plan.context.span_id:016x}" == trace["span_id"]
    assert f"{plan.parent.span_id:016x}" == CI_SPAN
    assert len(spans) == 11  # the plan, 5 steps, an attempt each


def test_without_tracing_the_report_names_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke(NIGHTLY, "--emulate", env={"OTEL_EXPORTER_OTLP_ENDPOINT": ""}).exit_code == 0
    assert json.loads(Path("fusion-run-report.json").read_text())["trace"] is None
    assert exported.get_finished_spans() == ()


def test_the_endpoint_variable_alone_turns_tracing_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    assert invoke(NIGHTLY, "--emulate", env=env).exit_code == 0
    assert json.loads(Path("fusion-run-report.json").read_text())["trace"] is not None
    assert len(exported.get_finished_spans()) == 11


def test_a_resume_continues_the_trace_its_report_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    """The first run is interrupted with its runs left going; the resumed run's plan span is a
    child of the first run's, in the same trace, and holds the steps it followed or ran."""
    monkeypatch.chdir(tmp_path)
    report = Path("fusion-run-report.json")
    done = invoke(NIGHTLY, "--emulate", "--otel")
    assert done.exit_code == 0
    written = json.loads(report.read_text())
    # the report as an interrupted run leaves it: train, evaluate and cleanup never ran
    for record in written["steps"][2:]:
        record.update(outcome="pending", reason=None, reason_fact=None, attempts=[], run_id=None)
        record.update(started_at=None, ended_at=None)
    written.update(outcome="interrupted")
    report.write_text(json.dumps(written))
    exported.clear()
    resumed = invoke(NIGHTLY, "--emulate", "--otel", "--resume", str(report))
    assert resumed.exit_code == 0, resumed.stderr
    again = json.loads(report.read_text())
    assert again["trace"] == written["trace"]
    spans = exported.get_finished_spans()
    plan = named(spans, "RUN nightly-recommendations")
    assert plan.context is not None
    assert plan.parent is not None
    assert f"{plan.context.trace_id:032x}" == written["trace"]["trace_id"]
    assert f"{plan.parent.span_id:016x}" == written["trace"]["span_id"]
    assert f"{plan.context.span_id:016x}" != written["trace"]["span_id"]
    assert (plan.attributes or {})["fusion_run.resumed_from"] == str(report)
    steps = sorted(s.name for s in spans if s.parent and s.parent.span_id == plan.context.span_id)
    assert steps == ["cleanup", "evaluate", "train"]  # the two kept were the first run's


def test_a_resume_with_no_tracing_keeps_the_trace_for_one_that_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    monkeypatch.chdir(tmp_path)
    report = Path("fusion-run-report.json")
    assert invoke(NIGHTLY, "--emulate", "--otel").exit_code == 0
    first = json.loads(report.read_text())["trace"]
    exported.clear()
    assert invoke(NIGHTLY, "--emulate", "--resume", str(report)).exit_code == 0
    assert json.loads(report.read_text())["trace"] == first
    assert exported.get_finished_spans() == ()


def test_an_unsampled_traceparent_exports_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    monkeypatch.chdir(tmp_path)
    unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    done = invoke(NIGHTLY, "--emulate", "--otel", env={"TRACEPARENT": unsampled})
    assert done.exit_code == 0
    assert (
        "fusion-run: warning: TRACEPARENT says its trace is not sampled, so no trace is "
        "exported: set the CI's sampling, or unset TRACEPARENT for a trace of its own"
    ) in done.stderr.splitlines()
    assert exported.get_finished_spans() == ()


def test_otel_is_said_again_in_the_resume_command() -> None:
    from runner.commands.options import Action, Options  # noqa: PLC0415

    options = Options(plans=("p.yaml",), action=Action.RUN, otel=True)
    assert options.resume_command() == "fusion-run p.yaml --resume fusion-run-report.json --otel"


def test_otel_goes_with_a_run_only(tmp_path: Path) -> None:
    done = invoke(NIGHTLY, "--validate", "--otel")
    assert (done.exit_code, done.stderr) == (
        2,
        "fusion-run: --otel does nothing with --validate: use it with a run\n",
    )


@pytest.fixture
def without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenTelemetry not installed."""
    for name in list(sys.modules):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "runner.report.tracing")
    monkeypatch.delattr(runner.report, "tracing")


@pytest.mark.usefixtures("without_the_extra")
def test_otel_without_the_extra_is_refused_with_the_pip_install_that_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = invoke(NIGHTLY, "--emulate", "--otel")
    assert (done.exit_code, done.stderr) == (
        2,
        "fusion-run: --otel needs OpenTelemetry, which is not installed: "
        "pip install 'fusion-run[otel]'\n",
    )
    assert json.loads(Path("fusion-run-report.json").read_text())["verdict"]["exit_code"] == 2


@pytest.mark.usefixtures("without_the_extra")
def test_the_endpoint_variable_without_the_extra_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = invoke(NIGHTLY, "--emulate", "-q", env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"})
    assert done.exit_code == 0
    assert done.stderr.splitlines()[0] == (
        "fusion-run: OTEL_EXPORTER_OTLP_ENDPOINT is set, but OpenTelemetry is not installed, so "
        "no trace is exported: pip install 'fusion-run[otel]'"
    )
    assert json.loads(Path("fusion-run-report.json").read_text())["trace"] is None


def test_a_run_left_going_is_an_error_as_it_fails_the_plan() -> None:
    clock = FakeClock()
    scenario = jobs(long=runs(RunScript(duration=60)))
    engine = Engine(
        plan_of([step("long")]),
        ModelFusion(EmulatedFusion(scenario, clock=clock, epoch=EPOCH)),
        clock,
        url="http://emulated",
        detach=True,
        interrupts=lambda: int(clock.now >= 5),
    )
    engine.execute()
    assert engine.result.step("long").status == "running"
    spans = {s.name: s for s in spans_of(engine.result)}
    assert (spans["long"].attributes or {})["cicd.pipeline.task.run.result"] == "error"
    assert spans["long"].status.status_code is StatusCode.ERROR
    assert spans["long attempt 1"].status.status_code is StatusCode.ERROR
    assert spans["long attempt 1"].status.description == "left running in Fusion"
