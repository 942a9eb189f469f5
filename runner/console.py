"""What the user sees on stderr: one line per event, a live line of active runs on a terminal,
and a summary at the end with the full reason of every step that did not succeed."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from runner.durations import format_duration
from runner.engine import Engine, Event
from runner.scheduler import Outcome

_CLEAR = "\r\x1b[K"
_TROUBLE = (Outcome.FAILED, Outcome.TIMED_OUT, Outcome.CANCELLED)


def elapsed(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on.

    >>> elapsed(7), elapsed(3725)
    ('0:07', '1:02:05')
    """
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Console:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        quiet: bool = False,
        live: bool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = (not quiet and self.stream.isatty()) if live is None else live
        self.monotonic = monotonic
        self._drawn = False
        self._last_draw = float("-inf")

    def write(self, line: str) -> None:
        if self._drawn:
            self.stream.write(_CLEAR)
            self._drawn = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def header(self, engine: Engine, *, emulated: bool) -> None:
        if self.quiet:
            return
        plan = engine.plan
        where = f"the emulator at {engine.url}" if emulated else engine.url + plan.fusion.api
        self.write(f"fusion-run: plan {plan.name}: {len(plan.steps)} step(s) against {where}")

    def event(self, event: Event) -> None:
        if self.quiet and event.kind != "warning":
            return
        who = f"{event.step}: " if event.step else ""
        self.write(f"{elapsed(event.at):>7} {who}{event.message}")

    def tick(self, engine: Engine) -> None:
        """Redraw the live line of active runs, at most once a second."""
        now = self.monotonic()
        if not self.live or now - self._last_draw < 1:
            return
        self._last_draw = now
        clock = engine.clock.monotonic()
        active = [
            f"{run.step.name} {run.phase.value} {format_duration(clock - run.run_started)}"
            for run in engine.runs.values()
            if run.active and run.run_id
        ]
        line = f"{elapsed(clock - engine.t0):>7} active: {', '.join(active) or 'none'}"
        self.stream.write(_CLEAR + line[:200])
        self.stream.flush()
        self._drawn = True

    def summary(self, engine: Engine, report: str) -> None:
        rows = [("STEP", "OUTCOME", "DURATION", "TRIES", "RUN", "REASON")]
        for run in engine.runs.values():
            last = run.attempts[-1] if run.attempts else None
            duration = format_duration(last.duration) if last and last.duration is not None else "-"
            outcome = str(run.outcome) if run.outcome else "running"
            reason = run.reason or ""
            rows.append(
                (
                    run.step.name,
                    outcome,
                    duration,
                    str(len(run.attempts)),
                    (last.run_id if last else None) or "-",
                    reason if len(reason) <= 60 else reason[:59] + "…",
                )
            )
        if not self.quiet:
            widths = [max(len(row[i]) for row in rows) for i in range(5)]
            self.write("")
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
                self.write("  ".join([*cells, row[5]]).rstrip())
        trouble = [run for run in engine.runs.values() if run.outcome in _TROUBLE and run.reason]
        if trouble or engine.error:
            self.write("")
        if engine.error:
            self.write(f"fusion-run stopped: {engine.error}")
        for run in trouble:
            self.write(f"{run.step.name} {str(run.outcome).replace('_', ' ')}: {run.reason}")
        counts: dict[str, int] = {}
        for run in engine.runs.values():
            key = str(run.outcome) if run.outcome else "running"
            counts[key] = counts.get(key, 0) + 1
        took = ""
        if engine.ended_at is not None:
            took = f" in {format_duration((engine.ended_at - engine.started_at).total_seconds())}"
        tally = ", ".join(
            f"{count} {outcome.replace('_', ' ')}" for outcome, count in counts.items()
        )
        self.write(
            f"fusion-run: plan {engine.plan.name} {engine.outcome}{took}: {tally}. Report: {report}"
        )
