"""Late and stalled runs: what warn_after and stall_after say of our run while it goes.

A run still going past warn_after (a duration, or a multiple of its job's last good run's
duration) gets one warning, `RunLate`. A run whose counters stood still for stall_after gets one
`RunStalled` warning (on_stall: warn), or is cancelled and fails (on_stall: cancel: the caller
orders the cancel with the `Stalled` cause returned). The stall clock starts at the first read
that shows counters and starts again at any read that shows them changed; a read that shows
none changes nothing, and a run whose counters never show is never judged stalled. Each is
judged only at a read that showed the run going, and `due` gives the times at which to read so
that each is acted on when it falls due.
"""

from __future__ import annotations

from runner.clock import parse_time
from runner.engine.context import Context
from runner.engine.phases import Following, StepState
from runner.events import NoBaseline, RunLate, RunStalled
from runner.fusion.status import RunStatus, counters_started
from runner.plan import OnStall, Step
from runner.reasons import Stalled

TIMES = frozenset({"startTime", "endTime"})  # a Jobs API run's own times in `extra`: no counters
# What the attempt records it was warned of (`Attempt.warned`): a resume that picks the run up
# does not say it again.
LATE, STALLED = "late", "stalled"


def resumed(data: Following, warned: list[str]) -> None:
    """A run picked up by --resume: what an earlier fusion-run warned of is not said again."""
    data.late, data.stalled = LATE in warned, STALLED in warned


def counted(data: Following, status: RunStatus, now: float) -> None:
    """Start the stall clock again if a read of the run going shows its counters changed."""
    shown = tuple(counter for counter in status.counters if counter[0] not in TIMES)
    if status.view and not _own_counters(data, status):
        return
    if shown and status.active and status.visible and shown != data.still:
        data.still, data.still_since = shown, now


def _own_counters(data: Following, status: RunStatus) -> bool:
    """A view's counters carry the start time of our run (`counters_started`)."""
    ours = (parse_time(key.removeprefix("start:")) for key in data.ours if key.startswith("start:"))
    return any(started is not None and counters_started(status, started) for started in ours)


def late_after(step: Step, data: Following) -> float | None:
    """Seconds after its start at which the run is late; None if never (no warn_after, or a
    multiple of a last good run that is not known)."""
    warn = step.warn_after
    if warn is None:
        return None
    if warn.times is None:
        return warn.seconds
    return None if data.expected is None else warn.times * data.expected


def due(step: Step, data: Following) -> list[float]:
    """The clock times at which a warning (or a stall's cancel) not yet given falls due."""
    times = []
    late = late_after(step, data)
    if late is not None and not data.late:
        times.append(data.started + late)
    if step.stall_after is not None and data.still_since is not None and not data.stalled:
        times.append(data.still_since + step.stall_after)
    return times


def watch(ctx: Context, s: StepState, data: Following, now: float) -> Stalled | None:
    """Warn of a late or stalled run, once each, when this pass's read showed it going. The
    stall's cause when on_stall is cancel: the caller cancels the run."""
    if data.going_read != data.reads:  # this pass's read did not show the run going
        return None
    step, late = s.step, late_after(s.step, data)
    if not data.late and late is None and step.warn_after is not None:  # times, no baseline:
        data.late = True  # said once, as a plain line: no warning can come
        ctx.emit(NoBaseline(step=step.name, times=step.warn_after.times or 0.0))
    if not data.late and late is not None and now >= data.started + late:
        data.late = True
        s.result.attempts[-1].warned.append(LATE)
        times = None if step.warn_after is None else step.warn_after.times
        expected = None if times is None else data.expected
        age = now - data.started
        ctx.warn(
            RunLate(
                step=step.name,
                run_id=data.label,
                age=age,
                limit=late,
                times=times,
                expected=expected,
            )
        )
    if step.stall_after is None or data.still_since is None or data.stalled:
        return None
    if now < data.still_since + step.stall_after:
        return None
    data.stalled = True
    s.result.attempts[-1].warned.append(STALLED)
    stall = Stalled(counters=data.still, still=now - data.still_since, limit=step.stall_after)
    if step.on_stall is OnStall.CANCEL:
        return stall
    ctx.warn(RunStalled(step=step.name, run_id=data.label, stall=stall))
    return None
