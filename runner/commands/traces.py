"""Whether a run exports its plan as an OpenTelemetry trace, and the `Tracer` that does.

Tracing is on with `--otel`, or when an OTLP endpoint variable is set (the SDK's own:
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). It needs the `otel` extra:
without it, `--otel` is refused and a variable alone is a warning (it may be set for other tools
of the CI). The OpenTelemetry packages are imported here only when tracing is on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from runner.commands.options import Options
from runner.errors import UsageError
from runner.redact import Redactor

if TYPE_CHECKING:
    from runner.engine import Resume
    from runner.report.tracing import Tracer

ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
INSTALL = "pip install 'fusion-run[otel]'"


def tracer(
    options: Options,
    environ: Mapping[str, str],
    redact: Redactor,
    warn: Callable[[str], None],
    resume: Resume | None,
) -> Tracer | None:
    """The run's tracer; None when tracing is off, or when only a variable asks for it and the
    extra is not installed (said in one warning line). UsageError for `--otel` without it."""
    named = next((name for name in ENDPOINTS if environ.get(name, "").strip()), None)
    if not options.otel and named is None:
        return None
    try:
        from runner.report import tracing  # noqa: PLC0415 - only when tracing is on
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith("opentelemetry"):
            raise
        if options.otel:
            raise UsageError(
                f"--otel needs OpenTelemetry, which is not installed: {INSTALL}"
            ) from None
        warn(
            f"fusion-run: {named} is set, but OpenTelemetry is not installed, so no trace is "
            f"exported: {INSTALL}"
        )
        return None
    for header in environ.get("OTEL_EXPORTER_OTLP_HEADERS", "").split(","):
        redact.add(header.partition("=")[2].strip())  # an API key for the collector, say
    for header in environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "").split(","):
        redact.add(header.partition("=")[2].strip())
    ci = tracing.ci_parent(environ)
    earlier = None if resume is None else resume.trace
    return tracing.Tracer(
        ids=tracing.decide_ids(earlier, ci),
        resumed=earlier is not None,
        ci=ci,
        earlier={} if resume is None else resume.steps,
        exporter=tracing.exporter_for(),
        redact=redact,
        warn=warn,
        where=tracing.endpoint(environ),
    )
