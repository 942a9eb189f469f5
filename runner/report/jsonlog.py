"""`--log-format json`: what the console says, as JSON Lines for programs (`jq`, log shippers).

One object per line on stderr, each with the same envelope: `event` (its name), `at` (seconds
since the plan started), `time` (UTC, as the report writes times), `plan` (its name), `step`
(None: the plan as a whole), `warning` (the console would say "warning:") and `text` (the
console's words for it); then the event's own fields (`schemas/events.schema.json`).

- Every typed event (`runner.events`) is one object named after its class in snake case
  (`StepEnded` is `step_ended`), with its fields as the report writes them: a `reason` in words
  and as a fact (`reason_fact`), other reasons and causes as facts, criteria as the report's.
- `Tick`, the engine's batching signal, is a `heartbeat` object per active run, at the cadence
  of the console's heartbeat lines (`--heartbeat`).
- The console's own lines have objects too: `plan_started` (its header: the plan, where, how
  many steps; the engine's `PlanStarted` adds nothing to it), `plan_ended` (the closing table,
  the reasons, the warnings and the verdict, written once the outputs are final), `warning` (an
  output that could not be written), `request` (--verbose), `final_report` (the report that
  could not be written), and `error` (`error_line`: what ends the command with no plan_ended).

Every string is cleaned as the console's lines are (`runner.redact.one_line`): no terminal code,
no line break. Fusion's words in them were masked as they arrived, as for the console; nothing
else is masked, so no key, name, time or outcome changes whatever a credential is (`0`, a job's
name). An `error` object's free text (its line, its problems' messages, a traceback), which may
quote anything, is masked as the text format's error lines are (`runner.redact.Redactor.line`).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from runner import events as ev
from runner import wording
from runner.clock import format_time
from runner.criteria import Criterion
from runner.facts import encode, kind_of, to_fact
from runner.redact import each_string, one_line
from runner.report.console import (
    HEARTBEAT,
    Beats,
    allowed_end,
    closing_line,
    event_text,
    header_line,
)
from runner.result import PlanResult, criterion_record, summary, warning_record
from runner.verdict import verdict

if TYPE_CHECKING:
    from runner.plan import Plan
    from runner.plan.problems import Problem
    from runner.redact import Redactor

# The names of the objects that are not typed events, beside `event_name`'s.
HEARTBEAT_EVENT, WARNING, REQUEST, FINAL_REPORT, ERROR = (
    "heartbeat",
    "warning",
    "request",
    "final_report",
    "error",
)
PLAN_STARTED, PLAN_ENDED = kind_of(ev.PlanStarted), kind_of(ev.PlanEnded)


def event_name(event_type: type[ev.Event]) -> str:
    """`StepEnded` -> `step_ended`: an event's name in the JSON lines, stable as its class."""
    return kind_of(event_type)


class JsonLog:
    """A reporter with the console's entry points (`header`, `write`, `handle`, `finish`) that
    writes one JSON object per line."""

    def __init__(
        self,
        redact: Redactor,
        stream: TextIO | None = None,
        *,
        report: str = "fusion-run-report.json",
        resume_command: str | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.redact = redact
        self.stream = stream or sys.stderr
        self.report = report
        self.resume_command = resume_command  # said in plan_ended after a detach
        self._beats = Beats(heartbeat)
        self._result: PlanResult | None = None  # the run's, from the first event on
        self._plan: str | None = None  # the plan's name, from the header on
        self._ended_at: float | None = None  # the PlanEnded event's `at`
        self._last_at = 0.0  # of the latest line written: plan_ended comes last, and no earlier

    def emit(self, record: dict[str, Any]) -> None:
        if record["at"] is not None:
            self._last_at = max(self._last_at, record["at"])
        clean = each_string(record, one_line)
        self.stream.write(json.dumps(clean, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def envelope(
        self, name: str, at: float, *, step: str | None = None, text: str, warning: bool = False
    ) -> dict[str, Any]:
        result = self._result
        when = datetime.now(UTC) if result is None else result.started_at + timedelta(seconds=at)
        return {
            "event": name,
            "at": round(at, 3),
            "time": format_time(when),
            "plan": self._plan if result is None else result.plan_name,
            "step": step,
            "warning": warning,
            "text": text,
        }

    # --- the console's entry points ---------------------------------------------------------------

    def header(
        self,
        plan: Plan,
        url: str,
        *,
        emulated: bool,
        selected: int | None = None,
    ) -> None:
        """`plan_started`: the plan, where it runs, how many steps; before the preflight."""
        self._plan = plan.name
        text = header_line(plan, url, emulated=emulated, selected=selected)
        record = self.envelope(PLAN_STARTED, 0.0, text=text)
        record |= {
            "file": plan.file,
            "url": url if emulated else url + plan.fusion.api,
            "emulated": emulated,
            "steps": len(plan.steps),
            "selected": selected,
            "report": self.report,
        }
        self.emit(record)

    def write(self, line: str) -> None:
        """A warning of the outputs' own (a report or summary that could not be written)."""
        self.emit(self.envelope(WARNING, self._now(), text=line.strip(), warning=True))

    def request(self, line: str) -> None:
        """--verbose: a request to Fusion, its HTTP status and how long it took."""
        self.emit(self.envelope(REQUEST, self._now(), text=line))

    def handle(self, event: ev.Event, result: PlanResult) -> None:
        self._result = result
        if isinstance(event, ev.Tick):
            for run in self._beats.due(event):
                self.emit(heartbeat_record(self.envelope, event, run))
        elif isinstance(event, ev.PlanEnded):
            self._ended_at = event.at  # said once the outputs are final: `finish`
        elif not isinstance(event, ev.PlanStarted):  # `header` said it
            warned = bool(result.warnings) and result.warnings[-1] is event
            allowed = allowed_end(event, result)  # an allowed failure: a warning, as on the console
            self.emit(event_record(self.envelope, event, warned=warned or allowed, allowed=allowed))

    def finish(self, result: PlanResult) -> None:
        """`plan_ended`: the closing table, reasons, warnings and verdict, in one object."""
        self._result = result
        at = self._ended_at if self._ended_at is not None else result.duration or 0.0
        at = max(at, self._last_at)  # after the warnings of outputs written once the plan ended
        record = self.envelope(PLAN_ENDED, at, text=closing_line(result, self.report))
        judged = verdict(result)
        record |= {
            "outcome": str(result.outcome),
            "duration": result.duration,
            "exit_code": int(judged.code),
            "verdict": None if judged.succeeded else judged.words(),
            "error": None if result.error is None else wording.text(result.error),
            "error_fact": None if result.error is None else to_fact(result.error),
            "summary": summary([{"outcome": step.status} for step in result.steps]),
            "results": [_step_row(step) for step in result.steps],
            "warnings": [warning_record(warning) for warning in result.warnings],
            "detached": result.detached,
            "resume_command": self.resume_command if result.detached else None,
            "report": self.report,
            "unrecorded": result.unrecorded,
        }
        self.emit(record)

    def final_report(self, report: dict[str, Any]) -> None:
        """The final report, on one line, when it could not be written to its file."""
        record = self.envelope(FINAL_REPORT, self._now(), text="the report's final state")
        self.emit(record | {"report": report})

    def _now(self) -> float:
        result = self._result
        if result is None:
            return 0.0
        return (datetime.now(UTC) - result.started_at).total_seconds()


Envelope = Callable[..., dict[str, Any]]


def event_record(
    envelope: Envelope, event: ev.Event, *, warned: bool, allowed: bool = False
) -> dict[str, Any]:
    """A typed event's object: the envelope, then each of its fields. `allowed`: it ends an
    allowed failure, which its text says first."""
    text = event_text(event, allowed=allowed)
    record = envelope(event_name(type(event)), event.at, step=event.step, text=text, warning=warned)
    for field in dataclasses.fields(event):
        if field.name in ("at", "step"):
            continue
        value = getattr(event, field.name)
        if isinstance(event, ev.StepEnded) and field.name == "outcome" and value is None:
            record["outcome"] = "running"  # its run was left going: the report's word for it
        elif field.name == "reason":  # as the report writes a step's reason: words and fact
            record["reason"] = None if value is None else wording.text(value)
            record["reason_fact"] = None if value is None else to_fact(value)
        elif isinstance(value, Criterion):
            record[field.name] = criterion_record(value)
        elif isinstance(value, Mapping):
            record[field.name] = dict(value)
        else:
            record[field.name] = encode(value)
    return record


def heartbeat_record(envelope: Envelope, tick: ev.Tick, run: ev.ActiveRun) -> dict[str, Any]:
    """A run still going, as the console's heartbeat line says it."""
    record = envelope(HEARTBEAT_EVENT, tick.at, step=run.step, text=wording.heartbeat(run))
    return record | {
        "run_id": run.run_id,
        "phase": run.phase,
        "age": round(run.age, 3),
        "state": run.state,
        "counters": dict(run.counters),
    }


def _step_row(step: Any) -> dict[str, Any]:
    """A row of the closing table: the step, its outcome, its duration, its last run and the
    full reason."""
    gate = step.gate
    return {
        "step": step.name,
        "outcome": step.status,
        "duration": step.duration,
        "tries": None if gate is not None else len(step.attempts),
        "run_id": gate.run_id if gate is not None else step.run_id,
        "fails_the_plan": step.fails_the_plan,
        "reason": None if step.reason is None else wording.text(step.reason),
        "reason_fact": None if step.reason is None else to_fact(step.reason),
    }


def error_line(
    code: int,
    text: str,
    problems: Sequence[Problem] = (),
    trace: str = "",
    *,
    clean: Callable[[str], str],
) -> str:
    """The `error` object of a command that ends before (or instead of) its `plan_ended`: the
    exit code, the line the text format prints, each problem of an invalid plan (with its
    line), the traceback asked for; its free text through `clean` (`Redactor.line`), the rest
    cleaned (`one_line`)."""
    from runner.plan.problems import problem_rows  # noqa: PLC0415

    record = {
        "event": ERROR,
        "at": None,
        "time": format_time(datetime.now(UTC)),
        "plan": None,
        "step": None,
        "warning": False,
        "text": clean(text),
        "exit_code": int(code),
        "problems": [
            {**row, "message": clean(problem.message), "text": clean(str(problem))}
            for row, problem in zip(problem_rows(problems), problems, strict=True)
        ],
        "traceback": [clean(line) for line in trace.splitlines()] if trace else None,
    }
    return json.dumps(each_string(record, one_line), ensure_ascii=False)
