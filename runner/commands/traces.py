"""Whether a run exports its plan as an OpenTelemetry trace, and the `Tracer` that does.

Tracing is on with `--otel`, or when an OTLP endpoint variable is set (the SDK's own:
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). It needs the `otel` extra:
without it, `--otel` is refused and a variable alone is a warning (it may be set for other tools
of the CI). The OpenTelemetry packages are imported here only when tracing is on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

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
    where = tracing.endpoint(environ)
    for secret in _secrets_in(where):  # the collector's password, a token in the query
        redact.add(secret)
    ci = tracing.ci_parent(environ)
    earlier = None if resume is None else resume.trace
    if ci is not None and not ci.trace_flags.sampled and earlier is None:
        warn(  # its spans would be dropped, as the CI's own are: say so rather than send nothing
            "fusion-run: warning: TRACEPARENT says its trace is not sampled, so no trace is "
            "exported: set the CI's sampling, or unset TRACEPARENT for a trace of its own"
        )
    return tracing.Tracer(
        ids=tracing.decide_ids(earlier, ci),
        resumed=earlier is not None,
        ci=ci,
        earlier={} if resume is None else resume.steps,
        exporter=tracing.exporter_for(),
        redact=redact,
        warn=warn,
        where=_bare(where),
    )


def _secrets_in(url: str) -> list[str]:
    """What a URL may hold for the collector's eyes only: its password, its query's values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    return [
        *([parts.password] if parts.password else []),
        *(value for _, value in parse_qsl(parts.query) if value),
    ]


def _bare(url: str) -> str:
    """`url` as messages name it: no user, password, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the collector's URL (not shown: it could not be read)"
    host = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))
