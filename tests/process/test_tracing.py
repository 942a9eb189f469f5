"""The real command exports its plan's trace over OTLP/HTTP: to a receiver on 127.0.0.1 that
decodes what it is sent (opentelemetry-proto, which the exporter installs), and, to a collector
that takes the connection and never answers, within a few seconds, with one warning line and the
exit code the plan earns."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.helpers.paths import EXAMPLES, ROOT
from tests.process.test_quickcheck import validate_in_a_process

NIGHTLY = EXAMPLES / "nightly-recommendations.yaml"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP receiver: each span it is sent, decoded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.paths.append(self.path)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.server.spans.extend(_decoded(span) for span in scope.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _decoded(span: Any) -> dict[str, Any]:
    attributes = {}
    for item in span.attributes:
        kind = item.value.WhichOneof("value")
        value = getattr(item.value, kind)
        if kind == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        attributes[item.key] = value
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent": span.parent_span_id.hex() or None,
        "kind": span.kind,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "status": span.status.code,
        "attributes": attributes,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def fusion_run(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", str(NIGHTLY), "--emulate", "-q", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def span_tree(spans: list[dict[str, Any]]) -> list[str]:
    """The spans as an indented tree, each child under its parent, in the order they started."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {span["span_id"] for span in spans}
    for span in sorted(spans, key=lambda s: (s["start"], s["name"])):
        parent = span["parent"] if span["parent"] in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            lines.append("  " * depth + span["name"])
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return lines


def test_the_command_exports_the_plan_s_span_tree(tmp_path: Path, receiver: Receiver) -> None:
    done = fusion_run(
        tmp_path,
        "--otel",
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "TRACEPARENT": TRACEPARENT},
    )
    assert done.returncode == 0, done.stderr
    assert "trace" not in done.stderr  # no warning
    assert receiver.paths == ["/v1/traces"]
    spans = receiver.spans
    assert span_tree(spans) == [
        "RUN nightly-recommendations",
        "  aggregate-clicks",  # started first: the plan's order
        "    aggregate-clicks attempt 1",
        "  aggregate-carts",
        "    aggregate-carts attempt 1",
        "  train",
        "    train attempt 1",
        "  evaluate",
        "    evaluate attempt 1",
        "  cleanup",
        "    cleanup attempt 1",
    ]
    report = json.loads((tmp_path / "fusion-run-report.json").read_text())
    [plan] = [s for s in spans if s["name"] == "RUN nightly-recommendations"]
    assert {s["trace_id"] for s in spans} == {report["trace"]["trace_id"]}
    assert report["trace"]["trace_id"] == TRACEPARENT.split("-")[1]
    assert plan["span_id"] == report["trace"]["span_id"]
    assert plan["parent"] == TRACEPARENT.split("-")[2]
    assert plan["attributes"]["cicd.pipeline.result"] == "success"
    [train] = [s for s in spans if s["name"] == "train"]
    assert train["attributes"]["cicd.pipeline.task.run.result"] == "success"
    assert train["attributes"]["fusion_run.step.depends_on"] == [
        "aggregate-clicks",
        "aggregate-carts",
    ]
    [attempt] = [s for s in spans if s["name"] == "train attempt 1"]
    [record] = [s for s in report["steps"] if s["name"] == "train"]
    assert attempt["attributes"]["fusion.run.id"] == record["run_id"]
    assert attempt["attributes"]["fusion.state"] == record["attempts"][0]["state"]


@pytest.fixture
def silent_collector() -> Iterator[str]:
    """A collector that takes every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    taken: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                taken.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in taken:
        connection.close()
    listener.close()


def test_a_collector_that_never_answers_holds_the_run_a_few_seconds_at_most(
    tmp_path: Path, silent_collector: str
) -> None:
    began = time.monotonic()
    quiet = fusion_run(tmp_path, env={"OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    plan_alone = time.monotonic() - began
    began = time.monotonic()
    done = fusion_run(tmp_path, env={"OTEL_EXPORTER_OTLP_ENDPOINT": silent_collector})
    took = time.monotonic() - began
    assert done.returncode == quiet.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if "trace" in line]
    said = (
        f"trace not exported to the collector at {silent_collector}/v1/traces: no answer "
        "within 5s; the plan's outcome stands"
    )  # as it comes, then among the warnings after the table, as the report keeps it
    assert warnings == [f"fusion-run: warning: {said}", f"warning: {said}"]
    assert done.stderr.count("\n") == quiet.stderr.count("\n") + 3  # and a blank line before
    report = json.loads((tmp_path / "fusion-run-report.json").read_text())
    assert report["warnings"] == [{"step": None, "text": said}]
    assert took < plan_alone + 7  # the plan's own time, and the export's 5 s with some slack


def test_validate_imports_no_opentelemetry_even_with_an_endpoint_set() -> None:
    imported, said = validate_in_a_process(
        NIGHTLY, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    )
    assert "opentelemetry" not in imported, said
