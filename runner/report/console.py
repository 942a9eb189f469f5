"""What the user sees on stderr: one line per event, a live line of active runs on a terminal (a
heartbeat line per active run now and then elsewhere, for CI logs), and a summary at the end with
the full reason of every step that did not succeed. Every line is cleaned of terminal codes and put
on one line (`runner.redact.one_line`); Fusion's words in it were masked as they arrived."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from runner import events as ev
from runner import wording
from runner.durations import format_duration
from runner.outcomes import FAILURES, Outcome
from runner.plan import Plan
from runner.reasons import PlanRefused
from runner.redact import one_line, strip_controls
from runner.report.cells import attempts_story, counters, reason_and_story
from runner.result import PlanResult, StepResult, warning_record

_CLEAR = "\r\x1b[K"
REDRAW_EVERY = 1.0  # seconds between redraws of the live line
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
)  # and every event kept among the report's warnings


def elapsed(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on.

    >>> elapsed(7), elapsed(3725)
    ('0:07', '1:02:05')
    """
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Console:
    """A reporter: event lines as they come, the summary at the end. On a terminal, a live line
    of the active runs is redrawn every second by a timer of the console's own, from the last
    `Tick`: the engine wakes only when something is due, terminal or not."""

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
        columns: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.columns = columns or (lambda: terminal_columns(self.stream))  # the live line's room
        self.quiet = quiet
        self.live = (not quiet and self.stream.isatty()) if live is None else live
        self.monotonic = monotonic
        self.report = report
        self.resume_command = resume_command  # printed after a detach
        self.verbose = verbose
        # Without a live line (CI logs), each active run gets a line every `heartbeat` seconds.
        self.heartbeat = heartbeat if not self.live and not quiet else 0.0
        self._drawn = False
        self._lock = threading.Lock()  # the timer's redraws and the event lines take turns
        self._snapshot: tuple[ev.Tick, float] | None = None  # the last tick, and when it came
        self._timer: threading.Thread | None = None
        self._done = threading.Event()
        self._beats = Beats(self.heartbeat)

    def write(self, line: str) -> None:
        with self._lock:
            if self._drawn:
                self.stream.write(_CLEAR)
                self._drawn = False
            self.stream.write(one_line(line) + "\n")
            self.stream.flush()

    def header(self, plan: Plan, url: str, *, emulated: bool, selected: int | None = None) -> None:
        if self.quiet:
            return
        self.write(header_line(plan, url, emulated=emulated, selected=selected))

    def handle(self, event: ev.Event, result: PlanResult) -> None:
        if isinstance(event, ev.Tick):
            self._snapshot = (event, self.monotonic())
            if self.live and self._timer is None:
                self._timer = threading.Thread(target=self._redraw, daemon=True)
                self._timer.start()
            self._beat(event)
            return
        warned = bool(result.warnings) and result.warnings[-1] is event  # kept as a warning
        if isinstance(event, _SILENT) or (
            self.quiet and not (warned or isinstance(event, _WARNINGS))
        ):
            return
        if isinstance(event, _VERBOSE) and not self.verbose:
            return
        who = f"{event.step}: " if event.step else ""
        allowed = allowed_end(event, result)
        said = ("warning: " if warned or allowed else "") + event_text(event, allowed=allowed)
        self.write(f"{elapsed(event.at):>7} {who}{said}")

    def _redraw(self) -> None:
        while not self._done.wait(REDRAW_EVERY):
            self.draw()

    def draw(self) -> None:
        """The live line: each active run and how long it has run, as of now."""
        if self._snapshot is None:
            return
        tick, seen = self._snapshot
        later = self.monotonic() - seen
        active = [
            one_line(f"{run.step} {run.phase} {format_duration(run.age + later)}")
            for run in tick.active
        ]
        line = live_line(f"{elapsed(tick.at + later):>7} active: ", active, self.columns() - 1)
        with self._lock:
            self.stream.write(_CLEAR + line)
            self.stream.flush()
            self._drawn = True

    def _beat(self, tick: ev.Tick) -> None:
        """A heartbeat line for each active run whose next beat is due (`Beats`)."""
        for run in self._beats.due(tick):
            self.write(f"{elapsed(tick.at):>7} {run.step}: {wording.heartbeat(run)}")

    def finish(self, result: PlanResult) -> None:
        self._done.set()
        if self._timer is not None:
            self._timer.join()
        self.summary(result)
        if result.detached and self.resume_command:
            follow = self.resume_command
            self.write(f"fusion-run: detached; to follow the runs still going: {follow}")

    def summary(self, result: PlanResult) -> None:
        rows = [("STEP", "OUTCOME", "DURATION", "TRIES", "RUN", "COUNTERS", "REASON")]
        records = [step.to_dict() for step in result.steps]
        for step, record in zip(result.steps, records, strict=True):
            duration = "-" if step.duration is None else format_duration(step.duration)
            reason = strip_controls(reason_and_story(record))
            rows.append(
                (
                    step.name,
                    _outcome_cell(step),
                    duration,
                    "-" if step.gate else str(len(step.attempts)),
                    _run_cell(step),
                    strip_controls(counters(record)) or "-",
                    reason if len(reason) <= 60 else reason[:59] + "…",
                )
            )
        if not self.quiet:
            widths = [max(len(row[i]) for row in rows) for i in range(6)]
            self.write("")
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
                self.write("  ".join([*cells, row[6]]).rstrip())
        trouble = [
            s
            for s in result.steps
            if (
                (s.outcome in FAILURES and not s.allow_failure)
                or (s.outcome is None and s.attempts)
                or (s.outcome is Outcome.SKIPPED and s.fails_the_plan)
            )
            and s.reason is not None
        ]  # a run left going fails the plan too, as a required step skipped does: it is said why
        allowed = [s for s in result.steps if s.failed_as_allowed]
        retried = [
            (step.name, story)
            for step, record in zip(result.steps, records, strict=True)
            if (story := attempts_story(record)) and (not self.quiet or step in trouble)
        ]
        said = trouble or retried or result.error is not None
        if said:
            self.write("")
        if result.error is not None:
            self.write(f"fusion-run stopped: {wording.text(result.error)}")
        for step in trouble:
            assert step.reason is not None
            outcome = wording.step_ended(step.status)
            self.write(f"{step.name} {outcome}: {wording.text(step.reason)}")
        for name, story in retried:
            self.write(f"{name} {story}")
        if (result.warnings or allowed) and not said:
            self.write("")
        for step in allowed:  # a warning, not a failure: the verdict, JUnit and summary agree
            reason = "" if step.reason is None else wording.text(step.reason)
            self.write(f"{step.name}: warning: {wording.allowed_failure(step.status, reason)}")
        for record in map(warning_record, result.warnings):
            who = f"{record['step']}: " if record["step"] else ""
            self.write(f"{who}warning: {record['text']}")
        self.write(closing_line(result, self.report))


def header_line(plan: Plan, url: str, *, emulated: bool, selected: int | None = None) -> str:
    """The first line of a run: the plan, its steps (and how many are selected), and where."""
    where = f"the emulator at {url}" if emulated else url + plan.fusion.api
    steps = f"{len(plan.steps)} step(s)" + ("" if selected is None else f", {selected} selected,")
    return f"fusion-run: plan {plan.name}: {steps} against {where}"


def closing_line(result: PlanResult, report: str) -> str:
    """The last line of a run: how the plan ended, the steps by outcome, and the report."""
    counts: dict[str, int] = {}
    for step in result.steps:
        key = wording.outcome_words(_outcome_cell(step))
        counts[key] = counts.get(key, 0) + 1
    took = "" if result.duration is None else f" in {format_duration(result.duration)}"
    tally = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    where = (
        f"Report: {report}"
        if result.unrecorded is None
        else f"The report {report} could not be written: its final state follows"
    )
    if isinstance(result.error, PlanRefused):  # stopped before anything ran: say why
        why = wording.text(result.error)
        return f"fusion-run: plan {result.plan_name} {result.outcome}: {why}. {where}"
    return f"fusion-run: plan {result.plan_name} {result.outcome}{took}: {tally}. {where}"


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to: `COLUMNS` if it is set to a number, else the
    terminal's own, else 80."""
    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


def live_line(head: str, active: list[str], width: int) -> str:
    """`head` and the active runs in at most `width` characters: the runs that do not fit are
    counted (`+3 more`), the first run is cut short if even it does not fit.

    >>> live_line("   0:07 active: ", ["crawl running 5s", "train running 2s"], 42)
    '   0:07 active: crawl running 5s, +1 more'
    >>> live_line("   0:07 active: ", ["crawl running 5s"], 24)
    '   0:07 active: crawl r…'
    """
    full = head + (", ".join(active) or "none")
    if len(full) <= width:
        return full
    for shown in range(len(active) - 1, 0, -1):
        line = f"{head}{', '.join(active[:shown])}, +{len(active) - shown} more"
        if len(line) <= width:
            return line
    return full[: max(width - 1, 0)] + "…" if width > 0 else ""


class Beats:
    """When each active run gets a heartbeat: every `every` seconds of its age (0: never),
    counted afresh for each run of a step. Ticks come at each of the engine's passes, so a beat
    lands at the first status read after it is due."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._next: dict[str, tuple[str | None, float]] = {}  # step -> (run, age of next beat)

    def due(self, tick: ev.Tick) -> list[ev.ActiveRun]:
        """The runs of `tick` whose beat is due now."""
        if self.every <= 0:
            return []
        beating = []
        for run in tick.active:
            last_run, due = self._next.get(run.step, (None, self.every))
            if last_run != run.run_id:
                due = self.every
            if run.age >= due:
                beating.append(run)
                due = (run.age // self.every + 1) * self.every
            self._next[run.step] = (run.run_id, due)
        return beating


def allowed_end(event: ev.Event, result: PlanResult) -> bool:
    """`event` ends a step that failed as `allow_failure` let it: a warning, not a failure."""
    if not isinstance(event, ev.StepEnded) or event.outcome not in FAILURES or not event.step:
        return False
    return result.step(event.step).allow_failure


def event_text(event: ev.Event, *, allowed: bool) -> str:
    """An event's line, after `allowed to fail; ` when it ends an allowed failure."""
    return ("allowed to fail; " if allowed else "") + wording.line(event)


def _outcome_cell(step: StepResult) -> str:
    """The OUTCOME column: the outcome, `(allowed)` after an allowed failure's."""
    if step.outcome is None:
        return "running"
    return f"{step.outcome} (allowed)" if step.failed_as_allowed else str(step.outcome)


def _run_cell(step: StepResult) -> str:
    """The RUN column: the run id; for a `require:` step, `checked` and the run it found; for a
    `request:` or `webhook:` step, the status it was answered with."""
    if step.call is not None and step.attempts and step.attempts[-1].state:
        return f"answered {step.attempts[-1].state}"  # a request: or webhook: runs no job
    if step.gate is None:
        return step.run_id or "-"
    if step.gate.checked_at is None:
        return "-"
    return f"checked {step.gate.run_id}" if step.gate.run_id else "checked"
