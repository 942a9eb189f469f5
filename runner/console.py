"""What the user sees on stderr: one line per event, a live line of active runs on a terminal (a
heartbeat line per active run now and then elsewhere, for CI logs), and a summary at the end with
the full reason of every step that did not succeed. Every line goes out through `runner.redact`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from runner import events as ev
from runner import wording
from runner.durations import format_duration
from runner.outcomes import Outcome
from runner.plan import Plan
from runner.redact import Redactor
from runner.result import PlanResult

_CLEAR = "\r\x1b[K"
_TROUBLE = (Outcome.FAILED, Outcome.TIMED_OUT, Outcome.CANCELLED)
_SILENT = (ev.PlanStarted, ev.StartRequested, ev.Tick, ev.PlanEnded)  # no line of their own
_VERBOSE = (ev.FinalStatus,)  # only with --verbose
HEARTBEAT = 300.0  # seconds between heartbeat lines of a run, by default
# What --quiet still prints: what a user must know even when asking for silence.
_WARNINGS = (
    ev.CancelFailed,
    ev.ConfigurationsUnreadable,
    ev.InterruptReceived,
    ev.LostStartFound,
    ev.RunGone,
    ev.StartAnswerLost,
)


def elapsed(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on.

    >>> elapsed(7), elapsed(3725)
    ('0:07', '1:02:05')
    """
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Console:
    """A reporter: event lines as they come, the summary at the end."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        quiet: bool = False,
        live: bool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        report: str = "fusion-run-report.json",
        resume_command: str | None = None,
        verbose: bool = False,
        heartbeat: float = HEARTBEAT,
        redact: Redactor | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = (not quiet and self.stream.isatty()) if live is None else live
        self.monotonic = monotonic
        self.report = report
        self.resume_command = resume_command  # printed after a detach
        self.verbose = verbose
        # Without a live line (CI logs), each active run gets a line every `heartbeat` seconds.
        self.heartbeat = heartbeat if not self.live and not quiet else 0.0
        self.redact = redact or Redactor()
        self._drawn = False
        self._last_draw = float("-inf")
        self._beats: dict[str, tuple[str | None, float]] = {}  # step -> (run, age of next beat)

    @property
    def ticks(self) -> bool:
        """Whether the console needs the engine to wake often: a live line, or heartbeats."""
        return self.live or self.heartbeat > 0

    def write(self, line: str) -> None:
        if self._drawn:
            self.stream.write(_CLEAR)
            self._drawn = False
        self.stream.write(self.redact.text(line) + "\n")
        self.stream.flush()

    def header(self, plan: Plan, url: str, *, emulated: bool) -> None:
        if self.quiet:
            return
        where = f"the emulator at {url}" if emulated else url + plan.fusion.api
        self.write(f"fusion-run: plan {plan.name}: {len(plan.steps)} step(s) against {where}")

    def handle(self, event: ev.Event, result: PlanResult) -> None:
        if isinstance(event, ev.Tick):
            self._draw(event)
            self._beat(event)
            return
        if isinstance(event, _SILENT) or (self.quiet and not isinstance(event, _WARNINGS)):
            return
        if isinstance(event, _VERBOSE) and not self.verbose:
            return
        who = f"{event.step}: " if event.step else ""
        self.write(f"{elapsed(event.at):>7} {who}{wording.line(event)}")

    def _beat(self, tick: ev.Tick) -> None:
        """A heartbeat line for each active run whose next beat is due: every `heartbeat`
        seconds of the run's age, counted afresh for each run of a step."""
        if self.heartbeat <= 0:
            return
        for run in tick.active:
            last_run, due = self._beats.get(run.step, (None, self.heartbeat))
            if last_run != run.run_id:
                due = self.heartbeat
            if run.age >= due:
                self.write(f"{elapsed(tick.at):>7} {run.step}: {wording.heartbeat(run)}")
                due = (run.age // self.heartbeat + 1) * self.heartbeat
            self._beats[run.step] = (run.run_id, due)

    def _draw(self, tick: ev.Tick) -> None:
        """Redraw the live line of active runs, at most once a second."""
        now = self.monotonic()
        if not self.live or now - self._last_draw < 1:
            return
        self._last_draw = now
        active = [f"{run.step} {run.phase} {format_duration(run.age)}" for run in tick.active]
        line = self.redact.text(f"{elapsed(tick.at):>7} active: {', '.join(active) or 'none'}")
        self.stream.write(_CLEAR + line[:200])
        self.stream.flush()
        self._drawn = True

    def finish(self, result: PlanResult) -> None:
        self.summary(result)
        if result.detached and self.resume_command:
            follow = self.resume_command
            self.write(f"fusion-run: detached; to follow the runs still going: {follow}")

    def summary(self, result: PlanResult) -> None:
        rows = [("STEP", "OUTCOME", "DURATION", "TRIES", "RUN", "REASON")]
        for step in result.steps:
            last = step.attempts[-1] if step.attempts else None
            duration = format_duration(last.duration) if last and last.duration is not None else "-"
            # Masked before it is cut short: a secret cut in two would not be recognised.
            reason = "" if step.reason is None else self.redact.text(wording.text(step.reason))
            rows.append(
                (
                    step.name,
                    str(step.outcome) if step.outcome else "running",
                    duration,
                    str(len(step.attempts)),
                    step.run_id or "-",
                    reason if len(reason) <= 60 else reason[:59] + "…",
                )
            )
        if not self.quiet:
            widths = [max(len(row[i]) for row in rows) for i in range(5)]
            self.write("")
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
                self.write("  ".join([*cells, row[5]]).rstrip())
        trouble = [s for s in result.steps if s.outcome in _TROUBLE and s.reason is not None]
        if trouble or result.error is not None:
            self.write("")
        if result.error is not None:
            self.write(f"fusion-run stopped: {wording.text(result.error)}")
        for step in trouble:
            assert step.reason is not None
            outcome = wording.outcome_words(str(step.outcome))
            self.write(f"{step.name} {outcome}: {wording.text(step.reason)}")
        counts: dict[str, int] = {}
        for step in result.steps:
            key = str(step.outcome) if step.outcome else "running"
            counts[key] = counts.get(key, 0) + 1
        took = "" if result.duration is None else f" in {format_duration(result.duration)}"
        tally = ", ".join(
            f"{count} {wording.outcome_words(outcome)}" for outcome, count in counts.items()
        )
        self.write(
            f"fusion-run: plan {result.plan_name} {result.outcome}{took}: {tally}. "
            f"Report: {self.report}"
        )
