"""What the command line asked for, parsed into one record that the rest of fusion-run reads."""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


class Action(enum.StrEnum):
    """What the command line asked for: one of these per invocation."""

    RUN = "run"
    VALIDATE = "validate"
    DRY_RUN = "dry-run"
    GRAPH = "graph"
    CHECK = "check"


@dataclass(frozen=True, kw_only=True, slots=True)
class Options:
    plans: tuple[str, ...]
    action: Action
    graph: Literal["mermaid", "dot", "gantt"] | None = None
    output_format: Literal["text", "json"] = "text"
    format_given: bool = False  # --format on the command line, not its default
    variables: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None  # --target: the plan's target to read it with
    url: str | None = None
    show_traceback: bool = False
    report: str = "fusion-run-report.json"
    max_parallel: int | None = None
    quiet: bool = False
    emulate: bool = False
    scenario: str | None = None
    resume: str | None = None
    force: bool = False
    detach: bool = False
    verbose: bool = False
    junit: str | None = None
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    heartbeat: float = 300.0  # seconds between heartbeat lines of an active run; 0: none
    report_given: bool = False  # --report on the command line, not its default
    heartbeat_given: bool = False  # --heartbeat on the command line, not its default
    push_metrics: str | None = None  # the Pushgateway's URL
    otel: bool = False  # export the plan as an OpenTelemetry trace
    html: str | None = None  # where to write the report as an HTML page; None: nowhere
    log_format: Literal["text", "json"] = "text"  # the run's events on stderr: lines or JSON
    log_format_given: bool = False  # --log-format on the command line, not its default
    start_from: str | None = None  # --from STEP: that step and those downstream of it

    def resume_command(self) -> str:
        """The command that carries on from this run's report, with every option that shaped
        the run, quoted for a POSIX shell: pasted as printed, it works. Credentials are not
        options: they stay in the environment."""
        plans = [f"./{plan}" if plan.startswith("-") else plan for plan in self.plans]
        words = ["fusion-run", *plans, "--resume", self.report]  # ./-p.yaml: not an option
        if self.report_given:
            words += ["--report", self.report]
        for name, value in self.variables.items():
            words += ["--var", f"{name}={value}"]
        if self.target:
            words += ["--target", self.target]
        if self.url:
            words += ["--url", self.url]
        if self.max_parallel is not None:
            words += ["--max-parallel", str(self.max_parallel)]
        if self.emulate:
            words.append("--emulate")
        if self.scenario:
            words += ["--scenario", self.scenario]
        if self.junit:
            words += ["--junit", self.junit]
        for selector in self.select:
            words += ["--select", selector]
        for selector in self.exclude:
            words += ["--exclude", selector]
        if self.start_from is not None:
            words += ["--from", self.start_from]
        if self.detach:
            words.append("--detach")
        if self.push_metrics:
            words += ["--push-metrics", self.push_metrics]
        if self.otel:
            words.append("--otel")
        if self.html:
            words += ["--html", self.html]
        return shlex.join(words)
